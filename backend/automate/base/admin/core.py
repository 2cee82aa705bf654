"""``BaseModelAdmin``, the inline bases and the small mixins (search, filters, object
permissions). See docs/reference/admin.md for every override point."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext

from automate.admin_lists import COUNT_CAP, BoundedCountPaginator, LeanChangeList

__all__ = [
    "BaseModelAdmin",
    "FilterMixin",
    "InlineBaseAdmin",
    "PermissionMixin",
    "SearchMixin",
    "StackedInlineBaseAdmin",
    "timestamp_fields_of",
]

#: Field names treated as timestamps: shown read-only and listed by default.
TIMESTAMP_FIELDS: tuple[str, ...] = ("created_at", "updated_at")


def timestamp_fields_of(model: type[models.Model], names: tuple[str, ...]) -> list[str]:
    """The names in ``names`` that are fields of ``model``, in that order."""
    found = []
    for name in names:
        try:
            model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        found.append(name)
    return found


class BaseModelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A ``ModelAdmin`` with the defaults every admin of the product uses.

    * **Timestamps read-only**: the fields named in ``timestamp_fields`` that the model has
      are added to ``get_readonly_fields()`` on the change page (the add page has no
      timestamps to show).
    * **List display**: an admin that sets no ``list_display`` lists ``__str__`` and the
      timestamps. ``get_list_display()`` and ``get_readonly_fields()`` return lists, so an
      override can write ``["custom"] + super().get_list_display(request)``.
    * **Pagination**: counts stop at ``COUNT_CAP`` rows (``BoundedCountPaginator``), no
      second count of the whole table, and change lists leave out JSON and binary columns
      they do not show (``LeanChangeList``).

    Override points: ``get_list_display(request)``, ``get_readonly_fields(request, obj)``,
    ``get_queryset(request)``, ``timestamp_fields``, ``list_per_page``.
    """

    timestamp_fields: ClassVar[tuple[str, ...]] = TIMESTAMP_FIELDS
    paginator = BoundedCountPaginator
    show_full_result_count = False

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        display = list(super().get_list_display(request))
        if display == ["__str__"]:
            display += timestamp_fields_of(self.model, self.timestamp_fields)
        return display

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            stamps = timestamp_fields_of(self.model, self.timestamp_fields)
            readonly += [name for name in stamps if name not in readonly]
        return readonly

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[LeanChangeList]:
        return LeanChangeList

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None) or {}
        change_list = context.get("cl")
        paginator = getattr(change_list, "paginator", None)
        if getattr(paginator, "count_is_bounded", False):
            context["subtitle"] = gettext(
                "More than %(count)s %(items)s match: the pages show the first %(count)s. "
                "Narrow them with a filter or a search."
            ) % {
                "count": f"{getattr(paginator, 'count_cap', COUNT_CAP):,}",
                "items": self.opts.verbose_name_plural,
            }
        return response


class _InlineDefaults:
    """What both inline bases share: no blank extra forms, a link to each row's page, the
    timestamps read-only, and foreign-key choices limited to the user's tenants."""

    extra = 0
    show_change_link = True
    timestamp_fields: ClassVar[tuple[str, ...]] = TIMESTAMP_FIELDS
    model: type[models.Model]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        stamps = timestamp_fields_of(self.model, self.timestamp_fields)
        return readonly + [name for name in stamps if name not in readonly]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        from automate.base.admin.tenancy import scoped_choices

        field = super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]
        if field is not None and getattr(field, "queryset", None) is not None:
            field.queryset = scoped_choices(request, field.queryset)
        return field


class InlineBaseAdmin(_InlineDefaults, admin.TabularInline):  # type: ignore[type-arg]
    """A tabular inline: ``extra = 0``, ``show_change_link``, timestamps read-only,
    foreign-key choices limited to the user's tenants. Override ``get_queryset`` to narrow
    the rows, ``get_readonly_fields`` to lock more columns."""


class StackedInlineBaseAdmin(_InlineDefaults, admin.StackedInline):  # type: ignore[type-arg]
    """The stacked twin of ``InlineBaseAdmin``, with the same defaults."""


class SearchMixin:
    """Search with ``field:value`` lookups besides the free text of ``search_fields``.

    ``search_lookups`` maps a word the user types to an ORM lookup, e.g.
    ``{"status": "status__iexact", "tenant": "tenant__slug"}``: ``status:active invoice``
    keeps rows whose status is ``active`` and searches ``invoice`` in ``search_fields``.
    A value the field cannot hold (a word for a number) finds nothing; a word that is not
    in ``search_lookups`` is searched as text. Override ``get_search_lookups(request)``.
    """

    search_lookups: ClassVar[dict[str, str]] = {}
    model: type[models.Model]

    def get_search_lookups(self, request: HttpRequest) -> dict[str, str]:
        return dict(self.search_lookups)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        lookups = self.get_search_lookups(request)
        condition, rest = Q(), []
        for word in search_term.split():
            key, sep, value = word.partition(":")
            if sep and value and key.lower() in lookups:
                lookup = lookups[key.lower()]
                if not _accepts(self.model, lookup, value):
                    return queryset.none(), False
                condition &= Q(**{lookup: value})
            else:
                rest.append(word)
        if condition:
            queryset = queryset.filter(condition)
        return super().get_search_results(request, queryset, " ".join(rest))  # type: ignore[misc,no-any-return]


def _accepts(model: type[models.Model], lookup: str, value: str) -> bool:
    """Whether the field at the end of ``lookup`` can hold ``value``."""
    current: Any = model
    field: Any = None
    for part in lookup.split("__"):
        if current is None:
            break
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:
            break
        current = field.related_model
    if field is None or field.is_relation:
        return True
    try:
        field.to_python(value)
    except (ValidationError, TypeError, ValueError):
        return False
    return True


class FilterMixin:
    """List filters generated from the model when the admin names none.

    Boolean fields, fields with ``choices``, foreign keys and date fields become filters
    (in field order), except those in ``auto_filter_exclude``. Foreign-key filters use
    ``relation_filter_class``: a ``TenantScopedAdmin`` lists only the user's tenants' rows
    there. Override ``get_auto_filters(request)`` to choose them yourself.
    """

    auto_filter_exclude: ClassVar[tuple[str, ...]] = ()
    # ``relation_filter_class`` is read from the admin (TenantScopedAdmin sets it), so it
    # is not given a default here, where it would hide the admin's.
    model: type[models.Model]

    def get_auto_filters(self, request: HttpRequest) -> list[Any]:
        filters: list[Any] = []
        for field in self.model._meta.get_fields():
            if field.name in self.auto_filter_exclude or not getattr(field, "concrete", False):
                continue
            if isinstance(field, models.ForeignKey):
                relation = getattr(self, "relation_filter_class", None)
                filters.append((field.name, relation) if relation else field.name)
            elif isinstance(field, models.BooleanField | models.DateField) or getattr(
                field, "choices", None
            ):
                filters.append(field.name)
        return filters

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        declared = list(super().get_list_filter(request))  # type: ignore[misc]
        return declared or self.get_auto_filters(request)


class PermissionMixin:
    """Object-level permissions: change, delete and view of one object ask
    ``has_object_permission(request, obj, action)`` besides the model permission.

    By default an object is the user's to change when ``owner_field`` (a foreign key to the
    user model) names them, or when an object-permission backend (django-guardian…) grants
    ``<app>.<action>_<model>`` on it (``object_permission_backends = True``). Superusers
    pass. Without ``owner_field`` and backends every object passes. Override
    ``has_object_permission`` for your own rule.
    """

    owner_field: ClassVar[str | None] = None
    object_permission_backends: ClassVar[bool] = False
    #: Which actions the owner rule covers; "view" too means others' rows are not opened.
    owner_actions: ClassVar[tuple[str, ...]] = ("change", "delete")
    opts: Any

    def has_object_permission(self, request: HttpRequest, obj: Any, action: str) -> bool:
        user = request.user
        if user.is_superuser:
            return True
        owner = self.owner_field
        if owner and action in self.owner_actions and getattr(obj, f"{owner}_id") != user.pk:
            return False
        if self.object_permission_backends:
            codename = f"{self.opts.app_label}.{action}_{self.opts.model_name}"
            return bool(user.has_perm(codename, obj))
        return True

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_view_permission(request, obj)  # type: ignore[misc]
        return bool(allowed) and (obj is None or self.has_object_permission(request, obj, "view"))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_change_permission(request, obj)  # type: ignore[misc]
        return bool(allowed) and (obj is None or self.has_object_permission(request, obj, "change"))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_delete_permission(request, obj)  # type: ignore[misc]
        return bool(allowed) and (obj is None or self.has_object_permission(request, obj, "delete"))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        # "Delete selected" asks for the model permission only: each row is checked here,
        # and one refused row deletes none.
        for obj in queryset:
            if not self.has_object_permission(request, obj, "delete"):
                raise PermissionDenied
        super().delete_queryset(request, queryset)  # type: ignore[misc]
