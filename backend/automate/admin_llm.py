"""Admin for the LLM spend ledger: one row per call and one total per tenant and day.

Read-only (the budget code writes both) and scoped to the user's tenants, so a tenant's
staff see their own spend and nobody else's.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from automate.admin_lists import ExactSearchMixin
from automate.base.admin import TenantScopedAdmin
from automate.governance.models import LLMBudgetDay, LLMUsage

__all__ = ["LLMBudgetDayAdmin", "LLMUsageAdmin"]


class _LedgerAdmin(TenantScopedAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LLMUsage)
class LLMUsageAdmin(ExactSearchMixin, _LedgerAdmin):
    list_display = ["created_at", "tenant", "provider", "model", "cost_usd", "run_id"]
    list_select_related = ["tenant"]
    # Dates as fixed ranges: a `day` filter or date drill-down is a DISTINCT over the ledger.
    list_filter = ["tenant", "provider", "created_at"]
    exact_search_fields = ("run_id", "trace_id", "model")
    search_help_text = gettext_lazy("An exact run id, trace id or model name.")


@admin.register(LLMBudgetDay)
class LLMBudgetDayAdmin(_LedgerAdmin):
    list_display = ["day", "tenant", "spent_usd", "calls"]
    list_select_related = ["tenant"]
    list_filter = ["tenant"]
    date_hierarchy = "day"
