"""``AuditMixin`` and ``AuditableModelAdmin``: every add, change and delete made in an
admin is written to the product's audit log (``automate.governance.audit.record``),
with the details redacted before they are stored."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any, ClassVar

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from automate.base.admin.core import BaseModelAdmin
from automate.tenants.scoping import owning_tenant_id, tenant_path_of

__all__ = ["AuditMixin", "AuditableModelAdmin", "audit_value"]

_HEAVY = (models.JSONField, models.BinaryField, models.FileField)


def audit_value(value: Any) -> Any:
    """``value`` as JSON an audit row can hold: text, numbers, booleans and null as they
    are, model instances by primary key, dates and decimals as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, datetime.date | datetime.time | decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple | set | QuerySet):
        return [audit_value(item) for item in value]
    return str(value)


class AuditMixin:
    """Write an audit row for each add, change and delete (bulk deletes: one per object).

    Each row: ``action`` ``"<audit_action_prefix>.add"`` / ``.change`` / ``.delete``
    (``"admin.add"``…), ``resource_type`` the model label (``"crm.customer"``),
    ``resource_id`` the primary key, the acting user, the owning tenant (through
    ``tenant_field``, ``TENANT_PATHS`` or a ``tenant`` foreign key) and ``details``:
    ``{"fields": [...changed], "values": {...}}``. Values of JSON, binary and file fields
    and of fields in ``audit_exclude_fields`` are left out (named only); the rest are
    redacted by the audit log itself, so a secret-looking value (``Bearer …``,
    ``sk_live_…``, a field named ``api_key``) is stored as ``********``.

    Override points: ``audit_action_prefix``, ``audit_exclude_fields``,
    ``get_audit_details(request, obj, form, change)``, ``audit(request, obj, action, details)``.
    """

    audit_action_prefix: ClassVar[str] = "admin"
    audit_exclude_fields: ClassVar[tuple[str, ...]] = ()
    model: type[models.Model]

    def get_audit_details(
        self, request: HttpRequest, obj: Any, form: Any, change: bool
    ) -> dict[str, Any]:
        """What an add or change row records: the changed field names and their values."""
        names = list(getattr(form, "changed_data", None) or []) if form is not None else []
        values: dict[str, Any] = {}
        for name in names:
            try:
                field = self.model._meta.get_field(name)
            except FieldDoesNotExist:  # a form-only field (a password input): named only
                continue
            if isinstance(field, _HEAVY) or name in self.audit_exclude_fields:
                continue
            if field.many_to_many or not isinstance(field, models.Field):
                values[name] = audit_value(form.cleaned_data.get(name) or [])
            else:
                values[name] = audit_value(getattr(obj, field.attname, None))
        return {"fields": names, "values": values}

    def audit(self, request: HttpRequest, obj: Any, action: str, details: dict[str, Any]) -> None:
        """Append one audit row for ``obj`` (``action`` is ``add``, ``change``, ``delete``
        or an action's own word, e.g. ``restore``)."""
        _record(self, request, action, obj.pk, _tenant_of(self, obj), details)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        self.audit(
            request,
            obj,
            "change" if change else "add",
            self.get_audit_details(request, obj, form, change),
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        details = {"repr": str(obj)}
        pk = obj.pk
        tenant = _tenant_of(self, obj)
        super().delete_model(request, obj)  # type: ignore[misc]
        _record(self, request, "delete", pk, tenant, details)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        gone = [(obj.pk, _tenant_of(self, obj), {"repr": str(obj)}) for obj in queryset]
        super().delete_queryset(request, queryset)  # type: ignore[misc]
        for pk, tenant, details in gone:
            _record(self, request, "delete", pk, tenant, details)


def _record(
    admin_: AuditMixin,
    request: HttpRequest,
    action: str,
    pk: Any,
    tenant: Any,
    details: dict[str, Any],
) -> None:
    from automate.governance.audit import record

    record(
        action=f"{admin_.audit_action_prefix}.{action}",
        resource_type=admin_.model._meta.label_lower,
        resource_id=pk,
        actor=request.user if request.user.is_authenticated else None,
        tenant=tenant,
        details=details,
    )


def _tenant_of(admin_: Any, obj: Any) -> Any:
    """The owning ``Tenant`` of ``obj`` (None for rows no tenant owns, or a deleted one)."""
    from automate.tenants.models import Tenant

    path = getattr(admin_, "scope_path", None) or getattr(admin_, "tenant_field", None)
    path = path or tenant_path_of(type(obj)) or _tenant_fk(type(obj))
    if not path:
        return None
    if path == "pk" and isinstance(obj, Tenant):
        return None  # the row is the tenant itself; it may be about to be deleted
    tenant_id = owning_tenant_id(obj, path)
    return Tenant.objects.filter(pk=tenant_id).first() if tenant_id is not None else None


def _tenant_fk(model: type[models.Model]) -> str | None:
    """``"tenant"`` when the model has a foreign key of that name to ``automate.Tenant``."""
    from automate.tenants.models import Tenant

    try:
        field = model._meta.get_field("tenant")
    except FieldDoesNotExist:
        return None
    return "tenant" if field.related_model is Tenant else None


class AuditableModelAdmin(AuditMixin, BaseModelAdmin):
    """A ``BaseModelAdmin`` whose adds, changes and deletes are audited (``AuditMixin``)."""
