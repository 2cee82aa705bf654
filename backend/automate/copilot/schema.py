"""The JSON schema a model's answer must follow, and reading an answer back.

``answer_schema(catalog)`` is built from the workflow file format
(``automate/workflows/schema/workflow.schema.json``: trigger spec, node ids, edges, retry)
and the live catalog: one node shape per action the tenant may use, with that action's
input schema; secret fields accept only ``{"$secret": NAME}`` with NAME one of the
tenant's secret names. ``read_answer(text, ...)`` parses a model's text into an
:class:`~automate.copilot.types.Answer`, or says in words what is wrong with it (what a
repair round sends back).

Pure Python apart from the schema file; no Django imports.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any, Final

import jsonschema

from automate.copilot.catalog import Catalog
from automate.copilot.types import DEFINITION_KEYS, Answer, Definition
from automate.governance.redaction import MASK, redact_text
from automate.guard.parse import InputRejected, JsonLimits, load_json
from automate.workflows.schema import load_schema

SCHEMA_NAME: Final = "propose_workflow"
"""The name of the schema (``response_format``) and of the one tool (``tools``)."""

MAX_LINE: Final = 500
"""Explanations, assumptions and notes are cut to this many characters each."""
MAX_LINES: Final = 50
"""At most this many assumptions, notes or not-understood parts are kept."""
MAX_SCHEMA_ERRORS: Final = 20

_ANSWER_LIMITS: Final = JsonLimits(max_bytes=1_000_000, max_depth=40, max_number_digits=30)
_FENCE: Final = re.compile(r"^\s*```[A-Za-z0-9_-]*\s*\n(?P<body>.*?)\n?\s*```\s*$", re.DOTALL)
_TEMPLATE: Final = {
    "type": "string",
    # Anchored: llama.cpp's grammar conversion accepts only ^…$ patterns.
    "pattern": r"^.*\{\{.*\}\}.*$",
    "description": "A template such as {{ event.payload.amount }}.",
}
_LINES: Final = {"type": "array", "items": {"type": "string", "maxLength": MAX_LINE}}


@dataclass(frozen=True)
class ReadAnswer:
    """A model's answer as read: ``answer`` (``None`` when nothing usable came back) and
    the ``problems`` to send back in a repair round (each ``{"field", "message"}``)."""

    answer: Answer | None
    problems: list[dict[str, str]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------
# The schema
# ---------------------------------------------------------------------------------------


_SECRET_REF: Final = {"$ref": "#/$defs/secret_ref"}
_TEMPLATE_REF: Final = {"$ref": "#/$defs/template"}


def _secret_ref(names: tuple[str, ...]) -> dict[str, Any]:
    name: dict[str, Any] = (
        {"type": "string", "enum": list(names)}
        if names
        else {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"}
    )
    return {
        "type": "object",
        "description": "A reference to one of the tenant's secrets, never a value.",
        "properties": {"$secret": name},
        "required": ["$secret"],
        "additionalProperties": False,
    }


def _with_secret_refs(schema: Any) -> Any:
    """``schema`` with every ``"format": "secret"`` field replaced by a secret reference."""
    if isinstance(schema, list):
        return [_with_secret_refs(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    if schema.get("format") == "secret":
        return dict(_SECRET_REF)
    return {key: _with_secret_refs(value) for key, value in schema.items() if key != "default"}


def _templatable(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A top-level input that is not text may also be a template (rendered at run time)."""
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if kind is None or "string" in kinds or "format" in schema:
        return dict(schema)
    return {"anyOf": [dict(schema), _TEMPLATE_REF]}


def _inputs_schema(entry_schema: Mapping[str, Any]) -> dict[str, Any]:
    schema = _with_secret_refs(entry_schema)
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        schema["properties"] = {
            key: _templatable(value) if isinstance(value, Mapping) else value
            for key, value in properties.items()
        }
    schema.setdefault("type", "object")
    return dict(schema)


_COMMON: Final = {
    "id": {"$ref": "#/$defs/node_id"},
    "label": {"type": "string", "maxLength": 200},
    "retry": {"$ref": "#/$defs/retry"},
    "timeout_seconds": {"$ref": "#/$defs/timeout_seconds"},
}


def _node(kind: str, **extra: Any) -> dict[str, Any]:
    required = ["id", "type", *extra.pop("required", [])]
    description = extra.pop("description", "")
    node: dict[str, Any] = {
        "type": "object",
        "properties": {**_COMMON, "type": {"const": kind}, **extra},
        "required": required,
    }
    if description:
        node["description"] = description
    return node


def answer_schema(catalog: Catalog) -> dict[str, Any]:
    """The JSON schema of an answer for ``catalog`` (see the module docstring).

    ``{"definition": {"trigger_spec", "rule_spec", "graph"}, "explanations": {node_id:
    line}, "assumptions": [...], "not_understood": [...], "notes": [...]}``. Shared parts
    (node ids, retry, secret references, templates) are in ``$defs``.
    """
    defs = load_schema()["$defs"]
    node_props = defs["node"]["properties"]
    nodes: list[dict[str, Any]] = [_node("trigger", description="Exactly one.")]
    for entry in catalog.actions:
        nodes.append(
            _node(
                "action",
                description=f"{entry.connector}.{entry.action}: {entry.description}"[:300],
                connector={"const": entry.connector},
                action={"const": entry.action},
                inputs=_inputs_schema(entry.input_schema),
                required=["connector", "action", "inputs"],
            )
        )
    nodes += [
        _node(
            "condition",
            description="Edges leaving it carry branch 'true' or 'false'.",
            condition={"type": ["object", "boolean"], "description": "A JSONLogic rule."},
            required=["condition"],
        ),
        _node(
            "delay",
            seconds={"type": "number", "minimum": 0, "maximum": 2_592_000},
            required=["seconds"],
        ),
        _node("transform", inputs={"type": "object"}, required=["inputs"]),
        _node("merge"),
    ]
    edge = deepcopy(defs["edge"])
    trigger_spec = deepcopy(defs["trigger_spec"])
    if catalog.event_types:
        event_type = trigger_spec["properties"]["event_type"]
        event_type["description"] = (
            f"{event_type['description']} Seen for this tenant: {', '.join(catalog.event_types)}."
        )
    return {
        "type": "object",
        "properties": {
            "definition": {
                "type": "object",
                "properties": {
                    "trigger_spec": trigger_spec,
                    "rule_spec": {
                        "type": "object",
                        "description": "A JSONLogic rule on the event; {} matches every event.",
                    },
                    "graph": {
                        "type": "object",
                        "properties": {
                            "nodes": {"type": "array", "items": {"anyOf": nodes}},
                            "edges": {"type": "array", "items": edge},
                        },
                        "required": ["nodes", "edges"],
                    },
                },
                "required": list(DEFINITION_KEYS),
            },
            "explanations": {
                "type": "object",
                "description": "One line per node id: what that node does.",
                "additionalProperties": {"type": "string", "maxLength": MAX_LINE},
            },
            "assumptions": _LINES,
            "not_understood": _LINES,
            "notes": _LINES,
        },
        "required": ["definition", "explanations", "assumptions", "not_understood", "notes"],
        "additionalProperties": False,
        "$defs": {
            "node_id": defs["node_id"],
            "retry": node_props["retry"],
            "timeout_seconds": node_props["timeout_seconds"],
            "secret_ref": _secret_ref(catalog.secret_names),
            "template": _TEMPLATE,
        },
    }


# ---------------------------------------------------------------------------------------
# Reading an answer
# ---------------------------------------------------------------------------------------


def _strip_fences(text: str) -> str:
    match = _FENCE.match(text)
    if match:
        return match["body"]
    start, end = text.find("{"), text.rfind("}")
    if start > 0 and end > start and not text[:start].strip().startswith(("{", "[")):
        return text[start : end + 1]  # "Here is the workflow: {...}"
    return text


def _lines(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value] if isinstance(value, str) else []
    lines = [redact_text(item.strip())[:MAX_LINE] for item in items if isinstance(item, str)]
    return [line for line in lines if line][:MAX_LINES]


def _explanations(value: Any) -> dict[str, str]:
    if isinstance(value, list):  # [{"node_id": …, "text": …}] is read too
        value = {
            item.get("node_id"): item.get("text") or item.get("explanation")
            for item in value
            if isinstance(item, Mapping)
        }
    if not isinstance(value, Mapping):
        return {}
    return {
        key: redact_text(text.strip())[:MAX_LINE]
        for key, text in value.items()
        if isinstance(key, str) and isinstance(text, str) and text.strip()
    }


def _schema_problems(data: Any, schema: Mapping[str, Any]) -> list[dict[str, str]]:
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in validator.iter_errors(data):
        path = ".".join(str(part) for part in error.absolute_path) or "answer"
        if error.validator == "anyOf" and "nodes" in error.absolute_path:
            message = (
                "this node matches no node shape of the schema (check its type, connector, "
                "action and inputs)"
            )
        else:
            message = error.message if len(error.message) <= 300 else error.message[:300] + "…"
        problems.append({"field": path, "message": message})
        if len(problems) >= MAX_SCHEMA_ERRORS:
            break
    return problems


def restore_masked(definition: Definition, before: Definition) -> Definition:
    """Put back values the model only saw masked (``"********"``): where a node of the
    answer keeps an input the model was shown masked, the draft's own value returns."""
    old_nodes = {
        node.get("id"): node
        for node in before.get("graph", {}).get("nodes", [])
        if isinstance(node, dict)
    }
    nodes = definition.get("graph", {}).get("nodes") if isinstance(definition, dict) else None
    for node in nodes if isinstance(nodes, list) else []:
        old = old_nodes.get(node.get("id")) if isinstance(node, dict) else None
        if isinstance(old, dict):
            _restore(node, old)
    return definition


def _restore(new: Any, old: Any) -> None:
    if isinstance(new, dict) and isinstance(old, Mapping):
        for key, value in new.items():
            if value == MASK and key in old:
                new[key] = deepcopy(old[key])
            else:
                _restore(value, old.get(key))
    elif isinstance(new, list) and isinstance(old, list):
        for index, value in enumerate(new):
            if index < len(old):
                if value == MASK:
                    new[index] = deepcopy(old[index])
                else:
                    _restore(value, old[index])


def read_answer(
    text: str, *, schema: Mapping[str, Any], before: Definition, truncated: bool = False
) -> ReadAnswer:
    """Parse the model's ``text`` (JSON, maybe in ``` fences) into an ``Answer``.

    Returns ``ReadAnswer(None, problems)`` when there is no JSON object with a
    definition in it; otherwise the answer and the schema's complaints about it (the
    publish checks run later, on the answer). ``truncated`` (finish_reason ``length``)
    adds that the answer was cut off.
    """
    cut = " (it was cut off: the answer reached max_tokens; answer more briefly)"
    try:
        data = load_json(_strip_fences(text.strip()), what="The answer", limits=_ANSWER_LIMITS)
    except InputRejected as exc:
        message = f"your answer was not valid JSON: {exc.message}{cut if truncated else ''}"
        return ReadAnswer(None, [{"field": "answer", "message": message}])
    if isinstance(data, dict) and "definition" not in data and "graph" in data:
        # A bare definition (smaller models drop the envelope): read it, and let the
        # schema's complaint say what the envelope should have been.
        data = {"definition": data}
    if not isinstance(data, dict) or not isinstance(data.get("definition"), dict):
        return ReadAnswer(
            None,
            [
                {
                    "field": "answer",
                    "message": "your answer must be a JSON object with a "
                    "'definition' object (trigger_spec, rule_spec, graph)",
                }
            ],
        )
    raw = data["definition"]
    definition: Definition = {}
    for key in DEFINITION_KEYS:
        value = raw.get(key)
        definition[key] = deepcopy(value) if isinstance(value, dict) else deepcopy(before[key])
    problems = _schema_problems(data, schema)
    answer = Answer(
        definition=restore_masked(definition, before),
        explanations=_explanations(data.get("explanations")),
        assumptions=_lines(data.get("assumptions")),
        not_understood=_lines(data.get("not_understood")),
        notes=_lines(data.get("notes")),
    )
    return ReadAnswer(answer, problems)


def dumps(data: Any) -> str:
    """Compact JSON for a message (non-ASCII kept: it is counted in characters)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
