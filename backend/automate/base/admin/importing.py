"""``ImportMixin`` and ``ImportExportBaseAdmin``: add rows from a JSON file, validated by
the admin's own form, shown as a preview, and saved only when the user confirms."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import DatabaseError, IntegrityError, models, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext, ngettext

from automate.base.admin.core import BaseModelAdmin
from automate.base.admin.export import ExportMixin
from automate.base.admin.pages import change_list_with_import, import_page
from automate.governance.redaction import redact
from automate.guard.http import json_limits
from automate.guard.parse import InputRejected, load_json, too_large

__all__ = ["ImportExportBaseAdmin", "ImportMixin", "ImportResult"]


@dataclass
class ImportResult:
    """The validated rows of an upload: ``forms`` (bound, valid) or ``errors`` (text)."""

    forms: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _form_value(value: Any) -> Any:
    """A JSON value as a form field takes it (JSON fields take JSON text)."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return value
    return str(value)


class ImportMixin:
    """An "Import JSON" page on the change list (``<changelist>/import/``).

    1. The user uploads a JSON file (or pastes it): a list of objects, one per row, with
       the fields of ``get_import_fields`` (a field left out takes the model's default).
       The text goes through the input guard (size,
       depth, valid text), at most ``import_max_bytes`` and ``import_max_rows``.
    2. Every row is validated by the admin's own form (``get_form`` with those fields), so
       foreign-key choices are those the user may pick (a ``TenantScopedAdmin`` refuses
       another tenant's id) and unique fields are checked. Any problem: the page lists
       each one ("Row 3, email: Enter a valid email address.") and nothing is saved.
    3. Valid rows are shown as a preview table (values redacted). Nothing is written yet.
    4. "Confirm import" validates again and saves every row in one transaction through
       ``save_model`` (so ``AuditMixin`` audits each add and tenancy is checked), logging
       each in the admin history; one failing row saves none.

    Rows are always added, never matched to existing ones. The page needs the add
    permission. Override points: ``import_fields``, ``get_import_fields(request)``,
    ``import_max_rows``, ``import_max_bytes``, ``validate_import(request, rows)``,
    ``save_import(request, forms)``.
    """

    import_fields: ClassVar[tuple[str, ...] | None] = None
    import_max_rows: ClassVar[int] = 1000
    import_max_bytes: ClassVar[int] = 1_000_000
    model: type[models.Model]
    opts: Any
    admin_site: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if getattr(self, "change_list_template", None) is None:
            self.change_list_template = change_list_with_import()

    # -- override points --------------------------------------------------------------------

    def get_import_fields(self, request: HttpRequest) -> list[str]:
        """The fields a row may give: ``import_fields``, or the fields of the add form."""
        if self.import_fields is not None:
            return list(self.import_fields)
        form = self.get_form(request, None, change=False)  # type: ignore[attr-defined]
        return list(form.base_fields)

    def has_import_permission(self, request: HttpRequest) -> bool:
        return bool(self.has_add_permission(request))  # type: ignore[attr-defined]

    def validate_import(self, request: HttpRequest, rows: Any) -> ImportResult:
        """Check every row with the admin's form; collect every problem with its row."""
        result = ImportResult()
        if not isinstance(rows, list):
            result.errors.append(gettext("The file must hold a JSON list of objects."))
            return result
        if not rows:
            result.errors.append(gettext("The list is empty: there is nothing to import."))
            return result
        if len(rows) > self.import_max_rows:
            result.errors.append(
                gettext("The file has %(count)d rows; at most %(limit)d can be imported at once.")
                % {"count": len(rows), "limit": self.import_max_rows}
            )
            return result
        fields = self.get_import_fields(request)
        form_class = self.get_form(request, None, change=False, fields=fields)  # type: ignore[attr-defined]
        for number, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                result.errors.append(gettext("Row %(row)d: not a JSON object.") % {"row": number})
                continue
            unknown = sorted(str(key) for key in row if key not in fields)
            if unknown:
                result.errors.append(
                    gettext("Row %(row)d: unknown field(s) %(unknown)s (known: %(known)s).")
                    % {"row": number, "unknown": ", ".join(unknown), "known": ", ".join(fields)}
                )
                continue
            form = form_class(data=self._form_data(row, fields))
            if form.is_valid():
                result.forms.append(form)
                continue
            for name, problems in form.errors.items():
                for problem in problems:
                    if name == "__all__":  # a rule over several fields (unique together…)
                        text = gettext("Row %(row)d: %(problem)s")
                    else:
                        text = gettext("Row %(row)d, %(field)s: %(problem)s")
                    result.errors.append(text % {"row": number, "field": name, "problem": problem})
        return result

    def _form_data(self, row: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        """The row as form data; a field the row leaves out takes the model's default."""
        data = {key: _form_value(value) for key, value in row.items()}
        for name in fields:
            if name in data:
                continue
            try:
                model_field = self.model._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            if isinstance(model_field, models.Field) and model_field.has_default():
                data[name] = _form_value(model_field.get_default())
        return data

    def save_import(self, request: HttpRequest, forms: list[Any]) -> list[Any]:
        """Save every validated form through ``save_model``, in one transaction."""
        saved = []
        with transaction.atomic():
            for form in forms:
                obj = form.save(commit=False)
                self.save_model(request, obj, form, False)  # type: ignore[attr-defined]
                form.save_m2m()
                self.log_addition(request, obj, [{"added": {}}])  # type: ignore[attr-defined]
                saved.append(obj)
        return saved

    # -- the page ---------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_import"
        page = path("import/", self.admin_site.admin_view(self.import_view), name=name)
        return [page, *super().get_urls()]  # type: ignore[misc]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {"has_import_permission": self.has_import_permission(request)}
        return super().changelist_view(request, {**extra, **(extra_context or {})})  # type: ignore[misc,no-any-return]

    def _read_upload(self, request: HttpRequest) -> str:
        upload = request.FILES.get("file")
        if upload is not None:
            if upload.size is not None and upload.size > self.import_max_bytes:
                raise too_large(gettext("The file"), upload.size, self.import_max_bytes)
            raw: bytes = upload.read()
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InputRejected(gettext("The file is not UTF-8 text.")) from None
        return request.POST.get("data", "")

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """GET: the upload form. POST: errors, or the preview; POST with ``confirm``: save."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": gettext("Import %(items)s") % {"items": self.opts.verbose_name_plural},
            "subtitle": None,
            "opts": self.opts,
            "fields": self.get_import_fields(request),
            "max_rows": self.import_max_rows,
            "errors": [],
            "data": "",
        }
        request.current_app = self.admin_site.name
        if request.method != "POST":
            return TemplateResponse(request, import_page(), context)
        try:
            text = self._read_upload(request)
            limits = json_limits(max_bytes=self.import_max_bytes)
            rows = load_json(text, what=gettext("The file"), limits=limits)
        except InputRejected as exc:
            context["errors"] = [exc.message]
            return TemplateResponse(request, import_page(), context, status=400)
        context["data"] = text
        result = self.validate_import(request, rows)
        if result.errors:
            context["errors"] = result.errors
            return TemplateResponse(request, import_page(), context, status=400)
        if "confirm" not in request.POST:
            context["preview"] = self._preview(result.forms, context["fields"])
            return TemplateResponse(request, import_page(), context)
        try:
            saved = self.save_import(request, result.forms)
        except (IntegrityError, DatabaseError, PermissionDenied) as exc:
            context["errors"] = [gettext("Nothing was imported: %(reason)s") % {"reason": exc}]
            return TemplateResponse(request, import_page(), context, status=400)
        self.message_user(  # type: ignore[attr-defined]
            request,
            # One placeholder in both forms, so that every language's plural forms can use it.
            ngettext("Imported %(count)d %(items)s.", "Imported %(count)d %(items)s.", len(saved))
            % {
                "count": len(saved),
                "items": (
                    self.opts.verbose_name if len(saved) == 1 else self.opts.verbose_name_plural
                ),
            },
            messages.SUCCESS,
        )
        return HttpResponseRedirect(
            reverse(
                f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_changelist"
            )
        )

    def _preview(self, forms: list[Any], fields: list[str]) -> dict[str, Any]:
        rows = []
        for form in forms:
            cells = {name: form.cleaned_data.get(name) for name in fields}
            shown = redact(
                {name: "" if value is None else str(value) for name, value in cells.items()}
            )
            rows.append([shown[name] for name in fields])
        return {
            "columns": fields,
            "rows": rows,
            "count": len(rows),
            "name": self.opts.verbose_name,
            "items": self.opts.verbose_name_plural,
        }


class ImportExportBaseAdmin(ImportMixin, ExportMixin, BaseModelAdmin):
    """A ``BaseModelAdmin`` with the JSON import page (``ImportMixin``) and the CSV and
    JSON export actions (``ExportMixin``)."""
