"""``SoftDeleteAdmin``: deleting sets a timestamp instead of removing the row; a filter
shows the deleted rows and a "Restore" action brings them back."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy, ngettext

from automate.base.admin.core import BaseModelAdmin
from automate.base.admin.places import action_place

__all__ = ["SoftDeleteAdmin", "SoftDeleteMixin", "SoftDeletedFilter"]


class SoftDeletedFilter(admin.SimpleListFilter):
    """Rows not deleted by default; "Deleted" shows the soft-deleted ones, "All" both."""

    title = gettext_lazy("deleted")
    parameter_name = "deleted"
    #: Set by ``SoftDeleteMixin.get_list_filter`` to the admin's ``soft_delete_field``.
    soft_delete_field = "deleted_at"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", gettext_lazy("Deleted")), ("all", gettext_lazy("All"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        field = self._field(queryset)
        if self.value() == "yes":
            return queryset.filter(**{f"{field}__isnull": False})
        if self.value() == "all":
            return queryset
        return queryset.filter(**{f"{field}__isnull": True})

    def _field(self, queryset: QuerySet[Any]) -> str:
        return self.soft_delete_field

    def choices(self, changelist: Any) -> Any:
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": gettext_lazy("Not deleted"),
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


@admin.action(
    description=gettext_lazy("Restore selected %(verbose_name_plural)s"), permissions=["change"]
)
def restore_selected(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    count = modeladmin.restore_queryset(request, queryset)
    modeladmin.message_user(
        request,
        ngettext("Restored %(count)d object.", "Restored %(count)d objects.", count)
        % {"count": count},
        messages.SUCCESS,
    )


class SoftDeleteMixin:
    """Soft delete on ``soft_delete_field`` (a nullable ``DateTimeField``, default
    ``deleted_at``).

    * "Delete" (the page and the "Delete selected" action) sets the field to now; the row
      stays in the table.
    * The change list hides deleted rows until the *By deleted* filter says "Deleted" or
      "All" (``SoftDeletedFilter``, added in front of ``list_filter``).
    * "Restore selected …" empties the field again (change permission).
    * With ``AuditMixin``, deletes are audited as ``.delete`` and restores as ``.restore``.

    Override points: ``soft_delete_field``, ``soft_delete(request, obj)``,
    ``restore_queryset(request, queryset)``, ``get_list_filter(request)``.
    """

    soft_delete_field: ClassVar[str] = "deleted_at"

    def soft_delete(self, request: HttpRequest, obj: Any) -> None:
        setattr(obj, self.soft_delete_field, timezone.now())
        obj.save(update_fields=[self.soft_delete_field])

    def _audit(self, request: HttpRequest, obj: Any, action: str, details: dict[str, Any]) -> None:
        # An AuditMixin listed before this mixin audits deletes itself (it wraps them).
        from automate.base.admin.audit import AuditMixin

        mro = type(self).__mro__
        if AuditMixin not in mro:
            return
        if action == "delete" and mro.index(AuditMixin) < mro.index(SoftDeleteMixin):
            return
        self.audit(request, obj, action, details)  # type: ignore[attr-defined]

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self.soft_delete(request, obj)
        self._audit(request, obj, "delete", {"repr": str(obj), "soft": True})

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with transaction.atomic():
            for obj in queryset.filter(**{f"{self.soft_delete_field}__isnull": True}):
                self.soft_delete(request, obj)
                self._audit(request, obj, "delete", {"repr": str(obj), "soft": True})

    def restore_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> int:
        """Empty the soft-delete field of the selected deleted rows; the number restored."""
        restored = 0
        with transaction.atomic():
            for obj in queryset.filter(**{f"{self.soft_delete_field}__isnull": False}):
                setattr(obj, self.soft_delete_field, None)
                obj.save(update_fields=[self.soft_delete_field])
                restored += 1
                self.log_change(request, obj, [{"changed": {"fields": [self.soft_delete_field]}}])  # type: ignore[attr-defined]
                self._audit(request, obj, "restore", {"repr": str(obj)})
        return restored

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        filters = list(super().get_list_filter(request))  # type: ignore[misc]
        field = self.soft_delete_field
        bound = type("SoftDeletedFilter", (SoftDeletedFilter,), {"soft_delete_field": field})
        return [bound, *[item for item in filters if item is not SoftDeletedFilter]]

    def get_actions(self, request: HttpRequest, action_location: Any = None) -> dict[str, Any]:
        actions: dict[str, Any] = super().get_actions(  # type: ignore[misc]
            request, **action_place(action_location)
        )
        if self.actions is None or IS_POPUP_VAR in request.GET:  # type: ignore[attr-defined]
            return actions
        if self.has_change_permission(request):  # type: ignore[attr-defined]
            description = restore_selected.short_description  # type: ignore[attr-defined]
            actions.setdefault(
                "restore_selected", (restore_selected, "restore_selected", description)
            )
        return actions


class SoftDeleteAdmin(SoftDeleteMixin, BaseModelAdmin):
    """A ``BaseModelAdmin`` with soft delete and a restore action (``SoftDeleteMixin``)."""
