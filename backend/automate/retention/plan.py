"""Which rows are past retention: one ``Stream`` per ordered walk of one table.

A stream's rows are walked oldest first along an index that ends in ``(created_at, id)``,
so a batch reads only the rows it deletes (plus the few it must keep):

* runs of workflows with their own ``retention_days``: one stream per version, along
  ``automate_run_version_time`` (workflow_version, created_at, id);
* every other run: along ``automate_run_time`` (created_at, id), past ``runs_days``;
* events past ``events_days``, raw webhook bodies past ``raw_body_days`` and audit
  entries past ``audit_days``, each along its table's time index.

Kept whatever their age: runs not finished (pending, running), runs with an outbox job not
finished (PENDING, CLAIMED), and events that a kept run refers to or whose own job is not
finished. Kept for ``dead_letter_days`` (when longer than their own retention): runs and
events with a dead-lettered job (FAILED, DEAD), which can still be replayed; a cancelled
run's dead letters cannot, and keep nothing. Every step that fails for good leaves a FAILED
job, so "until replayed" would keep every failed run for ever.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from automate import conf
from automate.events.models import Event
from automate.execution.models import ExecutionRun, OutboxJob
from automate.governance.models import AuditLogEntry
from automate.workflows.models import Workflow, WorkflowVersion

#: The tables a prune walks, in the order it walks them (runs before the events they hold).
TABLES = ("runs", "events", "raw bodies", "audit entries")
Table = Literal["runs", "events", "raw bodies", "audit entries"]

FINISHED = (
    ExecutionRun.Status.SUCCEEDED,
    ExecutionRun.Status.FAILED,
    ExecutionRun.Status.CANCELLED,
)
NOT_DONE = (OutboxJob.Status.PENDING, OutboxJob.Status.CLAIMED)
DEAD_LETTER = (OutboxJob.Status.FAILED, OutboxJob.Status.DEAD)


@dataclass(frozen=True)
class Stream:
    """Rows of one table past retention (``rows``, unordered); ``clear`` clears raw bodies
    instead of deleting rows."""

    table: Table
    rows: QuerySet[Any] = field(compare=False)
    cutoff: datetime
    clear: bool = False


@dataclass(frozen=True)
class Cutoffs:
    """Everything created before these moments is past retention (``now`` minus the days)."""

    runs: datetime
    events: datetime
    raw_bodies: datetime
    audit: datetime
    dead_letters: datetime
    now: datetime

    @classmethod
    def at(cls, now: datetime | None = None) -> Cutoffs:
        now = now or timezone.now()

        def days(key: str) -> datetime:
            return now - timedelta(days=conf.get("RETENTION", key))

        return cls(
            runs=days("runs_days"),
            events=days("events_days"),
            raw_bodies=days("raw_body_days"),
            audit=days("audit_days"),
            dead_letters=days("dead_letter_days"),
            now=now,
        )


def prunable_runs(cutoff: datetime, dead_letters: datetime) -> QuerySet[ExecutionRun]:
    """Runs created and finished before ``cutoff`` that nothing still needs (a dead letter:
    until ``dead_letters``)."""
    jobs = OutboxJob.objects.filter(run=OuterRef("pk"))
    return (
        ExecutionRun.objects.filter(
            created_at__lt=cutoff, finished_at__lt=cutoff, status__in=FINISHED
        )
        .filter(~Exists(jobs.filter(status__in=NOT_DONE)))
        # A cancelled run's dead letters cannot be replayed (execution.services.replay_job).
        .filter(
            Q(status=ExecutionRun.Status.CANCELLED)
            | Q(created_at__lt=dead_letters)
            | ~Exists(jobs.filter(status__in=DEAD_LETTER))
        )
    )


def _needed_events(dead_letters: datetime) -> Q:
    """Events whose own job still needs them (a filter to exclude)."""
    jobs = OutboxJob.objects.filter(event=OuterRef("pk"))
    return Q(Exists(jobs.filter(status__in=NOT_DONE))) | (
        Q(created_at__gte=dead_letters) & Q(Exists(jobs.filter(status__in=DEAD_LETTER)))
    )


def prunable_events(cutoff: datetime, dead_letters: datetime) -> QuerySet[Event]:
    """Events before ``cutoff`` that no run refers to and whose jobs are all done (a dead
    letter: until ``dead_letters``)."""
    return (
        Event.objects.filter(created_at__lt=cutoff)
        .filter(~Exists(ExecutionRun.objects.filter(event=OuterRef("pk"))))
        .exclude(_needed_events(dead_letters))
    )


def events_freed_by(
    run_streams: list[Stream], cutoff: datetime, dead_letters: datetime
) -> QuerySet[Event]:
    """The events a prune would delete once ``run_streams`` are gone (for a dry run's count:
    an event whose runs all go, goes too)."""
    going = Q(pk__in=[])
    for stream in run_streams:
        going |= Q(pk__in=stream.rows.values("pk"))
    kept_runs = ExecutionRun.objects.filter(event=OuterRef("pk")).exclude(going)
    return (
        Event.objects.filter(created_at__lt=cutoff)
        .filter(~Exists(kept_runs))
        .exclude(_needed_events(dead_letters))
    )


def run_streams(cutoffs: Cutoffs) -> list[Stream]:
    """The runs past retention: per version of each workflow with its own retention, then
    the rest past ``runs_days``."""
    streams: list[Stream] = []
    own = Workflow.objects.filter(retention_days__isnull=False)
    versions = WorkflowVersion.objects.filter(workflow__in=own).order_by("workflow_id", "pk")
    for version_id, days in versions.values_list("pk", "workflow__retention_days"):
        cutoff = cutoffs.now - timedelta(days=days or 0)  # never 0: the filter above
        streams.append(
            Stream(
                "runs",
                prunable_runs(cutoff, cutoffs.dead_letters).filter(workflow_version_id=version_id),
                cutoff,
            )
        )
    others = prunable_runs(cutoffs.runs, cutoffs.dead_letters).exclude(
        workflow_version_id__in=WorkflowVersion.objects.filter(workflow__in=own).values("pk")
    )
    streams.append(Stream("runs", others, cutoffs.runs))
    return streams


def streams(cutoffs: Cutoffs) -> list[Stream]:
    """Every stream of a prune, in the order of ``TABLES``."""
    return [
        *run_streams(cutoffs),
        Stream("events", prunable_events(cutoffs.events, cutoffs.dead_letters), cutoffs.events),
        Stream(
            "raw bodies",
            Event.objects.filter(raw_body__isnull=False, created_at__lt=cutoffs.raw_bodies),
            cutoffs.raw_bodies,
            clear=True,
        ),
        Stream(
            "audit entries",
            AuditLogEntry.objects.filter(created_at__lt=cutoffs.audit),
            cutoffs.audit,
        ),
    ]
