"""The template checks of a workflow graph: every templated input of every node.

Publishing (and importing) refuses any template :func:`automate.templates.check_template`
refuses. Saving a draft refuses only the *unsafe* ones (a secret used other than printed
whole, a dynamic secret name, an unavailable tag, an oversized template); a syntax error is
saved, shown in the studio, and blocks publishing.
"""

from __future__ import annotations

from typing import Any

from automate.templates import template_problems
from automate.workflows.exceptions import WorkflowValidationError

#: Kinds of template problem a draft may not even be saved with.
UNSAFE_KINDS = frozenset({"secret", "security", "limit"})


def graph_template_problems(graph: Any, *, unsafe_only: bool = False) -> list[dict[str, str]]:
    """One problem per refused template in the nodes' ``inputs`` (``node_id``, ``field``,
    ``message``, ``kind``)."""
    problems: list[dict[str, str]] = []
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict) or not isinstance(node.get("inputs"), dict):
            continue
        for error in template_problems(node["inputs"], path="inputs"):
            if unsafe_only and error.kind not in UNSAFE_KINDS:
                continue
            problems.append(
                {
                    "node_id": str(node.get("id", "")),
                    "field": error.path or "inputs",
                    "message": error.message,
                    "kind": error.kind,
                }
            )
    return problems


def refuse_unsafe_templates(graph: Any) -> None:
    """Raise :class:`WorkflowValidationError` (nothing is saved) when a node's inputs hold a
    template that is refused for safety, not just unfinished."""
    problems = graph_template_problems(graph, unsafe_only=True)
    if problems:
        raise WorkflowValidationError(problems)
