"""Size and depth limits of stored definitions: the graph (with every node's inputs), the
rule and the trigger spec.

A definition is read back by every worker for every event, walked by recursive code (the
rule compiler, the template renderer, JSON encoders), and shown in the studio; one that is
too deep or too large stalls or crashes all of them. So it is refused when it is saved as
a draft (editor, node panel, rule tab, wizard, import) and when it is published, with a
message naming the part and the limit. The checks walk without recursion, so even a
definition written straight into the database (older data, a bypassed save) is reported,
not crashed on (see ``automate.execution.matching``).

Limits: ``DJANGO_AUTOMATE["LIMITS"]["max_definition_depth"]`` and
``["max_definition_bytes"]`` (each part on its own), plus the input guard's number size
and text rules (no NUL, no unpaired surrogate: PostgreSQL cannot store them). A graph's
sticky notes are checked here too (shape, count and text size: ``automate.workflows.notes``),
so every path that checks the limits refuses a bad note.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from automate.guard.parse import InputRejected, JsonLimits, check_json_value
from automate.workflows.exceptions import WorkflowValidationError
from automate.workflows.notes import note_problems

DEPTH_SETTING = "DJANGO_AUTOMATE['LIMITS']['max_definition_depth']"
BYTES_SETTING = "DJANGO_AUTOMATE['LIMITS']['max_definition_bytes']"
_NODE_PATH = re.compile(r"^nodes\[(\d+)\]")
_PARTS = (("trigger_spec", "The trigger spec"), ("rule_spec", "The rule"), ("graph", "The graph"))


@dataclass(frozen=True)
class DefinitionLimits:
    max_bytes: int = 500_000
    max_depth: int = 32
    max_number_digits: int = 1000


def configured_limits() -> DefinitionLimits:
    """The limits from the ``LIMITS`` settings."""
    from automate import conf

    return DefinitionLimits(
        max_bytes=conf.get("LIMITS", "max_definition_bytes"),
        max_depth=conf.get("LIMITS", "max_definition_depth"),
        max_number_digits=conf.get("LIMITS", "max_number_digits"),
    )


def definition_limit_problems(
    *,
    limits: DefinitionLimits | None = None,
    **parts: Any,
) -> list[dict[str, str]]:
    """Problems of the given parts (``trigger_spec=``, ``rule_spec=``, ``graph=``) with the
    limits, each as ``{"field", "message"}`` (plus ``node_id`` inside a graph's node), and
    of the graph's sticky notes (``automate.workflows.notes.note_problems``)."""
    limits = limits or configured_limits()
    json_limits = JsonLimits(
        max_bytes=limits.max_bytes,
        max_depth=limits.max_depth,
        max_number_digits=limits.max_number_digits,
    )
    problems: list[dict[str, str]] = []
    for name, what in _PARTS:
        if name not in parts:
            continue
        value = parts[name]
        try:
            check_json_value(value, what=what, limits=json_limits)
        except InputRejected as exc:
            problems.append(_problem(name, exc, limits))
            continue
        size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
        if size > limits.max_bytes:
            problems.append(
                {
                    "field": name,
                    "message": f"{what} is {size} bytes as JSON; the limit is "
                    f"{limits.max_bytes} ({BYTES_SETTING})",
                }
            )
        elif name == "graph":
            problems.extend(note_problems(value))
    return problems


def _problem(name: str, exc: InputRejected, limits: DefinitionLimits) -> dict[str, str]:
    path = str(exc.details.get("path") or "")
    message = exc.message.rstrip(".")
    if exc.reason == "depth":
        message = f"{message}; the limit is {limits.max_depth} ({DEPTH_SETTING})"
    problem = {"field": f"{name}.{path}" if path else name, "message": message}
    match = _NODE_PATH.match(path) if name == "graph" else None
    if match is not None:
        problem["node_index"] = match.group(1)  # named by attach_node_ids
    return problem


def attach_node_ids(problems: list[dict[str, str]], graph: Any) -> list[dict[str, str]]:
    """Name the node of each graph problem (``node_id``) so the canvas can mark it."""
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    for problem in problems:
        index = problem.pop("node_index", None)
        if index is None or not isinstance(nodes, list) or int(index) >= len(nodes):
            continue
        node = nodes[int(index)]
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            problem["node_id"] = node["id"]
    return problems


def limit_problems_of(**parts: Any) -> list[dict[str, str]]:
    """:func:`definition_limit_problems` with the configured limits, nodes named."""
    return attach_node_ids(definition_limit_problems(**parts), parts.get("graph"))


def check_definition_limits(**parts: Any) -> None:
    """Raise ``WorkflowValidationError`` (400, nothing saved) when a part is over a limit."""
    problems = limit_problems_of(**parts)
    if problems:
        raise WorkflowValidationError(problems)
