from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

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
        ordering = ["-created_at"]
        verbose_name_plural = "audit log entries"
        indexes = [
            models.Index(fields=["resource_type", "resource_id"], name="automate_audit_resource"),
            models.Index(fields=["created_at"], name="automate_audit_time"),
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
