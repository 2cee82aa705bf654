"""Admin for the running workers (``WorkerProcess``): which worker processes and embedded
worker threads are alive, where, and since when.

Read-only (the workers write their own rows: automate.execution.liveness) and not
tenant-scoped: the rows belong to the installation, not to a tenant
(``automate.tenants.scoping.OPERATOR_MODELS``), so the list is shown whole to superusers
and to staff given ``automate.view_workerprocess``, and to nobody else. A worker is alive
while its heartbeat is younger than ``EXECUTION["worker_timeout_seconds"]`` (by the
database's clock); a dead worker's row stays an hour, then the reaper deletes it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import BooleanField, ExpressionWrapper, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext, gettext_lazy, ngettext

from automate.execution.liveness import alive_condition
from automate.execution.models import WorkerProcess

__all__ = ["WorkerProcessAdmin"]


class AliveFilter(admin.SimpleListFilter):
    """Alive or dead workers, by the same rule as the reaper's."""

    title = gettext_lazy("alive")
    parameter_name = "alive"

    def lookups(
        self,
        request: HttpRequest,
        model_admin: admin.ModelAdmin,  # type: ignore[type-arg]
    ) -> list[tuple[str, Any]]:
        return [("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[WorkerProcess]
    ) -> QuerySet[WorkerProcess]:
        if self.value() == "yes":
            return queryset.filter(alive_condition())
        if self.value() == "no":
            return queryset.exclude(alive_condition())
        return queryset


@admin.register(WorkerProcess)
class WorkerProcessAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    shown = ("worker_id", "hostname", "pid", "concurrency", "started_at", "last_heartbeat_at")
    # What an operator looks for first (alive? beating?) leads, so it shows at 1280 px.
    list_display = [
        "worker_id",
        "alive",
        "last_heartbeat",
        "started_at",
        "concurrency",
        "hostname",
        "pid",
    ]
    list_filter = [AliveFilter, "hostname"]
    search_fields = ["worker_id", "hostname"]
    readonly_fields = [*shown, "alive"]
    fields = (*shown, "alive")

    def get_queryset(self, request: HttpRequest) -> QuerySet[WorkerProcess]:
        alive = ExpressionWrapper(alive_condition(), output_field=BooleanField())
        queryset: QuerySet[WorkerProcess] = super().get_queryset(request)
        return queryset.annotate(is_alive=alive)

    @admin.display(description=gettext_lazy("alive"), boolean=True, ordering="-last_heartbeat_at")
    def alive(self, obj: WorkerProcess) -> bool:
        return bool(getattr(obj, "is_alive", False))

    @admin.display(description=gettext_lazy("last heartbeat"), ordering="-last_heartbeat_at")
    def last_heartbeat(self, obj: WorkerProcess) -> str:
        """How long ago: seconds under a minute (heartbeats come every few seconds), then
        Django's ``timesince``; the exact time is on the worker's page."""
        seconds = int((timezone.now() - obj.last_heartbeat_at).total_seconds())
        if seconds < 60:
            return ngettext("%(n)d second ago", "%(n)d seconds ago", max(seconds, 0)) % {
                "n": max(seconds, 0)
            }
        return gettext("%(age)s ago") % {"age": timesince(obj.last_heartbeat_at)}

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A live worker writes its row again on its next beat; the reaper forgets dead ones.
        return False
