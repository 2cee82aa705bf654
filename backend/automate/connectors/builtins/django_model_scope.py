"""Which models the ``django_model`` connector may touch, and the tenant that owns each row.

``DJANGO_AUTOMATE["CONNECTOR_OPTIONS"]["django_model"]["models"]`` lists the models, each
either as ``"app_label.ModelName"`` or as
``{"model": "app_label.ModelName", "tenant_field": "tenant"}``. A model with a
``tenant_field`` is scoped to the workflow's tenant: every lookup is filtered by that field
and every created row gets it, so a workflow reads and writes only its own tenant's rows.
The field is a foreign key to ``automate.Tenant`` (set to the tenant) or a text field
(set to the tenant's slug).

A site with one tenant needs no tenant field. Once a second tenant exists, a model without
one is refused (``model_not_tenant_scoped``) at publish and at run time, because its rows
would be shared by every tenant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from automate import conf
from automate.tenants.models import Tenant

from ..exceptions import ConnectorError

__all__ = [
    "SETTING",
    "AllowedModel",
    "TenantScope",
    "allowed_entries",
    "is_multi_tenant",
    "option_problems",
    "publish_problems",
    "tenant_scope",
]

SETTING = "DJANGO_AUTOMATE['CONNECTOR_OPTIONS']['django_model']['models']"
_TEXT_FIELDS = (models.CharField, models.TextField)


@dataclass(frozen=True)
class AllowedModel:
    """One allow-listed model and the field that names its owning tenant (if any)."""

    label: str
    tenant_field: str | None = None


@dataclass(frozen=True)
class TenantScope:
    """The column that holds a row's tenant and the value for the run's tenant."""

    field_name: str
    attname: str
    value: Any
    tenant_slug: str


def _raw_entries() -> list[Any]:
    own = conf.get("CONNECTOR_OPTIONS").get("django_model", {})
    listed = own.get("models", []) if isinstance(own, Mapping) else []
    return list(listed) if isinstance(listed, list | tuple) else []


def allowed_entries() -> dict[str, AllowedModel]:
    """The allow-listed models by lower-case label (malformed entries are left out; the
    system checks report them)."""
    entries: dict[str, AllowedModel] = {}
    for item in _raw_entries():
        if isinstance(item, str):
            entries[item.lower()] = AllowedModel(item)
        elif isinstance(item, Mapping) and isinstance(item.get("model"), str):
            field = item.get("tenant_field")
            entries[item["model"].lower()] = AllowedModel(
                item["model"], field if isinstance(field, str) and field else None
            )
    return entries


def is_multi_tenant() -> bool:
    """More than one tenant exists: rows of unscoped models would be shared."""
    return len(Tenant.objects.values_list("pk", flat=True)[:2]) > 1


def _tenant_field_problem(model: type[models.Model], name: str) -> str:
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return f"{model._meta.label} has no field {name!r}"
    if isinstance(field, models.ForeignKey):
        if field.related_model is Tenant:
            return ""
        return (
            f"{model._meta.label}.{name} is a foreign key to {field.related_model}, "
            "not to automate.Tenant"
        )
    if isinstance(field, _TEXT_FIELDS):
        return ""
    return (
        f"{model._meta.label}.{name} must be a foreign key to automate.Tenant or a text "
        "field holding the tenant's slug"
    )


def option_problems() -> list[str]:
    """What is wrong with the ``models`` option (for the system checks)."""
    problems: list[str] = []
    for index, item in enumerate(_raw_entries()):
        where = f"{SETTING}[{index}]"
        if isinstance(item, Mapping):
            label, field = item.get("model"), item.get("tenant_field")
            unknown = sorted(set(item) - {"model", "tenant_field"})
            if unknown:
                problems.append(f"{where} has unknown keys {unknown}: use model, tenant_field")
            if not isinstance(field, str) or not field:
                problems.append(f"{where}['tenant_field'] must be a field name")
                field = None
        else:
            label, field = item, None
        if not isinstance(label, str):
            problems.append(
                f'{where} must be "app_label.ModelName" or '
                '{"model": "app_label.ModelName", "tenant_field": "<field>"}'
            )
            continue
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            problems.append(f"{where}: the model {label!r} is not installed")
            continue
        if field is not None:
            problem = _tenant_field_problem(model, field)
            if problem:
                problems.append(f"{where}['tenant_field']: {problem}")
    return problems


def _not_scoped_message(label: str) -> str:
    return (
        f"The model {label!r} declares no tenant field, and this site has more than one "
        "tenant: its rows would be shared by every tenant. Declare the field that names "
        f'the owning tenant in {SETTING}: {{"model": "{label}", "tenant_field": "tenant"}}.'
    )


def tenant_scope(
    model: type[models.Model], entry: AllowedModel, tenant_slug: str
) -> TenantScope | None:
    """The tenant filter for ``model`` in a run of tenant ``tenant_slug``.

    ``None`` when the model has no tenant field on a single-tenant site. Raises
    ``ConnectorError`` (not retryable) when the model has no tenant field on a
    multi-tenant site, when the field is not usable, or when the run has no tenant.
    """
    label = model._meta.label
    if entry.tenant_field is None:
        if is_multi_tenant():
            raise ConnectorError(
                _not_scoped_message(label),
                code="model_not_tenant_scoped",
                details={"model": label},
            )
        return None
    problem = _tenant_field_problem(model, entry.tenant_field)
    if problem:
        raise ConnectorError(
            f"The tenant field of {label!r} in {SETTING} is not usable: {problem}.",
            code="model_not_tenant_scoped",
            details={"model": label},
        )
    tenant = Tenant.objects.filter(slug=tenant_slug).first() if tenant_slug else None
    if tenant is None:
        raise ConnectorError(
            f"The model {label!r} is scoped to the workflow's tenant, but this step runs "
            "for no known tenant.",
            code="model_not_tenant_scoped",
            details={"model": label},
        )
    field = model._meta.get_field(entry.tenant_field)
    assert isinstance(field, models.Field)
    value = tenant.pk if isinstance(field, models.ForeignKey) else tenant.slug
    return TenantScope(
        field_name=field.name, attname=field.attname, value=value, tenant_slug=tenant.slug
    )


def publish_problems(inputs: Mapping[str, Any]) -> list[dict[str, str]]:
    """Refuse at publish a literal model that the run would refuse for its tenancy."""
    label = inputs.get("model")
    if not isinstance(label, str) or "{" in label:
        return []  # a template: checked when the step runs
    entry = allowed_entries().get(label.lower())
    if entry is None:
        return []  # refused when the step runs (the allow-list may change before then)
    if entry.tenant_field is not None:
        try:
            model = apps.get_model(entry.label)
        except (LookupError, ValueError):
            return []
        problem = _tenant_field_problem(model, entry.tenant_field)
        if problem:
            return [{"field": "inputs.model", "message": f"{SETTING}: {problem}"}]
        return []
    if not is_multi_tenant():
        return []
    return [{"field": "inputs.model", "message": _not_scoped_message(entry.label)}]
