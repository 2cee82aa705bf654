"""The one place the admin limits what a user sees and changes to the user's tenants.

Every admin of the ``automate`` app subclasses ``TenantScopedAdmin``:

* the change list, change, delete and history pages, the autocomplete answers and the
  ``list_filter`` choices show only rows owned by the user's tenants (superusers see all);
* change lists stay fast on big tables (automate.admin_lists): bounded counts, no JSON
  columns they do not show, relation filters read from the related table;
* another tenant's object URL answers 404, the same as an id that does not exist;
* every foreign-key and many-to-many choice offered in a form is limited the same way, so a
  posted id of another tenant's row is refused by the form ("Select a valid choice");
* an action that declares no ``permissions`` needs the model's change permission, and an
  action that declares only ``"view"`` is refused: view-only staff run no action.

The owning tenant of each model comes from ``automate.tenants.scoping.TENANT_PATHS``; an
admin whose model is not listed there must set ``tenant_path`` itself, or the admin
refuses to start.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext

from automate.admin_lists import (
    COUNT_CAP,
    BoundedCountPaginator,
    LeanChangeList,
    TenantRelatedFilter,
)
from automate.tenants.scoping import scope_to_user, tenant_path_of

__all__ = ["TenantScopedAdmin", "scoped_choices"]


def scoped_choices(request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
    """``queryset`` limited to the request user's tenants when its model is tenant-owned."""
    user = request.user
    if user.is_superuser:
        return queryset
    path = tenant_path_of(queryset.model)
    if path is None:
        return queryset
    return scope_to_user(queryset, user, path=path)


def _is_relation_path(model: type[models.Model], path: str) -> bool:
    current: Any = model
    field: Any = None
    for name in path.split("__"):
        if current is None:
            return False
        try:
            field = current._meta.get_field(name)
        except FieldDoesNotExist:
            return False
        current = field.related_model
    return bool(field is not None and field.is_relation)


class TenantScopedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A ModelAdmin whose every query is limited to the request user's tenants."""

    #: The ORM path from the model to its owning Tenant; defaults to TENANT_PATHS.
    tenant_path: ClassVar[str | None] = None
    paginator = BoundedCountPaginator
    show_full_result_count = False

    def __init__(self, model: type[models.Model], admin_site: admin.AdminSite) -> None:
        super().__init__(model, admin_site)
        path = self.tenant_path or tenant_path_of(model)
        if path is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__}: {model._meta.label} has no owning tenant in "
                "automate.tenants.scoping.TENANT_PATHS; add it there or set tenant_path."
            )
        self.scope_path: str = path

    # -- what is listed and found ---------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return scope_to_user(queryset, request.user, path=self.scope_path)

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            # The same answer for another tenant's object as for one that does not exist.
            raise Http404(
                gettext("No %(model)s with id %(id)r.")
                % {"model": self.opts.verbose_name, "id": object_id}
            )
        return obj

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        # A plain related filter lists every row of the related table (every tenant's
        # name, every workflow); TenantRelatedFilter lists the related rows of the user's
        # tenants, read from the related table (a DISTINCT over this one reads every row).
        filters: list[Any] = []
        for item in super().get_list_filter(request):
            if isinstance(item, str) and _is_relation_path(self.model, item):
                filters.append((item, TenantRelatedFilter))
            else:
                filters.append(item)
        return filters

    # -- big tables -----------------------------------------------------------------------

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[LeanChangeList]:
        return LeanChangeList

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None) or {}
        change_list = context.get("cl")
        if change_list is not None and getattr(change_list.paginator, "count_is_bounded", False):
            context["subtitle"] = gettext(
                "More than %(count)s %(items)s match: the pages show the first %(count)s. "
                "Narrow them with a filter or a search."
            ) % {"count": f"{COUNT_CAP:,}", "items": self.opts.verbose_name_plural}
        return response

    # -- choices in forms -----------------------------------------------------------------

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField[Any] | None:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if isinstance(field, forms.ModelChoiceField) and field.queryset is not None:
            field.queryset = scoped_choices(request, field.queryset)
        return field

    def formfield_for_manytomany(
        self, db_field: models.ManyToManyField[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelMultipleChoiceField[Any] | None:
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if isinstance(field, forms.ModelMultipleChoiceField) and field.queryset is not None:
            field.queryset = scoped_choices(request, field.queryset)
        return field

    # -- actions --------------------------------------------------------------------------

    def has_model_change_permission(self, request: HttpRequest) -> bool:
        """The user's ``change_<model>`` permission itself (read-only admins answer False
        to ``has_change_permission`` for everyone, yet keep state-changing actions)."""
        codename = f"{self.opts.app_label}.change_{self.opts.model_name}"
        return bool(request.user.has_perm(codename))

    def get_actions(self, request: HttpRequest, action_location: Any = None) -> dict[str, Any]:
        # Django 6.1 asks per place (the change list, or the change form's actions) and
        # deprecates overrides without action_location; Django 5.2 has no such parameter.
        where = {} if action_location is None else {"action_location": action_location}
        actions = super().get_actions(request, **where)
        allowed: dict[str, Any] = {}
        for name, entry in actions.items():
            if entry is None:
                continue
            # Django 6.1 gives an Action (its tuple indexes are deprecated); 5.2 a tuple.
            func = getattr(entry, "func", None) or entry[0]
            needs = set(getattr(func, "allowed_permissions", ()))
            if needs <= {"view"} and not self.has_model_change_permission(request):
                continue  # no permission declared, or only "view": it needs "change"
            allowed[name] = entry
        return allowed
