"""``TenantScopedAdmin``: the one place the admin limits what a user sees and changes to
the user's tenants.

* the change list, change, delete and history pages, the autocomplete answers and the
  ``list_filter`` choices show only rows owned by the user's tenants (superusers see all);
* another tenant's object URL answers 404, the same as an id that does not exist;
* every foreign-key and many-to-many choice offered in a form is limited the same way, so a
  posted id of another tenant's row is refused by the form ("Select a valid choice"), and
  ``save_model`` refuses an object that would belong to a tenant not the user's;
* an action that declares no ``permissions`` needs the model's change permission, and an
  action that declares only ``"view"`` is refused: view-only staff run no action.

The owning tenant comes from ``tenant_field`` (or its older name ``tenant_path``), an ORM
path from the model to ``automate.Tenant`` (``"tenant"``, ``"project__tenant"``); models
of the ``automate`` app default to ``automate.tenants.scoping.TENANT_PATHS``. An admin
whose model has neither refuses to start (``ImproperlyConfigured``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils.translation import gettext

from automate.admin_lists import TenantRelatedFilter
from automate.base.admin.core import BaseModelAdmin
from automate.base.admin.places import action_place
from automate.tenants.scoping import owning_tenant_id, scope_to_user, tenant_path_of

__all__ = ["TenantScopedAdmin", "scoped_choices"]


def scoped_choices(request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
    """``queryset`` limited to the request user's tenants when its model is tenant-owned
    (listed in ``TENANT_PATHS``, or registered on the admin site with a ``tenant_field``).

    A choice only needs its label: JSON columns (a workflow's draft graph, an event's
    payload) are never read for a select's options, however many rows it lists."""
    fields = queryset.model._meta.concrete_fields
    heavy = [f.name for f in fields if isinstance(f, models.JSONField)]
    if heavy:
        queryset = queryset.defer(*heavy)
    user = request.user
    if user.is_superuser:
        return queryset
    path = tenant_path_of(queryset.model) or _registered_tenant_field(queryset.model)
    if path is None:
        return queryset
    return scope_to_user(queryset, user, path=path)


def _registered_tenant_field(model: type[models.Model]) -> str | None:
    """The ``tenant_field`` of a scoped admin registered for ``model`` on the default site
    (so a host project's own models are limited in other admins' choices too)."""
    registered = admin.site._registry.get(model)
    return getattr(registered, "scope_path", None)


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


class TenantScopedAdmin(BaseModelAdmin):
    """A ``BaseModelAdmin`` whose every query is limited to the request user's tenants.

    Override points: ``tenant_field`` (the ORM path to the owning tenant),
    ``get_queryset(request)`` (call ``super()`` first: the rows are already scoped),
    ``formfield_for_foreignkey`` (choices arrive scoped), ``has_model_change_permission``.
    """

    #: The ORM path from the model to its owning ``automate.Tenant``.
    tenant_field: ClassVar[str | None] = None
    #: The older name of ``tenant_field`` (either may be set).
    tenant_path: ClassVar[str | None] = None
    relation_filter_class: ClassVar[type[admin.ListFilter] | None] = TenantRelatedFilter

    def __init__(self, model: type[models.Model], admin_site: admin.AdminSite) -> None:
        super().__init__(model, admin_site)
        path = self.tenant_field or self.tenant_path or tenant_path_of(model)
        if path is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__}: {model._meta.label} has no owning tenant in "
                "automate.tenants.scoping.TENANT_PATHS; set tenant_field on the admin."
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

    # -- choices in forms and what is saved -----------------------------------------------

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

    def check_tenant(self, request: HttpRequest, obj: Any) -> None:
        """Raise ``PermissionDenied`` when ``obj`` would belong to a tenant that is not the
        user's (a form with scoped choices already refuses it; this holds for code paths
        that build objects themselves: imports, custom views)."""
        from automate.tenants.queries import tenant_ids_for

        ids = tenant_ids_for(request.user)
        if ids is None or (self.scope_path == "pk" and obj.pk is None):
            return
        if owning_tenant_id(obj, self.scope_path) not in ids:
            raise PermissionDenied(gettext("That tenant is not one of yours."))

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        self.check_tenant(request, obj)
        super().save_model(request, obj, form, change)

    # -- actions --------------------------------------------------------------------------

    def has_model_change_permission(self, request: HttpRequest) -> bool:
        """The user's ``change_<model>`` permission itself (read-only admins answer False
        to ``has_change_permission`` for everyone, yet keep state-changing actions)."""
        codename = f"{self.opts.app_label}.change_{self.opts.model_name}"
        return bool(request.user.has_perm(codename))

    def get_actions(self, request: HttpRequest, action_location: Any = None) -> dict[str, Any]:
        actions = super().get_actions(request, **action_place(action_location))
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
