"""Editing a draft graph in place: add a step, insert one, remove one, find one by words.

Pure Python; works on the JSON graph (``{"nodes": [...], "edges": [...]}``) and keeps it
valid: every node added is connected, every node removed has its predecessors joined to
its successors (with the branch a condition's edge had).
"""

from __future__ import annotations

import re
from typing import Any, Final

from automate.workflows.graph import NODE_ID_PATTERN

X_STEP: Final = 260
Y_START: Final = 120
TRIGGER_ID: Final = "trigger"

Graph = dict[str, Any]
Node = dict[str, Any]


def nodes(graph: Graph) -> list[Node]:
    """The graph's node list (created when missing)."""
    return graph.setdefault("nodes", [])  # type: ignore[no-any-return]


def edges(graph: Graph) -> list[dict[str, Any]]:
    """The graph's edge list (created when missing)."""
    return graph.setdefault("edges", [])  # type: ignore[no-any-return]


def node(graph: Graph, node_id: str) -> Node | None:
    """The node with ``node_id``, or ``None``."""
    return next((n for n in nodes(graph) if n.get("id") == node_id), None)


def trigger(graph: Graph) -> Node:
    """The trigger node, added (at the left) when the graph has none."""
    found = next((n for n in nodes(graph) if n.get("type") == "trigger"), None)
    if found is None:
        found = {
            "id": unique_id(graph, TRIGGER_ID),
            "type": "trigger",
            "position": {"x": 40, "y": Y_START},
        }
        nodes(graph).insert(0, found)
    return found


def unique_id(graph: Graph, wanted: str) -> str:
    """``wanted`` made a valid node id (``slack_billing``), suffixed ``_2``… when taken."""
    base = re.sub(r"[^A-Za-z0-9_\-]+", "_", wanted).strip("_-")[:60] or "step"
    if not re.match(r"[A-Za-z_]", base):
        base = f"step_{base}"
    taken = {n.get("id") for n in nodes(graph)}
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}_{number}", number + 1
    assert NODE_ID_PATTERN.fullmatch(candidate)
    return candidate


def outgoing(graph: Graph, node_id: str) -> list[dict[str, Any]]:
    """Edges leaving ``node_id``."""
    return [e for e in edges(graph) if e.get("source") == node_id]


def incoming(graph: Graph, node_id: str) -> list[dict[str, Any]]:
    """Edges arriving at ``node_id``."""
    return [e for e in edges(graph) if e.get("target") == node_id]


def connect(graph: Graph, source: str, target: str) -> None:
    """Add ``source → target`` (on the ``true`` branch when ``source`` is a condition),
    unless that edge exists."""
    origin = node(graph, source)
    edge: dict[str, Any] = {"source": source, "target": target}
    if origin is not None and origin.get("type") == "condition":
        edge["branch"] = "true"
    if not any(
        e.get("source") == source
        and e.get("target") == target
        and e.get("branch") == edge.get("branch")
        for e in edges(graph)
    ):
        edges(graph).append(edge)


def end_of_chain(graph: Graph) -> str:
    """Where a step added "at the end" goes: the last node (in document order) that has
    nothing after it; the trigger when the graph has only the trigger."""
    sources = {e.get("source") for e in edges(graph)}
    ends = [n["id"] for n in nodes(graph) if n.get("id") not in sources]
    return ends[-1] if ends else str(trigger(graph)["id"])


def _position(graph: Graph, after: str, below: bool = False) -> dict[str, Any]:
    origin = node(graph, after) or {}
    where = origin.get("position") if isinstance(origin.get("position"), dict) else None
    x = where["x"] if where else 40
    y = where["y"] if where else Y_START
    position = {"x": x + X_STEP, "y": y + (140 if below else 0)}
    while any(
        isinstance(n.get("position"), dict)
        and n["position"].get("x") == position["x"]
        and n["position"].get("y") == position["y"]
        for n in nodes(graph)
    ):
        position["y"] += 140
    return position


def append(graph: Graph, new: Node, *, after: str) -> None:
    """Add ``new`` after node ``after`` (which had nothing after it, or does now)."""
    new.setdefault("position", _position(graph, after))
    nodes(graph).append(new)
    connect(graph, after, new["id"])


def insert_before(graph: Graph, new: Node, *, before: str) -> None:
    """Put ``new`` between ``before`` and everything that led into it."""
    target = node(graph, before) or {}
    position = dict(target.get("position") or {"x": 40 + X_STEP, "y": Y_START})
    new.setdefault("position", {"x": position["x"] - X_STEP / 2, "y": position["y"] + 90})
    nodes(graph).append(new)
    for edge in incoming(graph, before):
        edge["target"] = new["id"]
    edges(graph).append({"source": new["id"], "target": before})


def insert_after(graph: Graph, new: Node, *, after: str) -> None:
    """Put ``new`` between ``after`` and everything that followed it."""
    following = outgoing(graph, after)
    new.setdefault("position", _position(graph, after, below=bool(following)))
    nodes(graph).append(new)
    for edge in following:
        edge["source"] = new["id"]
        edge.pop("branch", None)
    connect(graph, after, new["id"])


def remove(graph: Graph, node_id: str) -> None:
    """Drop ``node_id``; its predecessors lead to its successors instead."""
    before = incoming(graph, node_id)
    after = outgoing(graph, node_id)
    graph["nodes"] = [n for n in nodes(graph) if n.get("id") != node_id]
    graph["edges"] = [
        e for e in edges(graph) if e.get("source") != node_id and e.get("target") != node_id
    ]
    for edge in before:
        for follow in after:
            joined = {"source": edge["source"], "target": follow["target"]}
            if edge.get("branch") is not None:
                joined["branch"] = edge["branch"]
            if joined not in graph["edges"]:
                graph["edges"].append(joined)


STEP_WORDS: Final = {
    "slack": ("slack", "channel", "post", "message"),
    "email": ("email", "e-mail", "mail"),
    "webhook": ("webhook",),
    "http": ("http", "request", "call", "url", "api", "post request", "endpoint"),
    "django_model": ("crm", "record", "customer", "database", "model", "save", "row"),
    "log": ("log",),
    "delay": ("wait", "delay", "pause"),
    "condition": ("condition", "filter", "check", "branch"),
    "transform": ("transform", "mapping"),
    "llm": ("llm", "ai", "gpt", "summary"),
}
"""Words that name a kind of step (a connector code, or a node type)."""


def _kind(n: Node) -> str:
    return str(n.get("connector") if n.get("type") == "action" else n.get("type"))


def find_steps(graph: Graph, words: str) -> list[str]:
    """Ids of the steps ``words`` (lower-cased) refers to: by id, channel, address, URL
    or the kind of step ("the Slack step", "the email"). Most specific first wins."""
    candidates = [n for n in nodes(graph) if n.get("type") != "trigger"]
    by_id = [n["id"] for n in candidates if re.search(rf"\b{re.escape(n['id'].lower())}\b", words)]
    if by_id:
        return by_id
    specific = []
    for n in candidates:
        inputs = n["inputs"] if isinstance(n.get("inputs"), dict) else {}
        for value in (inputs.get("channel"), inputs.get("to"), inputs.get("url")):
            texts = value if isinstance(value, list) else [value]
            if any(isinstance(t, str) and t and t.lower() in words for t in texts):
                specific.append(n["id"])
    if specific:
        return specific
    found = []
    for kind, names in STEP_WORDS.items():
        if any(re.search(rf"\b{re.escape(name)}s?\b", words) for name in names):
            found += [n["id"] for n in candidates if _kind(n) == kind and n["id"] not in found]
            if found:
                break
    return found
