"""Forms generated from a connector action's JSON Schema, and parsing them back.

``schema_fields`` turns an ``ActionSpec.input_schema`` plus the node's stored inputs into
a list of :class:`SchemaField` the panel template renders; ``parse_inputs`` reads the
posted form back into an ``inputs`` dict, reporting what cannot be stored. Stored values
are shown redacted; posting the redacted text back keeps the stored value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from automate.governance.redaction import MASK, redact
from automate.governance.secrets import SECRET_NAME_PATTERN, is_secret_ref, secret_ref_name
from automate.guard.http import json_limits
from automate.guard.parse import InputRejected, load_json

INPUT_PREFIX = "input."
TEMPLATE_MARKERS = ("{{", "{%", "{#")
KEEP_LITERAL = "__keep__"
_MAX_NUMBER_TEXT = 30


def has_template(value: object) -> bool:
    """Whether a string holds template syntax."""
    return isinstance(value, str) and any(marker in value for marker in TEMPLATE_MARKERS)


@dataclass
class SchemaField:
    """One input of the form: how to show it, and what it holds now."""

    name: str
    kind: str  # "string", "number", "integer", "boolean", "enum", "json", "secret"
    label: str
    description: str = ""
    required: bool = False
    value: str = ""
    choices: list[str] = field(default_factory=list)
    templatable: bool = False
    secret_name: str = ""
    has_literal: bool = False
    missing_secret: bool = False
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    policy_hint: str = ""  # a URL input: the egress policy, "Allowed hosts: *.stripe.com"

    @property
    def rows(self) -> int:
        """Textarea height: the value's lines, between 3 and 14."""
        return max(3, min(14, self.value.count("\n") + 2))

    @property
    def html_name(self) -> str:
        return f"{INPUT_PREFIX}{self.name}"

    @property
    def html_id(self) -> str:
        return f"id-input-{self.name}"


def _kind(schema: Mapping[str, Any], secret: bool) -> str:
    if secret:
        return "secret"
    if "enum" in schema:
        return "enum"
    kind = schema.get("type")
    if kind in ("string", "number", "integer", "boolean"):
        return str(kind)
    return "json"  # object, array, a list of types, anyOf, or "any JSON value"


def _show(value: Any, kind: str) -> str:
    """A stored value as form text, redacted (a literal token shows as ``********``)."""
    if value is None:
        return ""
    shown = redact(value)
    if kind == "json":
        return json.dumps(shown, indent=2, ensure_ascii=False)
    return shown if isinstance(shown, str) else json.dumps(shown, ensure_ascii=False)


def schema_fields(
    schema: Mapping[str, Any],
    inputs: Mapping[str, Any],
    *,
    secret_fields: list[str],
    secret_names: list[str],
) -> list[SchemaField]:
    """The form fields for an action's input schema, filled from the node's ``inputs``."""
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    fields: list[SchemaField] = []
    for name, prop in properties.items():
        prop = prop if isinstance(prop, Mapping) else {}
        kind = _kind(prop, name in secret_fields)
        value = inputs.get(name)
        item = SchemaField(
            name=name,
            kind=kind,
            label=str(prop.get("title") or name.replace("_", " ").capitalize()),
            description=str(prop.get("description", "")),
            required=name in required,
            templatable=kind in ("string", "number", "integer", "json"),
        )
        if kind == "secret":
            item.choices = list(secret_names)
            if is_secret_ref(value):
                try:
                    item.secret_name = secret_ref_name(value)
                except Exception:  # a malformed reference: shown as unset
                    item.secret_name = ""
                item.missing_secret = (
                    bool(item.secret_name) and item.secret_name not in secret_names
                )
            elif value not in (None, ""):
                item.has_literal = True
        elif kind == "enum":
            item.choices = [str(choice) for choice in prop.get("enum", [])]
            item.value = "" if value is None else str(value)
        elif kind == "boolean":
            item.value = "" if value is None else ("true" if value is True else str(value))
        else:
            item.value = _show(value, kind)
        fields.append(item)
    # Inputs the schema does not know (an older connector version) stay visible.
    for name, value in inputs.items():
        if name not in properties:
            fields.append(
                SchemaField(
                    name=name,
                    kind="json",
                    label=name,
                    description="Not in the action's schema.",
                    value=_show(value, "json"),
                    templatable=True,
                )
            )
    return fields


def finite_number(text: str, *, integer: bool) -> float | int | None:
    """``text`` as a finite number (a whole one if ``integer``), or None if it is not one.

    NaN and infinity are not JSON (PostgreSQL refuses them), and a number typed with more
    than 30 characters is a typo or an attack, not a duration or a count.
    """
    try:
        number: float | int = int(text) if integer else float(text)
    except ValueError:
        return None
    if not math.isfinite(number) or len(text) > _MAX_NUMBER_TEXT:
        return None
    return number


def _parse_one(item: SchemaField, raw: str, old: Any, enum_values: list[Any]) -> tuple[bool, Any]:
    """``(present, value)`` of one posted field; appends to ``item.errors`` when unstorable."""
    text = raw.strip() if item.kind != "string" else raw
    if item.kind == "secret":
        if text == KEEP_LITERAL:
            return old is not None, old
        if not text:
            return False, None
        if not SECRET_NAME_PATTERN.fullmatch(text):
            item.errors.append("pick a secret name from the list")
            return False, None
        return True, {"$secret": text}
    if not text:
        return False, None
    if item.kind == "string":
        return True, raw
    if item.kind == "enum":
        for choice in enum_values:
            if str(choice) == text:
                return True, choice
        if has_template(text):
            return True, text
        item.errors.append(f"choose one of {', '.join(str(c) for c in enum_values)}")
        return False, None
    if item.kind == "boolean":
        if text in ("true", "false"):
            return True, text == "true"
        if has_template(text):
            return True, text
        item.errors.append("must be true or false")
        return False, None
    if item.kind in ("number", "integer"):
        if has_template(text):
            return True, text
        number = finite_number(text, integer=item.kind == "integer")
        if number is None:
            item.errors.append(
                f"must be a {'whole ' if item.kind == 'integer' else ''}number or a template"
            )
            return False, None
        if item.kind == "number" and number == int(number) and "." not in text:
            return True, int(number)
        return True, number
    # json
    try:
        return True, load_json(text, what="The value", limits=json_limits())
    except InputRejected as exc:
        if exc.reason != "syntax":
            raise  # too deep, a huge number, a NUL: the guard answers 400, nothing saved
        if has_template(text) and not text.lstrip().startswith(("{", "[")):
            return True, text
        reason = exc.message.removeprefix("The value is not valid JSON: ")
        item.errors.append(f"is not valid JSON: {reason}")
        return False, None


def parse_inputs(
    fields: list[SchemaField],
    data: Mapping[str, str],
    schema: Mapping[str, Any],
    old: Mapping[str, Any],
) -> tuple[dict[str, Any], bool]:
    """The ``inputs`` a posted form describes, and whether every field could be stored.

    Field errors are put on the fields. Parts posted back in their redacted form keep
    the stored value (see ``studio.services.restore_masked``).
    """
    from studio.services import restore_masked

    properties = schema.get("properties") or {}
    inputs: dict[str, Any] = {}
    storable = True
    for item in fields:
        prop = properties.get(item.name) if isinstance(properties, Mapping) else None
        enum_values = list(prop.get("enum", [])) if isinstance(prop, Mapping) else []
        raw = data.get(item.html_name, "")
        if item.kind != "secret":
            # Shown again as typed if anything in the form is refused, so no edit is lost.
            item.value = raw
        present, value = _parse_one(item, raw, old.get(item.name), enum_values)
        if item.errors:
            storable = False
            continue
        if present:
            if item.kind != "secret" and item.name in old:
                value = restore_masked(value, old[item.name])
            if value == MASK and item.name not in old:
                item.errors.append("enter a value, or pick a secret")
                storable = False
                continue
            inputs[item.name] = value
    return inputs, storable
