"""Publish refuses a step whose stored inputs already break its action's input schema.

A required input left empty, a number where the action wants a list, a value outside an
``enum``: each would otherwise be found only when the first event arrives, as a failed run.
Values that are still templates or secret references are judged when the step runs
(``ActionSpec.publish_errors``); template syntax is checked by ``template_checks``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["input_problems"]


def input_problems(graph: Any) -> list[dict[str, str]]:
    """One problem per input of an action node that fails its connector's input schema:
    ``{"node_id", "field", "message", "kind"}``, ``kind`` being ``"required"`` or
    ``"schema"``. Unknown connectors and malformed nodes are left to the graph checks."""
    from automate.connectors import connector_exists, get_action

    problems: list[dict[str, str]] = []
    nodes = graph.get("nodes") if isinstance(graph, Mapping) else None
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, Mapping) or node.get("type") != "action":
            continue
        code, action, inputs = node.get("connector"), node.get("action"), node.get("inputs", {})
        if not (isinstance(code, str) and isinstance(action, str)):
            continue
        if not isinstance(inputs, Mapping) or not connector_exists(code, action):
            continue  # graph_problems reports inputs that are not an object
        for error in get_action(code, action).publish_errors(inputs):
            problems.append(
                {
                    "node_id": str(node.get("id", "")),
                    "field": error["path"],
                    "message": error["message"],
                    "kind": error["kind"],
                }
            )
    return problems
