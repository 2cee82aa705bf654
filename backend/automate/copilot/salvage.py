"""Turning whatever a drafter answered into a usable definition.

Three steps, all pure (no database; the publish checks come in as a function):

* :func:`normalise` gives any JSON the definition's shape (three objects, a graph with
  ``nodes`` and ``edges`` lists) within the definition limits, taking the current draft's
  part for a part that is missing, of the wrong type or over a limit, and dropping the
  nodes that are over a limit. It never raises and never recurses into the answer.
* :func:`lay_out` gives each new node without a usable ``position`` one: right of the node
  that leads to it (``X_STEP``), stacked ``Y_STEP`` apart; nodes the current draft has
  keep the draft's position.
* :func:`salvage` keeps the best valid part of a definition the publish checks refuse:
  the answer's trigger and rule when valid (else the current draft's; a rule falls back to
  none), and its graph without the nodes and edges that have problems (a node the current
  draft also has goes back to the draft's version first), until what is left has no
  problem the current draft did not already have.
"""

from __future__ import annotations

import json
import math
import re
from collections import deque
from collections.abc import Callable
from copy import deepcopy
from typing import Any, Final

from automate.copilot.types import DEFINITION_KEYS, Definition
from automate.workflows.limits import definition_limit_problems

__all__ = [
    "MAX_COORDINATE",
    "X_STEP",
    "Y_STEP",
    "lay_out",
    "normalise",
    "problem_signature",
    "salvage",
]

Problem = dict[str, str]
ProblemsOf = Callable[[Definition], list[Problem]]

X_STEP: Final = 280
"""Horizontal distance (canvas pixels) between the columns of :func:`lay_out`."""
Y_STEP: Final = 120
"""Vertical distance (canvas pixels) between nodes of one column."""
MAX_COORDINATE: Final = 1_000_000
"""A position farther than this (pixels) from the origin is laid out again."""
_ORIGIN: Final = 40
_NODE_INDEX: Final = re.compile(r"^(?:graph\.)?nodes\[(\d+)\]")
_EDGE_INDEX: Final = re.compile(r"^(?:graph\.)?edges\[(\d+)\]")
_INDEXES: Final = re.compile(r"\[\d+\]")
_WHAT: Final = {
    "trigger_spec": "the trigger",
    "rule_spec": "the rule",
    "graph": "the graph",
}


def normalise(answer: Any, *, before: Definition) -> tuple[Definition | None, list[Problem]]:
    """``(definition, problems)``: a copy of ``answer`` in the definition's shape, within
    the limits, or ``None`` when ``answer`` is not a JSON object at all. Each problem is
    ``{"node_id"?, "field", "message"}`` and names what was replaced or dropped."""
    if not isinstance(answer, dict):
        return None, [
            {
                "field": "definition",
                "message": "must be a JSON object with trigger_spec, rule_spec and graph",
            }
        ]
    problems: list[Problem] = []
    definition: Definition = {}
    for key in DEFINITION_KEYS:
        value = answer.get(key)
        if value is None:
            definition[key] = deepcopy(before[key])
            continue
        if not isinstance(value, dict):
            problems.append({"field": key, "message": "must be a JSON object"})
            definition[key] = deepcopy(before[key])
            continue
        if key == "graph":
            definition[key] = _graph_within_limits(value, before[key], problems)
            continue
        over = _limit_problems(key, value)
        if over:
            problems.extend(over)
            definition[key] = deepcopy(before[key])
        else:
            definition[key] = deepcopy(value)
    return definition, problems


def _limit_problems(key: str, value: Any) -> list[Problem]:
    try:
        return definition_limit_problems(**{key: value})
    except (TypeError, ValueError):  # not JSON at all (a model answer always is)
        return [{"field": key, "message": f"{_WHAT[key]} is not JSON"}]


def _graph_within_limits(graph: dict[str, Any], before: Any, problems: list[Problem]) -> Any:
    nodes, edges = graph.get("nodes"), graph.get("edges", [])
    if not isinstance(nodes, list):
        problems.append({"field": "graph.nodes", "message": "must be a list of nodes"})
        return deepcopy(before)
    if not isinstance(edges, list):
        problems.append({"field": "graph.edges", "message": "must be a list of edges"})
        edges = []
    # New lists, so the answer itself is never changed; other keys (UI state) are kept.
    nodes, edges = list(nodes), list(edges)
    for _ in range(len(nodes) + len(edges) + 1):
        candidate = {**graph, "nodes": nodes, "edges": edges}
        found = _limit_problems("graph", candidate)
        if not found:
            return deepcopy(candidate)
        problem = found[0]
        index = problem.pop("node_index", None)
        edge = _EDGE_INDEX.match(problem["field"].removeprefix("graph."))
        if index is not None:
            node = nodes.pop(int(index))
            problems.append({**problem, "node_id": _node_id(node)})
        elif edge is not None:
            edges.pop(int(edge.group(1)))
            problems.append(problem)
        elif problem["field"] == "graph" and nodes:
            # Too large as a whole: the largest node is the likeliest culprit.
            largest = max(range(len(nodes)), key=lambda i: _size(nodes[i]))
            problems.append({**problem, "node_id": _node_id(nodes.pop(largest))})
        else:
            problems.append(problem)
            return deepcopy(before)
    return deepcopy(before)


def _end(edge: Any, which: str) -> str:
    """An edge's ``source`` or ``target`` node id (``""`` when it has none)."""
    value = edge.get(which) if isinstance(edge, dict) else None
    return value if isinstance(value, str) else ""


def _size(value: Any) -> int:
    try:
        return len(json.dumps(value, ensure_ascii=False))
    except (TypeError, ValueError, RecursionError):
        return 1 << 62


def _node_id(node: Any) -> str:
    value = node.get("id") if isinstance(node, dict) else None
    return value if isinstance(value, str) else ""


# --- layout ---------------------------------------------------------------------------------


def _has_position(node: dict[str, Any]) -> bool:
    """A position the canvas can show: numbers within ``MAX_COORDINATE`` of the origin."""
    position = node.get("position")
    return isinstance(position, dict) and all(
        isinstance(value := position.get(axis), int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) <= MAX_COORDINATE
        for axis in ("x", "y")
    )


def lay_out(graph: dict[str, Any], *, before: Any = None) -> int:
    """Give each node of ``graph`` without a usable ``{"x", "y"}`` position one (changed in
    place), so the canvas shows it neatly; returns how many nodes were placed.

    A node the current draft (``before``, a graph) also has keeps the draft's position (or
    stays without one, as it was). A new node goes ``X_STEP`` pixels right of the first
    node that leads to it and already has a position (else in the column of its
    breadth-first distance from the trigger; nodes the trigger does not reach go one
    column after the last), on the first row, ``Y_STEP`` pixels apart, that no node there
    takes.
    """
    nodes = [n for n in graph.get("nodes", []) if isinstance(n, dict)]
    old_nodes = before.get("nodes") if isinstance(before, dict) else None
    old = {_node_id(n): n for n in (old_nodes if isinstance(old_nodes, list) else [])}
    old.pop("", None)
    ids = {_node_id(n) for n in nodes} - {""}
    successors: dict[str, list[str]] = {node_id: [] for node_id in ids}
    predecessors: dict[str, list[str]] = {node_id: [] for node_id in ids}
    for edge in graph.get("edges", []):
        source, target = _end(edge, "source"), _end(edge, "target")
        if source in ids and target in ids:
            successors[source].append(target)
            predecessors[target].append(source)
    depth = _depths(nodes, ids, successors)
    last = max(depth.values(), default=-1) + 1
    positions: dict[str, dict[str, Any]] = {}
    placed_at: list[tuple[float, float]] = []
    for node in nodes:
        node_id = _node_id(node)
        kept = old.get(node_id)
        if not _has_position(node) and isinstance(kept, dict) and _has_position(kept):
            node["position"] = dict(kept["position"])
        if _has_position(node):
            positions.setdefault(node_id, node["position"])
            placed_at.append((node["position"]["x"], node["position"]["y"]))
    placed = 0
    ordered = sorted(nodes, key=lambda n: depth.get(_node_id(n), last))
    for node in ordered:
        node_id = _node_id(node)
        if _has_position(node) or node_id in old:
            continue
        parent = next((positions[p] for p in predecessors.get(node_id, []) if p in positions), None)
        if parent is not None:
            x, y = parent["x"] + X_STEP, parent["y"]
        else:
            x, y = _ORIGIN + depth.get(node_id, last) * X_STEP, _ORIGIN
        for _ in range(len(placed_at)):  # each taken row moves it down once at most
            if not any(
                abs(x - ox) < X_STEP / 2 and abs(y - oy) < Y_STEP / 2 for ox, oy in placed_at
            ):
                break
            y += Y_STEP
        node["position"] = {"x": x, "y": y}
        positions.setdefault(node_id, node["position"])
        placed_at.append((x, y))
        placed += 1
    return placed


def _depths(
    nodes: list[dict[str, Any]], ids: set[str], successors: dict[str, list[str]]
) -> dict[str, int]:
    """Breadth-first distance of each node the trigger reaches."""
    roots = [_node_id(n) for n in nodes if n.get("type") == "trigger" and _node_id(n) in ids]
    depth = dict.fromkeys(roots, 0)
    queue = deque(roots)
    while queue:
        node_id = queue.popleft()
        for target in successors[node_id]:
            if target not in depth:
                depth[target] = depth[node_id] + 1
                queue.append(target)
    return depth


# --- salvage --------------------------------------------------------------------------------


def problem_signature(problem: Problem) -> tuple[str, str, str]:
    """A problem without its list positions, to tell whether the current draft had it."""
    return (
        problem.get("node_id", ""),
        _INDEXES.sub("[]", problem.get("field", "")),
        _INDEXES.sub("[]", problem.get("message", "")),
    )


def _part(problem: Problem) -> str:
    field = problem.get("field", "")
    for key in ("trigger_spec", "rule_spec"):
        if field == key or field.startswith((f"{key}.", f"{key}[")):
            return key
    return "graph"


def salvage(
    definition: Definition,
    *,
    before: Definition,
    problems_of: ProblemsOf,
    before_problems: list[Problem],
) -> Definition:
    """The best valid part of ``definition`` (see the module docstring); ``before`` itself
    (a copy) when nothing of ``definition`` can be kept. ``problems_of`` gives the publish
    problems of a definition; ``before_problems`` are ``before``'s own, which the result
    may keep. Never changes its arguments."""
    known = {problem_signature(p) for p in before_problems}
    result = deepcopy(definition)
    problems = problems_of(result)
    for key in ("trigger_spec", "rule_spec"):
        if any(_part(p) == key for p in problems):
            result[key] = deepcopy(before[key])
    if any(_part(p) == "rule_spec" for p in problems_of(result)):
        result["rule_spec"] = {}
    graph = _salvage_graph(result, before, problems_of, known)
    result["graph"] = graph if graph is not None else deepcopy(before["graph"])
    return result if result != before else deepcopy(before)


def _salvage_graph(
    definition: Definition,
    before: Definition,
    problems_of: ProblemsOf,
    known: set[tuple[str, str, str]],
) -> dict[str, Any] | None:
    old_nodes = before["graph"].get("nodes") if isinstance(before["graph"], dict) else None
    before_nodes = {
        n["id"]: n
        for n in (old_nodes if isinstance(old_nodes, list) else [])
        if isinstance(n, dict) and isinstance(n.get("id"), str)
    }
    restored: set[str] = set()
    graph: dict[str, Any] = definition["graph"]
    budget = 2 * len(graph["nodes"]) + len(graph["edges"]) + 2
    for _ in range(budget):
        problems = [
            p
            for p in problems_of(definition)
            if _part(p) == "graph" and not _tolerated(p, graph, before["graph"], known)
        ]
        if not problems:
            return graph
        drop_nodes: set[int] = set()
        drop_edges: set[int] = set()
        for problem in problems:
            target = _culprit(problem, graph)
            if target is None:
                return None  # a problem of the graph as a whole: nothing can be kept
            kind, index = target
            (drop_nodes if kind == "node" else drop_edges).add(index)
        for index in sorted(drop_nodes):
            node = graph["nodes"][index]
            node_id = _node_id(node)
            if (
                node_id in before_nodes
                and node_id not in restored
                and node != before_nodes[node_id]
            ):
                graph["nodes"][index] = deepcopy(before_nodes[node_id])
                restored.add(node_id)
                drop_nodes.discard(index)
        removed_ids = {_node_id(graph["nodes"][i]) for i in drop_nodes} - {""}
        kept_ids = {_node_id(n) for i, n in enumerate(graph["nodes"]) if i not in drop_nodes}
        removed_ids -= kept_ids  # a duplicate id: the other node of that id stays
        graph["nodes"] = [n for i, n in enumerate(graph["nodes"]) if i not in drop_nodes]
        graph["edges"] = [
            e
            for i, e in enumerate(graph["edges"])
            if i not in drop_edges
            and not (_end(e, "source") in removed_ids or _end(e, "target") in removed_ids)
        ]
    return None


def _tolerated(
    problem: Problem,
    graph: dict[str, Any],
    before_graph: dict[str, Any],
    known: set[tuple[str, str, str]],
) -> bool:
    """Whether the current draft had this problem too, on a node or edge it has as is."""
    if problem_signature(problem) not in known:
        return False
    target = _culprit(problem, graph)
    if target is None:
        return True  # about the graph as a whole, as the draft's was
    kind, index = target
    key = "nodes" if kind == "node" else "edges"
    old = before_graph.get(key)
    return isinstance(old, list) and graph[key][index] in old


def _culprit(problem: Problem, graph: dict[str, Any]) -> tuple[str, int] | None:
    """``("node", index)`` or ``("edge", index)`` of what a problem is about."""
    field = problem.get("field", "")
    nodes, edges = graph["nodes"], graph["edges"]
    match = _NODE_INDEX.match(field)
    if match and int(match.group(1)) < len(nodes):
        return "node", int(match.group(1))
    match = _EDGE_INDEX.match(field)
    if match and int(match.group(1)) < len(edges):
        return "edge", int(match.group(1))
    node_id = problem.get("node_id", "")
    if node_id:
        for index, node in enumerate(nodes):
            if _node_id(node) == node_id:
                return "node", index
    return None
