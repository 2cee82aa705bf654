from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class OutboxJob(models.Model):
    """A unit of work written in the same transaction as the state change that needs it.

    Workers claim jobs with a lease; a job whose lease expires is returned by the reaper.
    """

    class Status(models.TextChoices):
        PENDING = "PENDING"
        CLAIMED = "CLAIMED"
        COMPLETED = "COMPLETED"
        FAILED = "FAILED"
        DEAD = "DEAD"

    class Kind(models.TextChoices):
        EVENT = "event", _("match an event to workflows")
        STEP = "step", _("run one step of a run")

    id = models.BigAutoField(primary_key=True)
    # The foreign keys get no index of their own: the (partial) indexes below lead with them
    # where a query needs one, and a big table pays for every index on every write.
    tenant = models.ForeignKey(
        "automate.Tenant", on_delete=models.CASCADE, related_name="outbox_jobs", db_index=False
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    event = models.ForeignKey(
        "automate.Event",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="jobs",
        db_index=False,
    )
    run = models.ForeignKey(
        "automate.ExecutionRun",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="jobs",
        db_index=False,
    )
    node_id = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    # ``attempts`` is the step's retry budget (the claim charges one); a claim lost without
    # an outcome (its worker died, its lease ran out) is refunded and counted apart, so
    # deaths the job did not cause never shorten its step's retries (``execution.reaper``).
    attempts = models.PositiveIntegerField(
        default=0,
        help_text=_(
            "Claims that ran to an outcome (the one running now included); retries stop at "
            "the maximum."
        ),
    )
    max_attempts = models.PositiveIntegerField(default=4)
    lost_claims = models.PositiveIntegerField(
        default=0,
        help_text=_(
            "Claims lost without an outcome: the worker died or its lease ran out. They do not "
            "count as attempts; after too many the job is given up."
        ),
    )
    # The number of the claim that holds the job (each claim adds one; never reset, not
    # even by a replay): every write made under a claim checks it, so a write of an earlier
    # claim changes nothing, even when the same worker holds the job again
    # (``execution.store``).
    claims = models.PositiveIntegerField(
        default=0,
        help_text=_(
            "Times the job was claimed. Each claim's number fences the writes made under it: "
            "a worker still busy with an earlier claim writes nothing."
        ),
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    locked_by = models.CharField(max_length=100, blank=True)
    last_error = models.TextField(blank=True)
    trace_id = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("outbox job")
        verbose_name_plural = _("outbox jobs")
        ordering = ["id"]
        # Almost every job is COMPLETED; the queries that must be fast look at the few that
        # are not, so their indexes are partial and stay small however big the table grows.
        indexes = [
            # The claim: PENDING jobs, step jobs before event jobs, each oldest first (the
            # claim reads one kind at a time along this index: see ``execution.store``).
            models.Index(
                fields=["kind", "id"],
                name="automate_outbox_pending",
                condition=Q(status="PENDING"),
            ),
            # The reaper: CLAIMED jobs whose lease ran out.
            models.Index(
                fields=["lease_expires_at"],
                name="automate_outbox_lease",
                condition=Q(status="CLAIMED"),
            ),
            # Dead letters, newest first (the explorer's tab and its count).
            models.Index(
                fields=["updated_at", "id"],
                name="automate_outbox_dead",
                condition=Q(status__in=["FAILED", "DEAD"]),
            ),
            # A run's jobs (cancel, resume, the run page); an event's jobs (cascade, prune).
            models.Index(
                fields=["run", "status"],
                name="automate_outbox_run_status",
                condition=Q(run__isnull=False),
            ),
            models.Index(
                fields=["event"], name="automate_outbox_event", condition=Q(event__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} job #{self.id} ({self.status})"


class WorkerProcess(models.Model):
    """A running worker process (or embedded worker thread), seen alive through heartbeats.

    A worker writes its row when it starts and refreshes ``last_heartbeat_at`` every few
    seconds from a thread of its own, whatever its steps are doing. When the heartbeat is
    older than ``EXECUTION["worker_timeout_seconds"]`` the worker is taken for dead and any
    worker's reaper gives its claimed jobs back at once, without waiting for their leases
    (which stay long, so a slow step of a live worker is never taken from it).
    """

    worker_id = models.CharField(max_length=100, primary_key=True)
    hostname = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    concurrency = models.PositiveIntegerField(default=1)
    started_at = models.DateTimeField()
    last_heartbeat_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("worker process")
        verbose_name_plural = _("worker processes")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return self.worker_id


class ExecutionRun(models.Model):
    """One run of one WorkflowVersion for one Event: a state machine."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of their own: each leads a composite index or the unique constraint below.
    tenant = models.ForeignKey(
        "automate.Tenant", on_delete=models.PROTECT, related_name="runs", db_index=False
    )
    workflow_version = models.ForeignKey(
        "automate.WorkflowVersion", on_delete=models.PROTECT, related_name="runs", db_index=False
    )
    # One run per (event, version): the unique constraint below is the idempotency key.
    event = models.ForeignKey(
        "automate.Event", on_delete=models.PROTECT, related_name="runs", db_index=False
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    trace_id = models.CharField(max_length=32)
    outputs = models.JSONField(default=dict, blank=True, help_text=_("Redacted before write."))
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("execution run")
        verbose_name_plural = _("execution runs")
        # Lists page by (created_at, id), newest first: every list index ends in both.
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "workflow_version"], name="automate_run_once_per_event_version"
            )
        ]
        indexes = [
            models.Index(fields=["created_at", "id"], name="automate_run_time"),
            models.Index(fields=["tenant", "created_at", "id"], name="automate_run_tenant_time"),
            models.Index(
                fields=["workflow_version", "created_at", "id"], name="automate_run_version_time"
            ),
            # Most runs succeed: a filter on "succeeded" walks automate_run_time; the other
            # statuses are a small share and get their own small index.
            models.Index(
                fields=["status", "created_at", "id"],
                name="automate_run_status_time",
                condition=~Q(status="succeeded"),
            ),
            models.Index(fields=["trace_id"], name="automate_run_trace"),
        ]
        permissions = [
            ("operate_run", "Can retry, resume and cancel runs and replay dead-lettered jobs")
        ]

    def __str__(self) -> str:
        return f"run {self.id} ({self.status})"


class StepRun(models.Model):
    """One attempt at one node of a run, with its rendered inputs and redacted outputs."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        RETRYING = "retrying"
        SKIPPED = "skipped"
        CANCELLED = "cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by the unique constraint (run, node_id, attempt), which leads with it.
    run = models.ForeignKey(
        ExecutionRun, on_delete=models.CASCADE, related_name="steps", db_index=False
    )
    node_id = models.CharField(max_length=100)
    attempt = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    inputs = models.JSONField(default=dict, blank=True, help_text=_("Rendered, redacted."))
    outputs = models.JSONField(default=dict, blank=True, help_text=_("Redacted before write."))
    error = models.TextField(blank=True)
    error_type = models.CharField(max_length=200, blank=True)
    traceback = models.TextField(blank=True, help_text=_("Redacted stack of the failure."))
    # False once a resume re-runs this node: the run's state is read from current steps only.
    is_current = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("step run")
        verbose_name_plural = _("step runs")
        ordering = ["run", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "node_id", "attempt"], name="automate_step_once_per_attempt"
            )
        ]

    def __str__(self) -> str:
        return f"{self.node_id} #{self.attempt} ({self.status})"
