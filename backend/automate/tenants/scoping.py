"""Which tenant owns a row of each ``automate`` model, and querysets limited to tenants.

``TENANT_PATHS`` maps every model of the app to the ORM path from the model to its owning
``Tenant`` (``"tenant"``, ``"workflow__tenant"``…); ``"pk"`` for the ``Tenant`` model
itself. Models no tenant owns (``RateLimitWindow``, shared counters; ``WorkerProcess``)
are listed in ``UNOWNED_MODELS``, and those the admin shows to operators also in
``OPERATOR_MODELS``. A test checks that every model of the app is in one of the two, so a
new model has to say who owns it before any admin or API can list it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import QuerySet

from automate.tenants.models import Tenant

__all__ = [
    "OPERATOR_MODELS",
    "TENANT_PATHS",
    "UNOWNED_MODELS",
    "owning_tenant_id",
    "path_resolves",
    "scope_to_tenants",
    "scope_to_user",
    "tenant_path_of",
]

M = TypeVar("M", bound=models.Model)

TENANT_PATHS: dict[str, str] = {
    "automate.tenant": "pk",
    "automate.event": "tenant",
    "automate.workflow": "tenant",
    "automate.workflowversion": "workflow__tenant",
    "automate.outboxjob": "tenant",
    "automate.executionrun": "tenant",
    "automate.steprun": "run__tenant",
    "automate.auditlogentry": "tenant",
    "automate.storedsecret": "tenant",
    "automate.webhookendpoint": "tenant",
    "automate.webhookdelivery": "endpoint__tenant",
    "automate.runliveseq": "run__tenant",
    "automate.runfailure": "tenant",
    "automate.schedulestate": "workflow__tenant",
    "automate.pinneddata": "workflow__tenant",
    "automate.llmusage": "tenant",
    "automate.llmbudgetday": "tenant",
    "automate.apitoken": "tenant",
}

UNOWNED_MODELS: frozenset[str] = frozenset({"automate.ratelimitwindow", "automate.workerprocess"})

#: Unowned models about the installation itself (no tenant's data), which the admin lists
#: whole to superusers and to staff given the model's view permission, read-only: the
#: running workers (automate.admin_workers).
OPERATOR_MODELS: frozenset[str] = frozenset({"automate.workerprocess"})


def tenant_path_of(model: type[models.Model]) -> str | None:
    """The path from ``model`` to its owning tenant, or None when no tenant owns it."""
    return TENANT_PATHS.get(model._meta.label_lower)


def path_resolves(model: type[models.Model], path: str) -> bool:
    """Whether ``path`` follows real relations of ``model`` and ends at ``Tenant``."""
    if path == "pk":
        return model is Tenant
    current: type[models.Model] = model
    for name in path.split("__"):
        try:
            field = current._meta.get_field(name)
        except FieldDoesNotExist:
            return False
        related = field.related_model
        if not isinstance(related, type) or not issubclass(related, models.Model):
            return False
        current = related
    return current is Tenant


def scope_to_tenants(
    queryset: QuerySet[M], tenants: QuerySet[Tenant] | Iterable[Tenant | int], *, path: str
) -> QuerySet[M]:
    """``queryset`` limited to rows owned by one of ``tenants`` (tenants or their primary
    keys; rows owned by none are left out). A ``path`` that does not resolve gives no
    rows: failing closed."""
    if not path_resolves(queryset.model, path):
        return queryset.none()
    return queryset.filter(**{f"{path}__in": tenants})


def scope_to_user(queryset: QuerySet[M], user: Any, *, path: str = "tenant") -> QuerySet[M]:
    """``queryset`` limited to the tenants ``user`` may see (unfiltered for superusers).

    The tenants are a list of numbers read once per request (``tenant_ids_for``), so the
    database can walk an index that starts with the tenant instead of joining a subquery.
    """
    from automate.tenants.queries import tenant_ids_for

    ids = tenant_ids_for(user)
    if ids is None:
        return queryset if path_resolves(queryset.model, path) else queryset.none()
    return scope_to_tenants(queryset, ids, path=path)


def owning_tenant_id(obj: models.Model, path: str) -> Any:
    """The primary key of the tenant that owns ``obj`` (None when it has none)."""
    if path == "pk":
        return obj.pk
    current: Any = obj
    names = path.split("__")
    for name in names[:-1]:
        current = getattr(current, name, None)
        if current is None:
            return None
    return getattr(current, f"{names[-1]}_id", None)
