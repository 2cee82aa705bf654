"""What changed between two workflow definitions (``{trigger_spec, rule_spec, graph}``).

:func:`diff_definitions` for the studio's versions page, :func:`definition_diff_json` for
the canvas, the copilot's proposals and ``GET /api/v1/workflows/{id}/versions/diff/``.
Secret-looking values never appear: trigger values are redacted, node changes list keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from automate.governance.redaction import redact
from automate.workflows.notes import note_changes

__all__ = ["DefinitionDiff", "NodeChange", "definition_diff_json", "diff_definitions"]


_NODE_KEY_NAMES = {
    "inputs": "inputs",
    "label": "label",
    "connector": "connector/action",
    "action": "connector/action",
    "retry": "retry",
    "timeout_seconds": "timeout",
    "condition": "condition",
    "seconds": "delay",
    "position": "position",
    "type": "type",
    "notes": "notes",
}


@dataclass
class NodeChange:
    id: str
    label: str
    keys: list[str]
    layout_only: bool = False


@dataclass
class DefinitionDiff:
    nodes_added: list[dict[str, str]] = field(default_factory=list)
    nodes_removed: list[dict[str, str]] = field(default_factory=list)
    nodes_changed: list[NodeChange] = field(default_factory=list)
    edges_added: list[str] = field(default_factory=list)
    edges_removed: list[str] = field(default_factory=list)
    trigger_changes: list[dict[str, Any]] = field(default_factory=list)
    rule_changed: bool = False
    rule_before: Any = None
    rule_after: Any = None
    # Sticky notes added, removed or changed (automate.workflows.notes.note_changes).
    notes_changes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.nodes_added
            or self.nodes_removed
            or self.nodes_changed
            or self.edges_added
            or self.edges_removed
            or self.trigger_changes
            or self.rule_changed
            or self.notes_changes
        )


def _nodes_by_id(graph: Any) -> dict[str, dict[str, Any]]:
    nodes = (graph.get("nodes") or []) if isinstance(graph, dict) else []
    return {str(n.get("id")): n for n in nodes if isinstance(n, dict)}


def _edge_names(graph: Any) -> list[str]:
    edges = (graph.get("edges") or []) if isinstance(graph, dict) else []
    names = []
    for edge in edges:
        if isinstance(edge, dict):
            branch = f" ({edge['branch']})" if edge.get("branch") else ""
            names.append(f"{edge.get('source')} → {edge.get('target')}{branch}")
    return names


def _label(node: Mapping[str, Any]) -> str:
    label = node.get("label")
    return label if isinstance(label, str) and label else str(node.get("id"))


def diff_definitions(before: Mapping[str, Any], after: Mapping[str, Any]) -> DefinitionDiff:
    """What changed from ``before`` to ``after`` (each ``{trigger_spec, rule_spec, graph}``).

    Secret-looking values never appear: trigger values are redacted, node changes list keys.
    """
    diff = DefinitionDiff()
    old_nodes, new_nodes = _nodes_by_id(before.get("graph")), _nodes_by_id(after.get("graph"))
    for node_id, node in new_nodes.items():
        if node_id not in old_nodes:
            diff.nodes_added.append(
                {"id": node_id, "label": _label(node), "type": str(node.get("type"))}
            )
    for node_id, node in old_nodes.items():
        if node_id not in new_nodes:
            diff.nodes_removed.append(
                {"id": node_id, "label": _label(node), "type": str(node.get("type"))}
            )
            continue
        other = new_nodes[node_id]
        changed = sorted(k for k in set(node) | set(other) if node.get(k) != other.get(k))
        if changed:
            keys = sorted({_NODE_KEY_NAMES.get(k, k) for k in changed})
            if "inputs" in changed:
                old_in, new_in = node.get("inputs") or {}, other.get("inputs") or {}
                if isinstance(old_in, dict) and isinstance(new_in, dict):
                    fields = sorted(
                        k for k in set(old_in) | set(new_in) if old_in.get(k) != new_in.get(k)
                    )
                    keys = [f"inputs ({', '.join(fields)})" if k == "inputs" else k for k in keys]
            diff.nodes_changed.append(
                NodeChange(
                    id=node_id, label=_label(other), keys=keys, layout_only=changed == ["position"]
                )
            )
    old_edges, new_edges = _edge_names(before.get("graph")), _edge_names(after.get("graph"))
    diff.edges_added = [e for e in new_edges if e not in old_edges]
    diff.edges_removed = [e for e in old_edges if e not in new_edges]
    old_trigger = before.get("trigger_spec") or {}
    new_trigger = after.get("trigger_spec") or {}
    for key in sorted(set(old_trigger) | set(new_trigger)):
        if old_trigger.get(key) != new_trigger.get(key):
            diff.trigger_changes.append(
                {
                    "key": key,
                    "before": redact(old_trigger.get(key)),
                    "after": redact(new_trigger.get(key)),
                }
            )
    old_rule, new_rule = before.get("rule_spec") or {}, after.get("rule_spec") or {}
    if old_rule != new_rule:
        diff.rule_changed, diff.rule_before, diff.rule_after = True, old_rule, new_rule
    diff.notes_changes = note_changes(before.get("graph"), after.get("graph"))
    return diff


def _edge_items(graph: Any) -> list[dict[str, str]]:
    edges = (graph.get("edges") or []) if isinstance(graph, dict) else []
    return [
        {
            "source": str(e.get("source")),
            "target": str(e.get("target")),
            "branch": str(e.get("branch") or ""),
        }
        for e in edges
        if isinstance(e, dict)
    ]


def definition_diff_json(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """``diff_definitions`` as JSON for the canvas: ``nodes_added``/``nodes_removed``
    (``[{id, label, type}]``), ``nodes_changed`` (``[{id, label, keys, layout_only}]``),
    ``edges_added``/``edges_removed`` (``[{source, target, branch}]``, ``branch`` "" when
    none), ``trigger_changes`` (``[{key, before, after}]``, redacted), ``rule_changed`` with
    ``rule_before``/``rule_after``, and ``empty``."""
    diff = diff_definitions(before, after)
    old_edges, new_edges = _edge_items(before.get("graph")), _edge_items(after.get("graph"))
    return {
        "nodes_added": diff.nodes_added,
        "nodes_removed": diff.nodes_removed,
        "nodes_changed": [
            {"id": n.id, "label": n.label, "keys": n.keys, "layout_only": n.layout_only}
            for n in diff.nodes_changed
        ],
        "edges_added": [e for e in new_edges if e not in old_edges],
        "edges_removed": [e for e in old_edges if e not in new_edges],
        "trigger_changes": diff.trigger_changes,
        "rule_changed": diff.rule_changed,
        "rule_before": diff.rule_before if diff.rule_changed else None,
        "rule_after": diff.rule_after if diff.rule_changed else None,
        "empty": diff.empty,
    }
