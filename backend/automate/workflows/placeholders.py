"""Placeholders: inputs a step still needs someone to fill in (pure; no Django imports).

A node may name them, with a hint each, under ``placeholders``
(``{"channel": "The channel to post to, e.g. #alerts"}``; a key is an input path, dotted
for nested inputs such as ``auth.token``). The starter templates use them for what only
the user knows (a channel, an address, which secret holds a token), so a template never
carries a made-up value, least of all a fake secret. Each one still empty is a problem,
shown in the editor and refused on publish and import, until it holds a value.
"""

from __future__ import annotations

from typing import Any

__all__ = ["is_blank", "placeholder_problems"]


def is_blank(value: Any) -> bool:
    """No value yet: absent, null, or an empty (or all-space) string."""
    return value is None or (isinstance(value, str) and not value.strip())


def _input_at(inputs: Any, path: str) -> Any:
    value = inputs
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def placeholder_problems(graph: Any) -> list[dict[str, str]]:
    """One problem per placeholder whose input is still blank, and per malformed
    ``placeholders`` (it must map input paths to hints)."""
    problems: list[dict[str, str]] = []
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict) or "placeholders" not in node:
            continue
        node_id = str(node.get("id", ""))
        wanted = node["placeholders"]
        if not isinstance(wanted, dict) or not all(
            isinstance(key, str) and key and isinstance(hint, str) for key, hint in wanted.items()
        ):
            problems.append(
                {
                    "node_id": node_id,
                    "field": "placeholders",
                    "message": "must map input names to hints (text)",
                }
            )
            continue
        for path, hint in wanted.items():
            if is_blank(_input_at(node.get("inputs"), path)):
                problems.append(
                    {
                        "node_id": node_id,
                        "field": f"inputs.{path}",
                        "message": f"fill in {path}: {hint}" if hint else f"fill in {path}",
                        "kind": "placeholder",
                    }
                )
    return problems
