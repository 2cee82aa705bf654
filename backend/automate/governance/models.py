from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from automate.events.models import ImmutableRecordError


class AuditLogEntry(models.Model):
    """Who did what to which resource, and when. Immutable; details are redacted on write."""

    tenant = models.ForeignKey(
        "automate.Tenant", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Kept as text too, so the entry still says who it was after the user is deleted.
    actor_repr = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=100)
    resource_type = models.CharField(max_length=100)
    resource_id = models.CharField(max_length=100, blank=True)
    details = models.JSONField(default=dict, blank=True)
    trace_id = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log entries")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["resource_type", "resource_id"], name="automate_audit_resource"),
            models.Index(fields=["created_at", "id"], name="automate_audit_time"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.actor_repr or 'system'} {self.action} {self.resource_type}:{self.resource_id}"
        )

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableRecordError("Audit log entries are immutable.")
        from automate.governance.redaction import redact

        self.details = redact(self.details)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableRecordError("Audit log entries cannot be deleted.")


class StoredSecret(models.Model):
    """A secret kept in the database, encrypted at rest (the ``db`` secrets backend).

    Only ``ciphertext`` is stored; the value is never shown again after it is saved. Each
    secret belongs to one tenant, and only that tenant's workflows can resolve it; two
    tenants may each have a secret of the same name.
    """

    tenant = models.ForeignKey(
        "automate.Tenant", on_delete=models.PROTECT, related_name="stored_secrets"
    )
    name = models.CharField(max_length=128)
    ciphertext = models.TextField(editable=False)
    description = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("stored secret")
        verbose_name_plural = _("stored secrets")
        ordering = ["tenant", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="automate_secret_tenant_name")
        ]

    def __str__(self) -> str:
        return self.name


class LLMBudgetDay(models.Model):
    """What a tenant spent on LLM calls on one (UTC) day; the budget check locks this row."""

    tenant = models.ForeignKey("automate.Tenant", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    spent_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("llm budget day")
        verbose_name_plural = _("llm budget days")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "day"], name="automate_llm_budget_day")
        ]

    def __str__(self) -> str:
        return f"{self.tenant} {self.day}: ${self.spent_usd}"


class LLMUsage(models.Model):
    """One LLM call's recorded usage, from the provider's token counts."""

    tenant = models.ForeignKey("automate.Tenant", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    provider = models.CharField(max_length=50, default="openai")
    model = models.CharField(max_length=100)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    run_id = models.CharField(max_length=64, blank=True)
    node_id = models.CharField(max_length=100, blank=True)
    trace_id = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("llm usage")
        verbose_name_plural = _("llm usages")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "day"], name="automate_llm_usage_day")]

    def __str__(self) -> str:
        return f"{self.model}: ${self.cost_usd}"


class RateLimitWindow(models.Model):
    """A fixed-window counter shared by every process (webhook rate limits)."""

    key = models.CharField(max_length=200)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("rate limit window")
        verbose_name_plural = _("rate limit windows")
        constraints = [
            models.UniqueConstraint(
                fields=["key", "window_start"], name="automate_ratelimit_window"
            )
        ]

    def __str__(self) -> str:
        return f"{self.key}@{self.window_start:%H:%M}: {self.count}"
