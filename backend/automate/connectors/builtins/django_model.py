"""The ``django_model`` connector: create and update rows of the project's own models.

Only models listed in ``DJANGO_AUTOMATE["CONNECTOR_OPTIONS"]["django_model"]["models"]``
(``"app_label.ModelName"``, or ``{"model": …, "tenant_field": …}``) can be touched; the
default is none. A model's ``tenant_field`` scopes it to the workflow's tenant: lookups
find only that tenant's rows, created rows belong to it, and a foreign key to another
scoped model must point at a row of the same tenant (see ``django_model_scope``). Every
write names its fields explicitly, must pass the model's ``full_clean()`` and runs in one
transaction, so a workflow cannot write what the model's own validation would refuse.
Saves go through ``Model.save()``: the model's signals fire as for any other save, and an
update writes the named fields plus the model's ``auto_now`` fields.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from django.apps import apps
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models.fields import AutoFieldMixin

from automate.governance.redaction import redact_text

from ..base import ActionSpec, ConnectorAdapter, ExecutionContext
from ..exceptions import ConnectorError, ConnectorInputError
from .django_model_scope import (
    SETTING,
    AllowedModel,
    TenantScope,
    allowed_entries,
    publish_problems,
    tenant_scope,
)

__all__ = ["DjangoModelConnector", "allowed_models"]

_MODEL = {
    "type": "string",
    "required": True,
    "pattern": r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$",
    "description": 'The model as "app_label.ModelName" (it must be allow-listed).',
}
_FIELDS = {"type": "object", "description": "Field values by field name."}
_LOOKUP = {
    "type": "object",
    "minProperties": 1,
    "description": "Exact-match filters by field name that find exactly one row.",
}
_OUTPUTS = {
    "model": {"type": "string"},
    "pk": {},
    "created": {"type": "boolean"},
    "fields": {"type": "object"},
}

Model = type[models.Model]
Values = dict[str, Any]


def allowed_models() -> list[str]:
    """The ``"app_label.ModelName"`` labels the connector may write (default: none)."""
    return [entry.label for entry in allowed_entries().values()]


def _resolve_model(label: str) -> tuple[Model, AllowedModel]:
    # Checked before the lookup, so a refused label says nothing about what exists.
    entry = allowed_entries().get(label.lower())
    if entry is None:
        raise ConnectorError(
            f"The model {label!r} is not allowed: add it to {SETTING} to let workflows write it.",
            code="model_not_allowed",
            details={"model": label},
        )
    try:
        return apps.get_model(entry.label), entry
    except (LookupError, ValueError):
        raise ConnectorError(
            f"The model {label!r} is allowed in {SETTING} but is not installed.",
            code="unknown_model",
            details={"model": label},
        ) from None


def _tenant_problems(
    model: Model, scope: TenantScope | None, values: Values, path: str
) -> list[dict[str, str]]:
    """The tenant column is the connector's to set; a foreign key to a tenant-scoped
    model must name a row of the run's tenant."""
    if scope is None:
        return []
    problems: list[dict[str, str]] = []
    if scope.attname in values:
        problems.append(
            {
                "path": f"inputs.{path}.{scope.field_name}",
                "message": f"{scope.field_name!r} is set from the workflow's tenant",
            }
        )
    entries = allowed_entries()
    for field in model._meta.concrete_fields:
        if not isinstance(field, models.ForeignKey) or field.attname not in values:
            continue
        if field.attname == scope.attname or values[field.attname] is None:
            continue
        related = field.related_model
        assert isinstance(related, type)
        entry = entries.get(related._meta.label_lower)
        target_scope = (
            tenant_scope(related, entry, scope.tenant_slug)
            if entry is not None and entry.tenant_field
            else None
        )
        if target_scope is None:
            continue
        target = related._default_manager.filter(
            **{field.target_field.attname: values[field.attname]},
            **{target_scope.attname: target_scope.value},
        )
        try:
            exists = target.exists()
        except (ValueError, TypeError, ValidationError):
            exists = False
        if not exists:
            problems.append(
                {
                    "path": f"inputs.{path}.{field.name}",
                    "message": f"no {related._meta.label} of this workflow's tenant has "
                    f"{field.target_field.name} {values[field.attname]!r}",
                }
            )
    return problems


def _input_error(problems: list[dict[str, str]], where: str) -> ConnectorInputError:
    listed = "; ".join(f"{p['path']}: {p['message']}" for p in problems)
    return ConnectorInputError(f"Invalid inputs for {where}: {listed}", errors=problems)


def _concrete_field(model: Model, name: str) -> tuple[models.Field[Any, Any] | None, str]:
    """The concrete column field called ``name``, or ``None`` and why not."""
    if name == "pk":
        field = model._meta.pk
        assert field is not None
        return field, ""
    try:
        found = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None, f"{model._meta.label} has no field {name!r}"
    if not isinstance(found, models.Field) or not found.concrete or found.many_to_many:
        return None, (
            f"{name!r} is not a column of {model._meta.label} (reverse and many-to-many "
            "relations cannot be used here)"
        )
    return found, ""


def _field_values(
    model: Model, values: Mapping[str, Any], path: str, *, allow_pk: bool
) -> tuple[Values, list[dict[str, str]]]:
    """``values`` keyed by column attribute name (``customer_id``), and the problems."""
    assigned: Values = {}
    problems: list[dict[str, str]] = []
    for name, value in values.items():
        field, problem = _concrete_field(model, name)
        if field is not None and isinstance(field, AutoFieldMixin):
            problem = f"{name!r} is set by the database"
        elif field is not None and not field.editable:
            problem = f"{name!r} is not editable"
        elif field is not None and field.primary_key and not allow_pk:
            problem = f"{name!r} is the primary key and cannot be changed"
        if field is None or problem:
            problems.append({"path": f"inputs.{path}.{name}", "message": problem})
            continue
        assigned[field.attname] = value
    return assigned, problems


def _lookup_values(model: Model, lookup: Mapping[str, Any]) -> tuple[Values, list[dict[str, str]]]:
    filters: Values = {}
    problems: list[dict[str, str]] = []
    for name, value in lookup.items():
        field, problem = _concrete_field(model, name)
        if field is None:
            # "__" lookups (name__icontains) are refused here too: matches are exact.
            problems.append({"path": f"inputs.lookup.{name}", "message": problem})
            continue
        filters[field.attname] = value
    return filters, problems


def _json_value(field: models.Field[Any, Any], obj: models.Model) -> Any:
    value = field.value_from_object(obj)
    if isinstance(field, models.JSONField) or value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    # Dates, decimals, UUIDs, files…: the text Django's serializers use.
    return field.value_to_string(obj)


def _output(obj: models.Model, created: bool) -> dict[str, Any]:
    meta = obj._meta
    fields = {
        field.name: _json_value(field, obj)
        for field in meta.concrete_fields
        if isinstance(field, models.Field)
    }
    assert meta.pk is not None
    return {
        "model": meta.label,
        "pk": _json_value(meta.pk, obj),
        "created": created,
        "fields": fields,
    }


def _merge_errors(errors: dict[str, list[str]], exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    else:
        errors.setdefault(NON_FIELD_ERRORS, []).extend(exc.messages)


def _validate(obj: models.Model, *, skip_unique: frozenset[str] = frozenset()) -> None:
    """``full_clean()``, except uniqueness of ``skip_unique`` (the database checks that)."""
    errors: dict[str, list[str]] = {}
    try:
        obj.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        _merge_errors(errors, exc)
    exclude = skip_unique | set(errors)
    for check in (obj.validate_unique, obj.validate_constraints):
        try:
            check(exclude=exclude)
        except ValidationError as exc:
            _merge_errors(errors, exc)
    if errors:
        messages = {
            field: [redact_text(message) for message in field_errors]
            for field, field_errors in errors.items()
        }
        listed = "; ".join(
            f"{'' if field == NON_FIELD_ERRORS else field + ': '}{' '.join(field_messages)}"
            for field, field_messages in sorted(messages.items())
        )
        raise ConnectorError(
            f"The {obj._meta.label} record is not valid: {listed}",
            code="validation_failed",
            details={"model": obj._meta.label, "errors": messages},
        )


def _find(model: Model, filters: Values, *, lock: bool) -> models.Model | None:
    """The one row matching ``filters``, ``None`` if there is none; refuses several."""
    try:
        queryset = model._default_manager.filter(**filters)
        if lock:
            queryset = queryset.select_for_update()
        rows = list(queryset[:2])
    except (ValueError, TypeError, ValidationError) as exc:
        raise _input_error(
            [{"path": "inputs.lookup", "message": f"cannot match these values: {exc}"}],
            "django_model",
        ) from exc
    if len(rows) > 1:
        raise ConnectorError(
            f"The lookup matches more than one {model._meta.label} record; it must name "
            "exactly one (use a unique field).",
            code="multiple_records",
            details={"model": model._meta.label},
        )
    return rows[0] if rows else None


def _insert(
    model: Model, values: Values, *, key: Values, skip_unique: frozenset[str] = frozenset()
) -> tuple[models.Model, bool]:
    """Validate and insert; if a concurrent insert with ``key`` won, return that row."""
    obj = model(**key, **values)
    _validate(obj, skip_unique=skip_unique)
    try:
        with transaction.atomic():
            obj.save(force_insert=True)
    except IntegrityError as exc:
        existing = _find(model, key, lock=True) if key else None
        if existing is None:
            raise ConnectorError(
                f"The database refused the {model._meta.label} record: {exc}",
                code="integrity_error",
                details={"model": model._meta.label},
            ) from exc
        return existing, False
    return obj, True


def _touched_fields(model: Model) -> list[str]:
    """The ``auto_now`` columns: ``save(update_fields=…)`` writes them only when named."""
    return [
        field.attname for field in model._meta.concrete_fields if getattr(field, "auto_now", False)
    ]


def _update(obj: models.Model, values: Values) -> None:
    for attname, value in values.items():
        setattr(obj, attname, value)
    _validate(obj)
    # An update is a change like any other save: "last modified" columns move with it
    # (auto_now fields are not editable, so they are never in ``values``).
    update_fields = [*values, *(name for name in _touched_fields(type(obj)) if name not in values)]
    try:
        with transaction.atomic():
            obj.save(update_fields=update_fields or None)
    except IntegrityError as exc:
        raise ConnectorError(
            f"The database refused the {obj._meta.label} update: {exc}",
            code="integrity_error",
            details={"model": obj._meta.label},
        ) from exc


class DjangoModelConnector(ConnectorAdapter):
    """``django_model``: ``create``, ``update``, ``get_or_create``, ``update_or_create``.

    Every action returns ``{"model", "pk", "created", "fields"}`` with the row's
    concrete fields as JSON (foreign keys as their primary key; dates, decimals and
    UUIDs as text). Refusals are not retryable: ``model_not_allowed``,
    ``unknown_model``, ``invalid_inputs`` (unknown or read-only fields),
    ``validation_failed`` (``full_clean()``; ``details["errors"]`` by field),
    ``record_not_found``, ``multiple_records``, ``integrity_error``.
    """

    code = "django_model"
    name = "Django model"
    description = "Create or update records of this site's allow-listed Django models."
    icon = "database"
    actions = {
        "create": ActionSpec(
            label="Create a record",
            description="Insert one row. With idempotency_field, a retried step finds the "
            "row it created instead of inserting another.",
            inputs={
                "model": _MODEL,
                "fields": {**_FIELDS, "required": True},
                "idempotency_field": {
                    "type": "string",
                    "description": "A (preferably unique) text field that stores the "
                    "step's idempotency key; the row is created once per step.",
                },
            },
            outputs=_OUTPUTS,
        ),
        "update": ActionSpec(
            label="Update a record",
            description="Change the fields of the one row the lookup matches.",
            inputs={
                "model": _MODEL,
                "lookup": {**_LOOKUP, "required": True},
                "fields": {**_FIELDS, "required": True},
            },
            outputs=_OUTPUTS,
            idempotent=True,
        ),
        "get_or_create": ActionSpec(
            label="Find or create a record",
            description="Return the row the lookup matches, or create it from the lookup "
            "and fields.",
            inputs={
                "model": _MODEL,
                "lookup": {**_LOOKUP, "required": True},
                "fields": {**_FIELDS, "default": {}},
            },
            outputs=_OUTPUTS,
            idempotent=True,
        ),
        "update_or_create": ActionSpec(
            label="Update or create a record",
            description="Update the row the lookup matches, or create it from the lookup "
            "and fields.",
            inputs={
                "model": _MODEL,
                "lookup": {**_LOOKUP, "required": True},
                "fields": {**_FIELDS, "required": True},
            },
            outputs=_OUTPUTS,
            idempotent=True,
        ),
    }

    def publish_problems(self, action: str, inputs: Mapping[str, Any]) -> list[dict[str, str]]:
        """A literal model without a tenant field is refused on a multi-tenant site."""
        return publish_problems(inputs)

    def execute(
        self, action: str, params: dict[str, Any], context: ExecutionContext
    ) -> dict[str, Any]:
        """Run ``action`` on the allow-listed model ``params["model"]``."""
        model, entry = _resolve_model(params["model"])
        scope = tenant_scope(model, entry, context.tenant)
        where = f"{self.code}.{action}"
        creating = action != "update"
        values, problems = _field_values(model, params["fields"], "fields", allow_pk=creating)
        problems += _tenant_problems(model, scope, values, "fields")
        filters: Values = {}
        if "lookup" in params:
            filters, lookup_problems = _lookup_values(model, params["lookup"])
            problems += lookup_problems + _tenant_problems(model, scope, filters, "lookup")
        if problems:
            raise _input_error(problems, where)
        if scope is not None:
            # Every row found is the run's tenant's (rows created from the lookup too).
            filters[scope.attname] = scope.value
        with transaction.atomic():
            if action == "create":
                obj, created = self._create(model, values, params, context, where, scope)
            elif action == "update":
                found = _find(model, filters, lock=True)
                if found is None:
                    raise self._not_found(model, params["lookup"])
                _update(found, values)
                obj, created = found, False
            else:
                found = _find(model, filters, lock=True)
                if found is None:
                    # Uniqueness of the lookup is left to the database, so that losing a
                    # race to a concurrent insert returns the winner's row.
                    names = {f.attname: f.name for f in model._meta.concrete_fields}
                    skip = frozenset(names.get(attname, attname) for attname in filters)
                    obj, created = _insert(model, values, key=filters, skip_unique=skip)
                else:
                    if action == "update_or_create":
                        _update(found, values)
                    obj, created = found, False
        return _output(obj, created)

    @staticmethod
    def _create(
        model: Model,
        values: Values,
        params: dict[str, Any],
        context: ExecutionContext,
        where: str,
        scope: TenantScope | None,
    ) -> tuple[models.Model, bool]:
        name = params.get("idempotency_field")
        owned = {scope.attname: scope.value} if scope is not None else {}
        if not name:
            return _insert(model, {**values, **owned}, key={})
        field, problem = _concrete_field(model, name)
        if field is not None and scope is not None and field.attname == scope.attname:
            problem = f"{name!r} is set from the workflow's tenant"
        elif field is not None and field.attname in values:
            problem = f"{name!r} is also in fields; the step's idempotency key goes there"
        elif field is not None and not isinstance(field, models.CharField | models.TextField):
            problem = f"{name!r} is not a text field, so it cannot hold the idempotency key"
        if field is None or problem:
            raise _input_error([{"path": "inputs.idempotency_field", "message": problem}], where)
        key = {field.attname: context.idempotency_key, **owned}
        existing = _find(model, key, lock=True)
        if existing is not None:
            return existing, False
        return _insert(model, values, key=key, skip_unique=frozenset({field.name}))

    @staticmethod
    def _not_found(model: Model, lookup: Mapping[str, Any]) -> ConnectorError:
        return ConnectorError(
            f"No {model._meta.label} record matches the lookup on {', '.join(sorted(lookup))}.",
            code="record_not_found",
            details={"model": model._meta.label, "lookup": sorted(lookup)},
        )
