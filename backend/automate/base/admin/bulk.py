"""``BulkActionsMixin``: enable, disable and set-status actions on a change list."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, gettext_lazy, ngettext

from automate.base.admin.places import action_place

__all__ = ["BulkActionsMixin"]


class BulkActionsMixin:
    """Adds "Enable selected", "Disable selected" (on ``bulk_active_field``, default
    ``is_active``) and one "Set status to …" action per choice of ``bulk_status_field``
    (default ``status``), each only when the model has that field.

    Every selected object is saved on its own (``save(update_fields=[…])``, so model
    signals fire), in one transaction, logged in the admin history and, with
    ``AuditMixin``, audited as ``"<prefix>.bulk"`` with the field and its new value. The
    actions need the change permission.

    Override points: ``bulk_active_field``, ``bulk_status_field``,
    ``get_bulk_status_choices(request)``, ``bulk_update(request, queryset, field, value)``.
    """

    bulk_active_field: ClassVar[str | None] = "is_active"
    bulk_status_field: ClassVar[str | None] = "status"
    model: type[models.Model]

    def _bulk_field(self, name: str | None) -> models.Field[Any, Any] | None:
        if not name:
            return None
        try:
            field = self.model._meta.get_field(name)
        except FieldDoesNotExist:
            return None
        return field if isinstance(field, models.Field) else None

    def get_bulk_status_choices(self, request: HttpRequest) -> list[tuple[Any, Any]]:
        field = self._bulk_field(self.bulk_status_field)
        return list(field.flatchoices) if field is not None and field.choices else []

    def bulk_update(
        self, request: HttpRequest, queryset: QuerySet[Any], field: str, value: Any
    ) -> int:
        """Set ``field`` to ``value`` on every object of ``queryset``; the number changed."""
        changed = 0
        with transaction.atomic():
            for obj in queryset.order_by("pk"):
                if getattr(obj, field) == value:
                    continue
                setattr(obj, field, value)
                obj.save(update_fields=[field])
                changed += 1
                self.log_change(request, obj, [{"changed": {"fields": [field]}}])  # type: ignore[attr-defined]
                audit = getattr(self, "audit", None)
                if audit is not None:
                    audit(request, obj, "bulk", {"fields": [field], "values": {field: value}})
        return changed

    def _bulk_action(
        self, field: str, value: Any, name: str, description: Any
    ) -> tuple[Any, str, Any]:
        def action(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
            count = modeladmin.bulk_update(request, queryset, field, value)
            modeladmin.message_user(
                request,
                ngettext("Changed %(count)d object.", "Changed %(count)d objects.", count)
                % {"count": count},
                messages.SUCCESS,
            )

        action.__name__ = name
        action.allowed_permissions = ("change",)  # type: ignore[attr-defined]
        action.short_description = description  # type: ignore[attr-defined]
        return action, name, description

    def get_actions(self, request: HttpRequest, action_location: Any = None) -> dict[str, Any]:
        actions: dict[str, Any] = super().get_actions(  # type: ignore[misc]
            request, **action_place(action_location)
        )
        if self.actions is None or IS_POPUP_VAR in request.GET:  # type: ignore[attr-defined]
            return actions
        if not self.has_change_permission(request):  # type: ignore[attr-defined]
            return actions
        built: list[tuple[Any, str, Any]] = []
        active = self._bulk_field(self.bulk_active_field)
        if isinstance(active, models.BooleanField):
            name = active.name
            built.append(
                self._bulk_action(
                    name,
                    True,
                    "bulk_enable",
                    gettext_lazy("Enable selected %(verbose_name_plural)s"),
                )
            )
            built.append(
                self._bulk_action(
                    name,
                    False,
                    "bulk_disable",
                    gettext_lazy("Disable selected %(verbose_name_plural)s"),
                )
            )
        status = self._bulk_field(self.bulk_status_field)
        if status is not None:
            for value, label in self.get_bulk_status_choices(request):
                description = gettext("Set status to “%(status)s”") % {"status": label}
                built.append(
                    self._bulk_action(status.name, value, f"bulk_status_{value}", description)
                )
        for function, name, description in built:
            actions.setdefault(name, (function, name, description))
        return actions
