"""Connector-specific publish checks: each action node's ``publish_problems``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .registry import connector_exists, get_connector

__all__ = ["connector_publish_problems"]


def connector_publish_problems(graph: Any) -> list[dict[str, str]]:
    """The problems every known connector finds in its action nodes of ``graph``.

    Each is ``{"node_id", "field", "message"}``; unknown connectors and malformed nodes are
    left to the graph checks.
    """
    problems: list[dict[str, str]] = []
    nodes = graph.get("nodes") if isinstance(graph, Mapping) else None
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, Mapping) or node.get("type") != "action":
            continue
        code, action, inputs = node.get("connector"), node.get("action"), node.get("inputs")
        if not (isinstance(code, str) and isinstance(action, str)):
            continue
        if not connector_exists(code, action):
            continue
        found = get_connector(code).publish_problems(
            action, inputs if isinstance(inputs, Mapping) else {}
        )
        problems.extend({"node_id": str(node.get("id", "")), **problem} for problem in found)
    return problems
