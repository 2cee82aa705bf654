"""``ExportMixin``: "Export selected as CSV" and "… as JSON" actions on a change list."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, ClassVar

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from automate.base.admin.places import action_place
from automate.governance.redaction import is_sensitive_key, redact

__all__ = ["ExportMixin", "export_rows"]

_SKIPPED = (models.BinaryField, models.FileField)
# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_rows(queryset: QuerySet[Any], fields: list[str]) -> list[dict[str, Any]]:
    """One dict per row of ``queryset``: each field's value (a foreign key as its primary
    key, JSON as parsed), redacted like the audit log (``automate.secrets.redact``)."""
    model = queryset.model
    concrete = {field.name: field for field in model._meta.concrete_fields}
    rows = []
    for obj in queryset:
        row = {}
        for name in fields:
            field = concrete.get(name)
            if field is not None:
                row[name] = field.value_from_object(obj)
            else:
                value = getattr(obj, name)
                row[name] = value() if callable(value) else value
        rows.append(redact(json.loads(json.dumps(row, cls=DjangoJSONEncoder))))
    return rows


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, cls=DjangoJSONEncoder)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _selected(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
    """The rows to export, or None (with a message) when more than ``export_max_rows``."""
    selected = modeladmin.get_export_queryset(request, queryset)
    limit = modeladmin.export_max_rows
    if selected[: limit + 1].count() > limit:
        modeladmin.message_user(
            request,
            gettext(
                "More than %(limit)s rows are selected: export at most %(limit)s at once "
                "(narrow the list with a filter or a search)."
            )
            % {"limit": f"{limit:,}"},
            messages.WARNING,
        )
        return None
    return selected


@admin.action(description=gettext_lazy("Export selected as CSV"), permissions=["export"])
def export_as_csv(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]
) -> HttpResponse | None:
    fields = modeladmin.get_export_fields(request)
    selected = _selected(modeladmin, request, queryset)
    if selected is None:
        return None
    rows = export_rows(selected, fields)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(fields)
    for row in rows:
        writer.writerow([_csv_cell(row.get(name)) for name in fields])
    return _download(modeladmin, buffer.getvalue(), "csv", "text/csv; charset=utf-8")


@admin.action(description=gettext_lazy("Export selected as JSON"), permissions=["export"])
def export_as_json(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]
) -> HttpResponse | None:
    fields = modeladmin.get_export_fields(request)
    selected = _selected(modeladmin, request, queryset)
    if selected is None:
        return None
    rows = export_rows(selected, fields)
    text = json.dumps(rows, indent=2, ensure_ascii=False)
    return _download(modeladmin, text, "json", "application/json")


def _download(modeladmin: Any, text: str, extension: str, content_type: str) -> HttpResponse:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    name = f"{modeladmin.opts.model_name}-{stamp}.{extension}"
    response = HttpResponse(text, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class ExportMixin:
    """Adds the actions "Export selected as CSV" and "Export selected as JSON".

    The selected rows are the change list's, so a ``TenantScopedAdmin`` exports only the
    user's tenants' rows. Columns: ``export_fields``, or else every concrete field except
    binary and file fields and fields whose name looks secret (``password``, ``api_key``…).
    Values are redacted as audit details are. A CSV cell that would start a spreadsheet
    formula (``=``, ``+``, ``-``, ``@``) is prefixed with ``'``. The actions need
    ``has_export_permission``: the view permission, and in a ``TenantScopedAdmin`` the
    change permission too (view-only staff run no action there).

    A selection of more than ``export_max_rows`` rows is refused with a message.

    Override points: ``export_fields``, ``export_max_rows``, ``get_export_fields(request)``,
    ``get_export_queryset(request, queryset)``, ``has_export_permission(request)``.
    """

    export_fields: ClassVar[tuple[str, ...] | None] = None
    #: A selection of more rows is refused with a message (the file is built in memory).
    export_max_rows: ClassVar[int] = 10_000
    model: type[models.Model]

    def get_export_fields(self, request: HttpRequest) -> list[str]:
        if self.export_fields is not None:
            return list(self.export_fields)
        return [
            field.name
            for field in self.model._meta.concrete_fields
            if not isinstance(field, _SKIPPED) and not is_sensitive_key(field.name)
        ]

    def get_export_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.order_by("pk")

    def has_export_permission(self, request: HttpRequest) -> bool:
        """The view permission; in a ``TenantScopedAdmin`` also the model's change
        permission, as for every action there (view-only staff run no action)."""
        if not self.has_view_permission(request):  # type: ignore[attr-defined]
            return False
        needs_change = getattr(self, "has_model_change_permission", None)
        return needs_change is None or bool(needs_change(request))

    def get_actions(self, request: HttpRequest, action_location: Any = None) -> dict[str, Any]:
        actions: dict[str, Any] = super().get_actions(  # type: ignore[misc]
            request, **action_place(action_location)
        )
        if self.actions is None or IS_POPUP_VAR in request.GET:  # type: ignore[attr-defined]
            return actions
        if not self.has_export_permission(request):
            return actions
        for function in (export_as_csv, export_as_json):
            name = function.__name__
            if name not in actions:
                actions[name] = (function, name, function.short_description)  # type: ignore[attr-defined]
        return actions
