"""Admin for what starts workflows besides events: webhook endpoints and schedule state.

Both are ``TenantScopedAdmin``: staff see and edit only their tenants' endpoints, and the
tenant of a new endpoint can only be one of theirs. Endpoints are edited by people, so
their adds, changes and deletes are audited (``AuditMixin``), and the list exports the
selected endpoints as CSV or JSON (``ExportMixin``). An endpoint names its signing secret
(``secret_name``); the value is never stored on it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from automate.base.admin import AuditMixin, ExportMixin, TenantScopedAdmin
from automate.triggers.models import ScheduleState, WebhookEndpoint

__all__ = ["ScheduleStateAdmin", "WebhookEndpointAdmin"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(AuditMixin, ExportMixin, TenantScopedAdmin):
    list_display = ["__str__", "name", "tenant", "scheme", "is_active", "created_at"]
    list_select_related = ["tenant"]
    list_filter = ["scheme", "is_active", "tenant"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    # Not the signing secret's name: the export is redacted, and a name like that is masked.
    export_fields = (
        "id",
        "tenant",
        "slug",
        "name",
        "scheme",
        "event_type",
        "is_active",
        "created_at",
    )


@admin.register(ScheduleState)
class ScheduleStateAdmin(TenantScopedAdmin):
    """When each scheduled workflow last fired (written by the schedule ticker only)."""

    list_display = ["workflow", "last_tick_at", "updated_at"]
    list_select_related = ["workflow"]
    readonly_fields = ["workflow", "last_tick_at", "updated_at"]
    fields = tuple(readonly_fields)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
