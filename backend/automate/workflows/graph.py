"""The workflow graph: its nodes and edges, its validation, and how to walk it.

Pure Python, no Django imports. A workflow version's ``graph`` is JSON::

    {"nodes": [{"id": "trigger", "type": "trigger"},
               {"id": "notify", "type": "action", "connector": "slack",
                "action": "post_message", "inputs": {"text": "Paid"}}],
     "edges": [{"source": "trigger", "target": "notify"}]}

:func:`graph_problems` lists *every* problem in such a document (each a
``{"node_id", "field", "message"}`` dict the studio can pin on a node);
:func:`validate_graph` raises :class:`WorkflowValidationError` with that list or returns a
:class:`Graph`, the immutable, indexed form the orchestrator walks. See
docs/reference/workflow-format.md.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from copy import deepcopy
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, Final, TypeAlias, TypeGuard

from automate.compat import StrEnum
from automate.exceptions import NotFoundError
from automate.rules import RuleError, compile_rule
from automate.workflows.exceptions import WorkflowValidationError

NODE_ID_PATTERN: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,99}")
"""A node id (matched in full): a letter or ``_``, then up to 99 letters, digits, ``_``, ``-``."""

MAX_DELAY_SECONDS: Final = 30 * 24 * 3600
#: Upper bounds keep retry arithmetic finite (datetimes, thread joins, integer columns).
MAX_RETRIES: Final = 100
MAX_BACKOFF_SECONDS: Final = 7 * 24 * 3600
MAX_TIMEOUT_SECONDS: Final = 24 * 3600
"""The longest a delay node may wait: 30 days."""

BRANCHES: Final = ("true", "false")
"""The branch labels an edge leaving a condition node may carry."""

Problem: TypeAlias = dict[str, str]

ConnectorCheck: TypeAlias = Callable[[str, str], bool | str]
"""``check(connector, action)``: ``True`` when the connector has that action; ``False``
(reported as "unknown connector or action 'slack.y'"), or a sentence saying what is wrong
(reported as is, e.g. "connector 'slack' has no action 'y'")."""


class NodeType(StrEnum):
    """What a node does."""

    TRIGGER = "trigger"
    ACTION = "action"
    CONDITION = "condition"
    DELAY = "delay"
    TRANSFORM = "transform"
    MERGE = "merge"


_TYPE_VALUES: Final = tuple(t.value for t in NodeType)
_TYPE_NAMES: Final = ", ".join(_TYPE_VALUES)
_RETRY_KEYS: Final = ("max_retries", "backoff_base_seconds", "backoff_max_seconds")


@dataclass(frozen=True)
class Edge:
    """A connection from ``source`` to ``target``; ``branch`` is set only after a condition."""

    source: str
    target: str
    branch: str | None = None


@dataclass(frozen=True)
class Node:
    """One node of a validated graph; ``raw`` is its JSON (read-only, UI keys included)."""

    id: str
    type: NodeType
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def label(self) -> str:
        """The label shown in the studio, or the id when there is none."""
        label = self.raw.get("label")
        return label if isinstance(label, str) and label else self.id

    @property
    def connector(self) -> str | None:
        """The connector code of an action node (``"slack"``), else None."""
        value = self.raw.get("connector")
        return value if isinstance(value, str) else None

    @property
    def action(self) -> str | None:
        """The connector action of an action node (``"post_message"``), else None."""
        value = self.raw.get("action")
        return value if isinstance(value, str) else None

    @property
    def inputs(self) -> dict[str, Any]:
        """The node's input templates (a copy; empty when it has none)."""
        return deepcopy(dict(self.raw.get("inputs") or {}))

    @property
    def condition(self) -> Any:
        """The JSONLogic rule of a condition node (None for other types)."""
        return self.raw.get("condition")

    @property
    def delay_seconds(self) -> float | None:
        """How long a delay node waits, in seconds (None for other types)."""
        value = self.raw.get("seconds") if self.type is NodeType.DELAY else None
        return float(value) if _is_number(value) else None

    @property
    def retry(self) -> dict[str, int | float] | None:
        """The node's retry settings (keys from ``max_retries``, ``backoff_base_seconds``,
        ``backoff_max_seconds``), or None to use the site defaults."""
        value = self.raw.get("retry")
        return dict(value) if isinstance(value, Mapping) else None

    @property
    def timeout_seconds(self) -> float | None:
        """The node's own time limit in seconds, or None for the site default."""
        value = self.raw.get("timeout_seconds")
        return float(value) if _is_number(value) else None


@dataclass(frozen=True, eq=False)
class Graph:
    """A validated workflow graph, indexed for walking. Build it with :meth:`from_dict`."""

    nodes: Mapping[str, Node]
    """The nodes by id, in the order the document lists them."""
    edges: tuple[Edge, ...]
    trigger_id: str

    @classmethod
    def from_dict(cls, data: Any) -> Graph:
        """The graph of a valid document; raises :class:`WorkflowValidationError` otherwise.

        Connectors are not checked here (see :func:`validate_graph`).
        """
        problems = graph_problems(data)
        if problems:
            raise WorkflowValidationError(problems)
        return cls._build(data)

    @classmethod
    def _build(cls, data: dict[str, Any]) -> Graph:
        nodes = {
            raw["id"]: Node(raw["id"], NodeType(raw["type"]), MappingProxyType(deepcopy(raw)))
            for raw in data["nodes"]
        }
        edges = tuple(Edge(e["source"], e["target"], e.get("branch")) for e in data["edges"])
        trigger_id = next(n.id for n in nodes.values() if n.type is NodeType.TRIGGER)
        return cls(nodes=MappingProxyType(nodes), edges=edges, trigger_id=trigger_id)

    @cached_property
    def _incoming(self) -> dict[str, tuple[Edge, ...]]:
        return {
            node_id: tuple(e for e in self.edges if e.target == node_id) for node_id in self.nodes
        }

    @cached_property
    def _outgoing(self) -> dict[str, tuple[Edge, ...]]:
        return {
            node_id: tuple(e for e in self.edges if e.source == node_id) for node_id in self.nodes
        }

    @cached_property
    def _order(self) -> tuple[str, ...]:
        successors = {n: [e.target for e in edges] for n, edges in self._outgoing.items()}
        return _topological_order(list(self.nodes), successors)

    def node(self, node_id: str) -> Node:
        """The node ``node_id``; raises NotFoundError when the graph has no such node."""
        try:
            return self.nodes[node_id]
        except KeyError:
            raise NotFoundError(
                f"The workflow has no step {node_id!r}.", details={"node_id": node_id}
            ) from None

    def incoming(self, node_id: str) -> tuple[Edge, ...]:
        """The edges that end at ``node_id``, in document order."""
        self.node(node_id)
        return self._incoming[node_id]

    def outgoing(self, node_id: str) -> tuple[Edge, ...]:
        """The edges that start at ``node_id``, in document order."""
        self.node(node_id)
        return self._outgoing[node_id]

    def topological_order(self) -> tuple[str, ...]:
        """Every node id, each after all its upstream nodes; ties keep document order."""
        return self._order

    def descendants(self, node_id: str) -> set[str]:
        """The ids of every node downstream of ``node_id`` (not including itself)."""
        self.node(node_id)
        return _reach([node_id], lambda n: (e.target for e in self._outgoing[n])) - {node_id}

    def ancestors(self, node_id: str) -> set[str]:
        """The ids of every node upstream of ``node_id`` (not including itself)."""
        self.node(node_id)
        return _reach([node_id], lambda n: (e.source for e in self._incoming[n])) - {node_id}


def validate_graph(graph: Any, *, connector_exists: ConnectorCheck | None = None) -> Graph:
    """The :class:`Graph` of ``graph``, or :class:`WorkflowValidationError` listing every
    problem (see :func:`graph_problems`)."""
    problems = graph_problems(graph, connector_exists=connector_exists)
    if problems:
        raise WorkflowValidationError(problems)
    return Graph._build(graph)


def graph_problems(graph: Any, *, connector_exists: ConnectorCheck | None = None) -> list[Problem]:
    """Every problem in a graph document; an empty list means it is valid.

    Each problem is ``{"node_id": ..., "field": ..., "message": ...}``: the node it
    concerns (``""`` for the graph as a whole), where in the document (``"nodes[2].connector"``,
    ``"edges[0].target"``) and a sentence for a person. When ``connector_exists`` is given,
    each action's ``(connector, action)`` pair is checked with it (see :data:`ConnectorCheck`).
    """
    if not isinstance(graph, dict):
        return [_problem("", "graph", "must be a JSON object with 'nodes' and 'edges' lists")]
    problems: list[Problem] = []
    nodes, edges = graph.get("nodes"), graph.get("edges")
    if not isinstance(nodes, list):
        problems.append(_problem("", "nodes", "must be a list of nodes"))
    if not isinstance(edges, list):
        problems.append(_problem("", "edges", "must be a list of edges (use [] for none)"))
    if not isinstance(nodes, list):
        return problems

    types: dict[str, str] = {}  # node id -> type (unknown types included) for edge checks
    where: dict[str, int] = {}  # node id -> index of its first occurrence
    triggers: list[tuple[int, Any]] = []
    for index, node in enumerate(nodes):
        problems.extend(_node_problems(index, node, connector_exists))
        if not isinstance(node, dict):
            continue
        node_id = node.get("id")
        if node.get("type") == NodeType.TRIGGER:
            triggers.append((index, node_id))
        if isinstance(node_id, str) and NODE_ID_PATTERN.fullmatch(node_id):
            if node_id in where:
                problems.append(
                    _problem(
                        node_id,
                        f"nodes[{index}].id",
                        f"duplicate node id '{node_id}' (nodes[{where[node_id]}] has it too); "
                        "node ids must be unique",
                    )
                )
            else:
                where[node_id] = index
                node_type = node.get("type")
                types[node_id] = node_type if isinstance(node_type, str) else ""

    problems.extend(_trigger_count_problems(triggers))
    if not isinstance(edges, list):
        return problems

    edge_problems, links = _edge_problems(edges, types)
    problems.extend(edge_problems)
    successors: dict[str, list[str]] = {node_id: [] for node_id in where}
    for source, target in links:
        successors[source].append(target)
    problems.extend(_cycle_problems(list(where), successors))
    roots = [node_id for _, node_id in triggers if isinstance(node_id, str) and node_id in where]
    if roots:
        reached = _reach(roots, lambda n: successors[n])
        problems.extend(
            _problem(
                node_id,
                f"nodes[{index}]",
                f"node '{node_id}' is not connected to the trigger, so it would never run",
            )
            for node_id, index in where.items()
            if node_id not in reached
        )
    return problems


def _problem(node_id: str, field: str, message: str) -> Problem:
    return {"node_id": node_id, "field": field, "message": message}


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _node_problems(index: int, node: Any, connector_exists: ConnectorCheck | None) -> list[Problem]:
    at = f"nodes[{index}]"
    if not isinstance(node, dict):
        return [_problem("", at, "each node must be a JSON object with an 'id' and a 'type'")]
    node_id = node.get("id")
    name = node_id if isinstance(node_id, str) else ""
    problems: list[Problem] = []

    def add(key: str, message: str) -> None:
        problems.append(_problem(name, f"{at}.{key}" if key else at, message))

    if not isinstance(node_id, str) or not node_id:
        add("id", "every node needs an id (a non-empty string)")
    elif not NODE_ID_PATTERN.fullmatch(node_id):
        add(
            "id",
            f"node id '{node_id}' must start with a letter or '_' and contain only letters, "
            "digits, '_' and '-' (at most 100 characters)",
        )
    node_type = node.get("type")
    if "type" not in node:
        add("type", f"every node needs a type: one of {_TYPE_NAMES}")
    elif node_type not in _TYPE_VALUES:
        add("type", f"unknown node type {node_type!r}; expected one of {_TYPE_NAMES}")

    for key, message in _common_field_problems(node):
        add(key, message)
    if node_type == NodeType.ACTION:
        for key, message in _action_problems(node, connector_exists):
            add(key, message)
    elif node_type == NodeType.CONDITION:
        if "condition" not in node:
            add("condition", "a condition node needs a 'condition' (a JSONLogic rule)")
        else:
            try:
                compile_rule(node["condition"])
            except RuleError as exc:
                where = f" at {exc.path}" if exc.path else ""
                add(f"condition{exc.path}", f"condition: {exc.reason}{where}")
    elif node_type == NodeType.DELAY:
        seconds = node.get("seconds")
        if not _is_number(seconds) or not 0 <= seconds <= MAX_DELAY_SECONDS:
            add(
                "seconds",
                f"a delay node needs 'seconds': a number from 0 to {MAX_DELAY_SECONDS} "
                f"(30 days), got {seconds!r}",
            )
    elif node_type == NodeType.TRANSFORM and "inputs" not in node:
        add("inputs", "a transform node needs 'inputs': the object it outputs")
    return problems


def _common_field_problems(node: dict[str, Any]) -> Iterable[tuple[str, str]]:
    if "label" in node and not isinstance(node["label"], str):
        yield "label", "the label must be a string"
    if "notes" in node and not isinstance(node["notes"], str):
        yield "notes", "notes must be a string"
    if "position" in node:
        position = node["position"]
        if not (
            isinstance(position, dict)
            and _is_number(position.get("x"))
            and _is_number(position.get("y"))
        ):
            yield "position", 'the position must be {"x": <number>, "y": <number>}'
    if "inputs" in node and not isinstance(node["inputs"], dict):
        yield "inputs", "inputs must be a JSON object of input names to values or templates"
    if "timeout_seconds" in node:
        timeout = node["timeout_seconds"]
        if not _is_number(timeout) or not 0 < timeout <= MAX_TIMEOUT_SECONDS:
            yield (
                "timeout_seconds",
                f"timeout_seconds must be a number above 0 and at most {MAX_TIMEOUT_SECONDS}, "
                f"got {timeout!r}",
            )
    if "retry" in node:
        yield from _retry_problems(node["retry"])


def _retry_problems(retry: Any) -> Iterable[tuple[str, str]]:
    if not isinstance(retry, dict):
        yield "retry", f"retry must be a JSON object with any of {', '.join(_RETRY_KEYS)}"
        return
    for key in sorted(set(retry) - set(_RETRY_KEYS)):
        yield f"retry.{key}", f"unknown retry setting {key!r}; expected {', '.join(_RETRY_KEYS)}"
    if "max_retries" in retry:
        value = retry["max_retries"]
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_RETRIES:
            yield (
                "retry.max_retries",
                f"max_retries must be a whole number from 0 to {MAX_RETRIES}, got {value!r}",
            )
    for key in _RETRY_KEYS[1:]:
        if key in retry and (
            not _is_number(retry[key]) or not 0 <= retry[key] <= MAX_BACKOFF_SECONDS
        ):
            yield (
                f"retry.{key}",
                f"{key} must be a number from 0 to {MAX_BACKOFF_SECONDS}, got {retry[key]!r}",
            )


def _action_problems(
    node: dict[str, Any], connector_exists: ConnectorCheck | None
) -> Iterable[tuple[str, str]]:
    connector, action = node.get("connector"), node.get("action")
    if not isinstance(connector, str) or not connector:
        yield "connector", "an action node needs a connector, such as 'slack'"
    if not isinstance(action, str) or not action:
        yield "action", "an action node needs the connector action to run, such as 'post_message'"
    elif isinstance(connector, str) and connector and connector_exists is not None:
        verdict = connector_exists(connector, action)
        if isinstance(verdict, str) and verdict:
            yield "connector", verdict
        elif verdict is not True:
            yield "connector", f"unknown connector or action '{connector}.{action}'"


def _trigger_count_problems(triggers: list[tuple[int, Any]]) -> list[Problem]:
    if not triggers:
        return [
            _problem("", "nodes", "a workflow needs exactly one trigger node; this graph has none")
        ]
    first = triggers[0][1]
    return [
        _problem(
            node_id if isinstance(node_id, str) else "",
            f"nodes[{index}].type",
            f"a workflow has exactly one trigger, and '{first}' is already the trigger",
        )
        for index, node_id in triggers[1:]
    ]


def _edge_problems(
    edges: list[Any], types: Mapping[str, str]
) -> tuple[list[Problem], list[tuple[str, str]]]:
    """Problems with each edge, and the (source, target) pairs of the usable edges."""
    problems: list[Problem] = []
    links: list[tuple[str, str]] = []
    seen: dict[tuple[str, str, Any], int] = {}
    for index, edge in enumerate(edges):
        at = f"edges[{index}]"
        if not isinstance(edge, dict):
            problems.append(
                _problem("", at, "each edge must be a JSON object with 'source' and 'target'")
            )
            continue
        source, target, branch = edge.get("source"), edge.get("target"), edge.get("branch")
        known_source = source if isinstance(source, str) and source in types else None
        known_target = target if isinstance(target, str) and target in types else None
        for end, value, known in (
            ("source", source, known_source),
            ("target", target, known_target),
        ):
            if known is not None:
                continue
            owner = known_source or known_target or ""
            if not isinstance(value, str) or not value:
                message = f"every edge needs a {end}: the id of a node"
            else:
                message = f"the edge's {end} '{value}' is not a node of this workflow"
            problems.append(_problem(owner, f"{at}.{end}", message))
        if known_source is None or known_target is None:
            continue
        ok = True  # whether the edge joins the graph used for the loop and reach checks
        if known_source == known_target:
            problems.append(
                _problem(known_source, at, f"node '{known_source}' cannot connect to itself")
            )
            ok = False
        elif types[known_target] == NodeType.TRIGGER:
            problems.append(
                _problem(
                    known_target,
                    f"{at}.target",
                    f"nothing can lead into the trigger '{known_target}'; it starts the workflow",
                )
            )
            ok = False
        if types[known_source] == NodeType.CONDITION:
            if branch not in BRANCHES:
                problems.append(
                    _problem(
                        known_source,
                        f"{at}.branch",
                        f"an edge leaving condition '{known_source}' needs a branch: "
                        "'true' or 'false'" + ("" if branch is None else f", got {branch!r}"),
                    )
                )
        elif branch is not None:
            problems.append(
                _problem(
                    known_source,
                    f"{at}.branch",
                    f"only edges leaving a condition have a branch, and '{known_source}' is a "
                    f"{types[known_source] or 'node'} node",
                )
            )
        key = (known_source, known_target, branch if isinstance(branch, str) else None)
        if key in seen:
            problems.append(
                _problem(
                    known_source,
                    at,
                    f"duplicate edge from '{known_source}' to '{known_target}' "
                    f"(edges[{seen[key]}] is the same)",
                )
            )
            ok = False
        else:
            seen[key] = index
        if ok:
            links.append((known_source, known_target))
    return problems, links


def _cycle_problems(order: list[str], successors: Mapping[str, list[str]]) -> list[Problem]:
    problems = []
    position = {n: i for i, n in enumerate(order)}
    components = sorted(_strongly_connected(order, successors), key=lambda c: position[c[0]])
    for component in components:
        if len(component) < 2:
            continue
        members = set(component)
        start = component[0]
        loop = _shortest_loop(start, members, successors)
        problems.append(
            _problem(
                start,
                "edges",
                f"these nodes form a loop: {' → '.join(loop)}; a workflow cannot loop back "
                "on itself",
            )
        )
    return problems


def _strongly_connected(order: list[str], successors: Mapping[str, list[str]]) -> list[list[str]]:
    """Kosaraju's algorithm, iterative; each component lists its nodes in document order."""
    finished: list[str] = []
    visited: set[str] = set()
    for root in order:
        if root in visited:
            continue
        visited.add(root)
        stack = [(root, iter(successors[root]))]
        while stack:
            node_id, children = stack[-1]
            child = next((c for c in children if c not in visited), None)
            if child is None:
                stack.pop()
                finished.append(node_id)
            else:
                visited.add(child)
                stack.append((child, iter(successors[child])))
    predecessors: dict[str, list[str]] = {n: [] for n in order}
    for source, targets in successors.items():
        for target in targets:
            predecessors[target].append(source)
    position = {n: i for i, n in enumerate(order)}
    assigned: set[str] = set()

    def unassigned_predecessors(node_id: str) -> Iterable[str]:
        return (p for p in predecessors[node_id] if p not in assigned)

    components = []
    for root in reversed(finished):
        if root in assigned:
            continue
        component = _reach([root], unassigned_predecessors)
        assigned.update(component)
        components.append(sorted(component, key=position.__getitem__))
    return components


def _shortest_loop(start: str, members: set[str], successors: Mapping[str, list[str]]) -> list[str]:
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node_id = queue.popleft()
        for child in successors[node_id]:
            if child == start:
                path = [node_id]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if child in members and child not in previous:
                previous[child] = node_id
                queue.append(child)
    return [start]  # unreachable for a real component; keeps the function total


def _reach(roots: Iterable[str], neighbours: Callable[[str], Iterable[str]]) -> set[str]:
    reached = set(roots)
    queue = deque(reached)
    while queue:
        for other in neighbours(queue.popleft()):
            if other not in reached:
                reached.add(other)
                queue.append(other)
    return reached


def _topological_order(order: list[str], successors: Mapping[str, list[str]]) -> tuple[str, ...]:
    """Kahn's algorithm; among nodes ready at once, the one listed first comes first."""
    position = {n: i for i, n in enumerate(order)}
    waiting = dict.fromkeys(order, 0)
    for targets in successors.values():
        for target in targets:
            waiting[target] += 1
    heap = [position[n] for n in order if waiting[n] == 0]
    heapq.heapify(heap)
    result: list[str] = []
    while heap:
        node_id = order[heapq.heappop(heap)]
        result.append(node_id)
        for target in successors[node_id]:
            waiting[target] -= 1
            if waiting[target] == 0:
                heapq.heappush(heap, position[target])
    return tuple(result)
