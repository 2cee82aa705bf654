from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RunFailure(models.Model):
    """What was done about one failed run: the error workflow's run (or why none started)
    and the failure notification's delivery. At most one per run (unique), so a run that
    fails again after a retry, or a worker that redoes the transaction, adds nothing."""

    class Notice(models.TextChoices):
        NONE = "none", _("no notification set")
        PENDING = "pending", _("waiting to be sent (or tried again)")
        SENDING = "sending", _("being sent")
        SENT = "sent", _("sent")
        FAILED = "failed", _("could not be sent")
        SUPPRESSED = "suppressed", _("not sent: quiet period")

    tenant = models.ForeignKey(
        "automate.Tenant", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    run = models.OneToOneField(
        "automate.ExecutionRun", on_delete=models.CASCADE, related_name="failure"
    )
    # Indexed by (workflow, created_at) below: the quiet period looks back along it.
    workflow = models.ForeignKey(
        "automate.Workflow", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    error_run = models.ForeignKey(
        "automate.ExecutionRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="handled_failure",
        help_text=_("The error workflow's run started for this failure."),
    )
    error_workflow_note = models.CharField(
        max_length=300,
        blank=True,
        help_text=_("Why no error workflow run started, when one was set."),
    )
    notice_status = models.CharField(max_length=12, choices=Notice.choices, default=Notice.NONE)
    notice_attempts = models.PositiveIntegerField(default=0)
    # When a pending notice is due (or a sending one's lease runs out).
    notice_due_at = models.DateTimeField(null=True, blank=True)
    # The channels ("slack", "email") that got the message: a retry skips them.
    notice_channels_sent = models.JSONField(default=list, blank=True)
    notice_error = models.TextField(blank=True, help_text=_("Redacted."))
    notice_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("run failure")
        verbose_name_plural = _("run failures")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["workflow", "created_at"], name="automate_failure_wf_time"),
            models.Index(
                fields=["notice_due_at"],
                name="automate_failure_notice_due",
                condition=Q(notice_status__in=["pending", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"failure of run {self.run_id}"
