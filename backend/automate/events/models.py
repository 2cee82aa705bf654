from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from automate.exceptions import AutomateError


class ImmutableRecordError(AutomateError):
    """An immutable record (event, audit entry, published version) cannot be changed."""

    code = "immutable_record"
    http_status = 409


class Event(models.Model):
    """Something that happened: immutable once written."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by (tenant, type, created_at) below, which leads with it.
    tenant = models.ForeignKey(
        "automate.Tenant", on_delete=models.PROTECT, related_name="events", db_index=False
    )
    type = models.CharField(max_length=200)
    source = models.CharField(max_length=100, default="api")
    payload = models.JSONField(default=dict)
    # NULL (not "") means "no key": the unique constraint below only covers real keys.
    dedupe_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    trace_id = models.CharField(max_length=32)
    # The raw HTTP body of an inbound webhook, unredacted: stored only when
    # EVENTS["keep_raw_body"] is on, cleared by automate_prune after RETENTION["raw_body_days"],
    # shown only to users with automate.view_raw_payload.
    raw_body = models.BinaryField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "type", "created_at"], name="automate_event_type_time"),
            models.Index(fields=["trace_id"], name="automate_event_trace"),
            models.Index(fields=["created_at", "id"], name="automate_event_time"),
            # Raw bodies still kept (none unless EVENTS["keep_raw_body"]): for their retention.
            models.Index(
                fields=["created_at"],
                name="automate_event_raw_body",
                condition=models.Q(raw_body__isnull=False),
            ),
        ]
        constraints = [
            # dedupe_key first, so a search by key alone uses it too.
            models.UniqueConstraint(
                fields=["dedupe_key", "tenant"],
                condition=models.Q(dedupe_key__isnull=False),
                name="automate_event_unique_dedupe_key",
            )
        ]
        permissions = [("view_raw_payload", _("Can view raw (unredacted) event payloads"))]

    def __str__(self) -> str:
        return f"{self.type} ({self.id})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableRecordError("Events are immutable once written.")
        super().save(*args, **kwargs)
