"""The models the ``django_model`` connector may write, as the offline drafter sees them.

``load_models()`` reads the allow-list (``CONNECTOR_OPTIONS.django_model.models``) and each
model's editable fields; ``map_fields`` fills a model's fields from payload keys. Only
names and types are read, never rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from automate.copilot.offline_fields import AMOUNT_KEYS, EMAIL_KEYS, last, template

_GENERIC_TOKENS = frozenset({"id", "last", "at", "is", "data", "object", "the", "of"})


@dataclass(frozen=True)
class ModelField:
    """One editable column: ``kind`` is a JSON type name, ``required`` when the model has
    no default for it and refuses it blank."""

    name: str
    kind: str
    required: bool


@dataclass(frozen=True)
class ModelInfo:
    """An allow-listed model: ``label`` ``"demo_crm.Customer"``, its fields (the tenant
    column left out: the connector sets it) and the field sets that identify a row."""

    label: str
    fields: tuple[ModelField, ...]
    unique: tuple[tuple[str, ...], ...] = ()
    words: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        """``"customer"``."""
        return self.label.rpartition(".")[2].lower()

    @property
    def app_words(self) -> tuple[str, ...]:
        """``("demo", "crm")`` for ``demo_crm``."""
        return tuple(self.label.partition(".")[0].lower().split("_"))


def load_models() -> list[ModelInfo]:
    """The allow-listed, installed models, in the allow-list's order."""
    from django.apps import apps
    from django.db import models

    from automate.connectors.builtins.django_model_scope import allowed_entries

    found = []
    for entry in allowed_entries().values():
        try:
            model = apps.get_model(entry.label)
        except (LookupError, ValueError):
            continue
        tenant = entry.tenant_field
        columns = []
        for column in model._meta.concrete_fields:
            if not isinstance(column, models.Field) or column.name == tenant:
                continue
            if column.primary_key or not column.editable or getattr(column, "auto_now", False):
                continue
            required = not (column.has_default() or column.blank or column.null)
            columns.append(ModelField(column.name, _kind(column), required))
        unique = [
            tuple(n for n in constraint.fields if n != tenant)
            for constraint in model._meta.constraints
            if isinstance(constraint, models.UniqueConstraint) and constraint.fields
        ]
        unique += [(c.name,) for c in model._meta.concrete_fields if c.unique and not c.primary_key]
        found.append(
            ModelInfo(
                label=model._meta.label,
                fields=tuple(columns),
                unique=tuple(u for u in unique if u),
                words=tuple(str(model._meta.verbose_name).lower().split()),
            )
        )
    return found


def _kind(column: Any) -> str:
    internal = column.get_internal_type()
    if "Integer" in internal or internal in ("FloatField", "DecimalField"):
        return "number"
    if internal == "BooleanField":
        return "boolean"
    if internal == "JSONField":
        return "object"
    return "string"


def _score(column: ModelField, path: str, kind: str, subject: str, noun: str = "") -> int:
    name, key = column.name.lower(), last(path).lower()
    tokens = set(name.split("_")) - _GENERIC_TOKENS
    key_tokens = set(key.split("_")) - _GENERIC_TOKENS
    if key == name:
        return 10
    if name.endswith("_id") and key == subject and kind == "string":
        return 8
    if "email" in tokens and key in EMAIL_KEYS:
        return 7
    if tokens & {"amount", "total", "price", "cents"} and key in AMOUNT_KEYS and kind == "number":
        return 6
    if key == "id" and ((subject and subject in tokens) or (noun and noun in tokens)):
        return 5
    overlap = tokens & key_tokens
    return 2 * len(overlap) if overlap else 0


@dataclass(frozen=True)
class FieldMapping:
    """What ``map_fields`` found: ``fields`` to write, the ``lookup`` that identifies the
    row (empty: create a new row), the required fields no key fills, and whether the
    names were only guessed (no sample payload)."""

    fields: dict[str, str]
    lookup: dict[str, str]
    unfilled: list[str]
    guessed: bool


def map_fields(
    model: ModelInfo, keys: Mapping[str, str], subject: str, noun: str = ""
) -> FieldMapping:
    """Fill ``model``'s fields from payload ``keys`` (``subject``: the thing the sentence
    is about, ``"customer"``; ``noun``: what the event is about, ``"invoice"``), each key
    used once, best match first."""
    if not keys:
        chosen = {c.name: f"{{{{ event.payload.{c.name} }}}}" for c in model.fields if c.required}
        guessed = True
    else:
        scored = sorted(
            (
                (-_score(column, path, kind, subject, noun), index, path)
                for index, column in enumerate(model.fields)
                for path, kind in keys.items()
                if kind in ("string", "number", "boolean")
                and _score(column, path, kind, subject, noun)
            ),
        )
        chosen, used = {}, set()
        for negative, index, path in scored:
            name = model.fields[index].name
            if -negative >= 4 and name not in chosen and path not in used:
                chosen[name] = template(path)
                used.add(path)
        chosen = {c.name: chosen[c.name] for c in model.fields if c.name in chosen}
        guessed = False
    lookup: dict[str, str] = {}
    for unique in model.unique:
        if all(name in chosen for name in unique):
            lookup = {name: chosen.pop(name) for name in unique}
            break
    unfilled = [c.name for c in model.fields if c.required and c.name not in chosen | lookup]
    return FieldMapping(chosen, lookup, unfilled, guessed)


__all__ = ["FieldMapping", "ModelField", "ModelInfo", "load_models", "map_fields"]
