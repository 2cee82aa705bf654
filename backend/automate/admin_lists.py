"""Change lists that stay fast when a table holds millions of rows.

``BaseModelAdmin`` and ``TenantScopedAdmin`` (automate.base.admin) build on these, so
every admin of the app:

* counts at most ``COUNT_CAP`` + 1 matching rows (``BoundedCountPaginator``) and never
  counts the whole table a second time (``show_full_result_count = False``); when more
  rows match, the page says it shows the newest ``COUNT_CAP``;
* loads no JSON or binary column it does not show (graphs, payloads, raw bodies), on the
  listed model or on the related rows it joins (``LeanChangeList``);
* offers relation filters whose choices come from the related table, limited to the
  user's tenants (``TenantRelatedFilter``), instead of a ``DISTINCT`` over the listed table.

Admins of the big tables also search by exact values only (``ExactSearchMixin``): an id, a
trace id, a key. Each is one index lookup; a ``LIKE '%term%'`` reads every row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

__all__ = [
    "COUNT_CAP",
    "BoundedCountPaginator",
    "ExactSearchMixin",
    "LeanChangeList",
    "TenantRelatedFilter",
    "heavy_columns",
]

#: A change list counts at most this many rows (then pages through the newest of them):
#: ten pages of 100. Deeper pages are OFFSET scans that read every row before them (page
#: 100 of a tenant's events took 200-300 ms at a million events); filters reach older rows.
COUNT_CAP = 1_000

_HEAVY_FIELDS = (models.JSONField, models.BinaryField)


class BoundedCountPaginator(Paginator):  # type: ignore[type-arg]
    """A paginator whose count reads at most ``count_cap + 1`` rows.

    ``SELECT COUNT(*) FROM (SELECT … LIMIT 1001)`` walks the same index as the page
    itself; an exact ``COUNT(*)`` of a million rows reads them all on every page view.
    """

    count_cap: int = COUNT_CAP
    #: Whether more rows matched than ``count_cap`` (set once ``count`` has been read).
    count_is_bounded: bool = False

    @cached_property
    def count(self) -> int:
        object_list: Any = self.object_list
        if isinstance(object_list, QuerySet):
            found = object_list.order_by()[: self.count_cap + 1].count()
        else:
            found = len(object_list)
        self.count_is_bounded = found > self.count_cap
        return min(found, self.count_cap)


def heavy_columns(
    model: type[models.Model], *, shown: tuple[str, ...] = (), related: tuple[str, ...] = ()
) -> list[str]:
    """The JSON and binary columns of ``model`` (not named in ``shown``) and of the rows
    joined through each ``related`` path (``"workflow_version__workflow"``), as
    ``defer()`` arguments."""
    names = [
        field.name
        for field in model._meta.concrete_fields
        if isinstance(field, _HEAVY_FIELDS) and field.name not in shown
    ]
    for path in related:
        current: Any = model
        prefix: list[str] = []
        for part in path.split("__"):
            try:
                current = current._meta.get_field(part).related_model
            except FieldDoesNotExist:
                current = None
            if current is None:
                break
            prefix.append(part)
            names.extend(
                "__".join([*prefix, field.name])
                for field in current._meta.concrete_fields
                if isinstance(field, _HEAVY_FIELDS)
            )
    return list(dict.fromkeys(names))


class LeanChangeList(ChangeList):
    """A change list that leaves out the JSON and binary columns it does not display."""

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[Any]:
        queryset = super().get_queryset(request, exclude_parameters)
        related = self.list_select_related
        paths = tuple(related) if isinstance(related, list | tuple) else ()
        shown = tuple(name for name in self.list_display if isinstance(name, str))
        deferred = heavy_columns(self.model, shown=shown, related=paths)
        return queryset.defer(*deferred) if deferred else queryset


class TenantRelatedFilter(admin.RelatedFieldListFilter):
    """A relation filter whose choices are the related table's rows of the user's
    tenants (one query on the small related table, no DISTINCT over the listed one)."""

    def field_choices(
        self, field: Any, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str | _StrPromise]]:
        from automate.base.admin.tenancy import scoped_choices

        related = field.related_model
        ordering = self.field_admin_ordering(field, request, model_admin)
        queryset = related._default_manager.all()
        if ordering:
            queryset = queryset.order_by(*ordering)
        deferred = heavy_columns(related)
        if deferred:
            queryset = queryset.defer(*deferred)
        return [(str(obj.pk), str(obj)) for obj in scoped_choices(request, queryset)]


class ExactSearchMixin:
    """Search by exact values of ``exact_search_fields`` only, each an index lookup.

    A field whose type the term cannot be (a word for a UUID or a number, a term longer
    than the column) is left out of the search; a term no field can hold finds nothing.
    """

    exact_search_fields: ClassVar[tuple[str, ...]] = ()
    model: type[models.Model]

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return self.exact_search_fields

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip()
        if not term or not self.exact_search_fields:
            return queryset, False
        condition = Q()
        for name in self.exact_search_fields:
            value = _as_value_of(self.model._meta.get_field(name), term)
            if value is not None:
                condition |= Q(**{name: value})
        if not condition:
            return queryset.none(), False
        return queryset.filter(condition), False


def _as_value_of(field: Any, term: str) -> Any:
    """``term`` as a value of ``field``, or None when the column cannot hold it."""
    if "\x00" in term:
        return None
    try:
        value = field.to_python(term)
        field.run_validators(value)
    except (ValidationError, TypeError, ValueError):
        return None
    return value
