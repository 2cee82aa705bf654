"""What runs next: the pure scheduling decision of a workflow run.

Pure Python, no Django imports. The worker stores each step's :class:`NodeState`, asks
:func:`plan` what to do, starts the ``ready`` steps (marking them RUNNING), marks the
``skip`` steps SKIPPED, and asks again whenever a step finishes. The orchestrator decides;
connectors act.

Rules (see docs/reference/workflow-format.md, "Run semantics"):

- A node missing from ``states`` is PENDING. The trigger is normally SUCCEEDED when a run
  starts; a PENDING node with no incoming edges (the trigger) is ready.
- An edge is **active** when its source SUCCEEDED and, if the source is a condition, the
  edge's branch is the branch the condition took (``NodeState.branch``, ``"true"`` or
  ``"false"``). It is **dead** when its source was SKIPPED, or its source is a condition
  that took the other branch. Otherwise (source pending, running) it is unresolved.
- A PENDING node is **ready** when every incoming edge is resolved and at least one is
  active: a node with several inputs (a merge) waits for every input still alive, and the
  targets of a fan-out become ready together, to run in parallel.
- A PENDING node whose incoming edges are all dead is **skipped**; skips propagate within
  one call, so ``skip`` is the whole downstream closure, and ``ready`` includes nodes
  freed by those skips (a merge after a condition runs once the live branch is done).
- The run has **failed** as soon as any node is FAILED or CANCELLED: nothing more is
  scheduled (``ready`` and ``skip`` are empty).
- The run is **finished** when every node is SUCCEEDED or SKIPPED (counting this plan's
  ``skip``), or when it has failed and no node is still RUNNING.
- ``ready`` and ``skip`` are in the graph's topological order (ties in document order).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from automate.compat import StrEnum
from automate.workflows.graph import Edge, Graph, NodeType


class NodeStatus(StrEnum):
    """Where one node of a run stands."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class NodeState:
    """A node's status in a run; ``branch`` is the branch a succeeded condition took."""

    status: NodeStatus
    branch: str | None = None


@dataclass(frozen=True)
class Plan:
    """What to do now: start ``ready``, mark ``skip`` SKIPPED; whether the run is over."""

    ready: tuple[str, ...]
    skip: tuple[str, ...]
    finished: bool
    failed: bool


_PENDING = NodeState(NodeStatus.PENDING)
_STOPPED = (NodeStatus.FAILED, NodeStatus.CANCELLED)
_DONE = (NodeStatus.SUCCEEDED, NodeStatus.SKIPPED)


class _Edge(Enum):
    ACTIVE = "active"
    DEAD = "dead"
    UNRESOLVED = "unresolved"


def plan(graph: Graph, states: Mapping[str, NodeState]) -> Plan:
    """Decide which nodes start now and which are skipped, given every node's state.

    ``states`` maps node ids to their :class:`NodeState`; missing nodes are PENDING and
    ids that are not in the graph are ignored. Nodes returned in ``ready`` stay PENDING
    until the caller records them as RUNNING, so asking twice returns them twice.
    """
    order = graph.topological_order()

    def status(node_id: str) -> NodeStatus:
        return states.get(node_id, _PENDING).status

    if any(status(node_id) in _STOPPED for node_id in order):
        running = any(status(node_id) == NodeStatus.RUNNING for node_id in order)
        return Plan(ready=(), skip=(), finished=not running, failed=True)

    ready: list[str] = []
    skipped: set[str] = set()
    for node_id in order:
        if status(node_id) != NodeStatus.PENDING:
            continue
        incoming = graph.incoming(node_id)
        verdicts = {_edge_state(graph, edge, states, skipped) for edge in incoming}
        if not incoming or (_Edge.ACTIVE in verdicts and _Edge.UNRESOLVED not in verdicts):
            ready.append(node_id)
        elif verdicts == {_Edge.DEAD}:
            skipped.add(node_id)
    finished = all(status(node_id) in _DONE or node_id in skipped for node_id in order)
    return Plan(
        ready=tuple(ready),
        skip=tuple(node_id for node_id in order if node_id in skipped),
        finished=finished,
        failed=False,
    )


def _edge_state(
    graph: Graph, edge: Edge, states: Mapping[str, NodeState], skipped: set[str]
) -> _Edge:
    source = states.get(edge.source, _PENDING)
    if edge.source in skipped or source.status == NodeStatus.SKIPPED:
        return _Edge.DEAD
    if source.status != NodeStatus.SUCCEEDED:
        return _Edge.UNRESOLVED
    if graph.nodes[edge.source].type is not NodeType.CONDITION:
        return _Edge.ACTIVE
    # A condition that succeeded without recording a branch activates neither branch.
    return _Edge.ACTIVE if edge.branch == source.branch else _Edge.DEAD


def reset_for_resume(
    graph: Graph, states: Mapping[str, NodeState], from_node: str
) -> dict[str, NodeState]:
    """The states to resume a run from ``from_node``: it and everything downstream of it
    go back to PENDING, and so does every CANCELLED node (steps cut short when the run
    stopped), so the whole run can carry on.

    Other states are kept, so a FAILED step that is not downstream of ``from_node`` still
    fails the run: resume from the earliest failed step. Raises NotFoundError when the
    graph has no node ``from_node``.
    """
    again = graph.descendants(from_node) | {from_node}
    resumed = dict(states)
    for node_id in graph.nodes:
        if node_id in again or resumed.get(node_id, _PENDING).status == NodeStatus.CANCELLED:
            resumed[node_id] = _PENDING
    return resumed


def node_context_keys(graph: Graph, node_id: str) -> list[str]:
    """The ids of the nodes upstream of ``node_id`` in topological order: the steps whose
    ``steps.<id>.output`` a template in that node may use. Raises NotFoundError when the
    graph has no node ``node_id``."""
    upstream = graph.ancestors(node_id)
    return [other for other in graph.topological_order() if other in upstream]
