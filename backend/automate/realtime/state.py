"""The state of a run as the live explorer shows it: statuses, ids, timings, error messages.

A *frame* never carries step inputs or outputs, event payloads or run outputs (those are
fetched through the studio's HTMX panel, redacted): only what a status board needs. Error
messages are stored redacted and are redacted again here, in case a connector's message
slipped past.

Every frame carries ``seq``, the run's frame number from a database counter
(``automate.realtime.sequence``): a published change advances it, a snapshot does not.
A higher ``seq`` never shows an older state; consecutive published frames of a run have
consecutive numbers, so a client that sees a gap knows it missed one and resyncs.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Count, QuerySet

from automate.execution.models import ExecutionRun, OutboxJob, StepRun
from automate.governance.models import AuditLogEntry
from automate.governance.redaction import redact_text
from automate.realtime.sequence import advance as advance_seq
from automate.realtime.sequence import current_seq, current_seqs
from automate.realtime.stories import (
    NOT_RUN_MARKERS,
    Attempt,
    Cancellation,
    run_note,
    step_note,
)

_ACTIVE_JOB = (OutboxJob.Status.PENDING, OutboxJob.Status.CLAIMED)


def run_group(run_id: object) -> str:
    """The channel group of one run's watchers."""
    return f"run.{run_id}"


def tenant_group(tenant_id: object) -> str:
    """The channel group of the runs list of one tenant."""
    return f"runs.tenant.{tenant_id}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _duration_ms(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return max(0, int((end - start).total_seconds() * 1000))


#: The columns ``run_summary`` reads: no JSON document (run outputs, graphs, payloads) and
#: no raw body is loaded for a list of runs.
RUN_SUMMARY_FIELDS = (
    "tenant",
    "status",
    "trace_id",
    "error",
    "created_at",
    "started_at",
    "finished_at",
    "workflow_version__version_num",
    "workflow_version__workflow__name",
    "event__type",
    "event__source",
)


#: What the run page reads besides a summary: the graph, and what its retry, resume and
#: re-run buttons say (the workflow's live version, whether it is switched on).
RUN_PAGE_FIELDS = (
    "workflow_version__graph",
    "workflow_version__workflow__is_active",
    "workflow_version__workflow__live_version__version_num",
)


def runs_with_details(*, graph: bool = False) -> QuerySet[ExecutionRun]:
    """Runs with what a summary needs (and, with ``graph``, what the run page needs), in
    one query."""
    if not graph:
        return ExecutionRun.objects.select_related("workflow_version__workflow", "event").only(
            *RUN_SUMMARY_FIELDS
        )
    return ExecutionRun.objects.select_related(
        "workflow_version__workflow__live_version", "event"
    ).only(*RUN_SUMMARY_FIELDS, *RUN_PAGE_FIELDS)


def run_summary(run: ExecutionRun) -> dict[str, Any]:
    """One row of the runs list (load with ``runs_with_details``)."""
    version = run.workflow_version
    return {
        "id": str(run.pk),
        "status": run.status,
        "tenant_id": run.tenant_id,
        "workflow_id": version.workflow_id,
        "workflow": version.workflow.name,
        "version": version.version_num,
        "event_type": run.event.type,
        "event_source": run.event.source,
        "trace_id": run.trace_id,
        "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "duration_ms": _duration_ms(run.started_at, run.finished_at),
        "error": redact_text(run.error),
    }


def step_summary(step: StepRun, attempts: int) -> dict[str, Any]:
    """The status board entry of a node: its latest current StepRun."""
    return {
        "id": str(step.pk),
        "node_id": step.node_id,
        "status": step.status,
        "attempt": step.attempt,
        "attempts": attempts,
        "started_at": _iso(step.started_at),
        "finished_at": _iso(step.finished_at),
        "duration_ms": step.duration_ms,
        "error": redact_text(step.error),
    }


def cancellation_of(run: ExecutionRun) -> Cancellation | None:
    """Who cancelled ``run`` and when (its ``run.cancel`` audit entry), if it was."""
    if run.status != ExecutionRun.Status.CANCELLED:
        return None
    entry = (
        AuditLogEntry.objects.filter(
            resource_type="execution_run", resource_id=str(run.pk), action="run.cancel"
        )
        .order_by("-created_at")
        .only("actor_repr", "created_at")
        .first()
    )
    if entry is None:
        return Cancellation(by="", at=run.finished_at)
    return Cancellation(by=entry.actor_repr, at=entry.created_at)


def current_steps(run: ExecutionRun, cancel: Cancellation | None = None) -> list[dict[str, Any]]:
    """Each node's latest current StepRun, in the order the nodes first ran, with the
    sentence that says what happened to it (``stories.step_note``).

    ``queued`` is true for a node with a job waiting or running (a replayed step before
    the worker picks it up), so the explorer can show it as pending rather than failed.
    ``attempts`` counts the attempts made (the engine's "not run" markers are none).
    """
    history: dict[str, list[StepRun]] = {}
    for step in StepRun.objects.filter(run_id=run.pk, is_current=True).order_by(
        "attempt", "created_at"
    ):
        history.setdefault(step.node_id, []).append(step)
    made = dict(
        StepRun.objects.filter(run_id=run.pk)
        .exclude(status=StepRun.Status.CANCELLED, error__in=NOT_RUN_MARKERS)
        .values_list("node_id")
        .annotate(n=Count("id"))
        .values_list("node_id", "n")
    )
    queued = set(
        OutboxJob.objects.filter(
            run_id=run.pk, kind=OutboxJob.Kind.STEP, status__in=_ACTIVE_JOB
        ).values_list("node_id", flat=True)
    )
    order = sorted(history, key=lambda node_id: min(s.created_at for s in history[node_id]))
    steps = []
    for node_id in order:
        attempts = history[node_id]
        entry = step_summary(attempts[-1], made.get(node_id, 0))
        entry["queued"] = node_id in queued and attempts[-1].status in (
            StepRun.Status.FAILED,
            StepRun.Status.CANCELLED,
        )
        entry["note"] = step_note(
            [Attempt(status=s.status, error=s.error) for s in attempts],
            run_status=run.status,
            run_error=run.error,
            queued=entry["queued"],
            cancel=cancel,
        )
        steps.append(entry)
    for node_id in sorted(queued - set(history)):
        steps.append(
            {
                "node_id": node_id,
                "status": "pending",
                "queued": True,
                "attempts": 0,
                "note": step_note([], run_status=run.status, queued=True),
            }
        )
    return steps


def run_frame(
    run_id: uuid.UUID | str, *, reason: str = "snapshot", advance: bool = False
) -> dict[str, Any] | None:
    """The full live state of one run (``None`` if it does not exist), numbered: with
    ``advance`` (a published change) the run's counter moves on, a snapshot reads it."""
    if not advance:
        return _frame(run_id, reason, seq=None)
    with transaction.atomic():
        seq = advance_seq(run_id)
        return None if seq is None else _frame(run_id, reason, seq=seq)


def _frame(run_id: uuid.UUID | str, reason: str, *, seq: int | None) -> dict[str, Any] | None:
    run = runs_with_details().filter(pk=run_id).annotate(live_seq=current_seq()).first()
    if run is None:
        return None
    cancel = cancellation_of(run)
    summary = run_summary(run)
    summary["note"] = run_note(run.status, cancel)
    # What the nodes that have no step (yet) say.
    summary["not_run_note"] = step_note(
        [], run_status=run.status, run_error=run.error, cancel=cancel
    )
    return {
        "type": "run",
        "reason": reason,
        "seq": seq if seq is not None else run.live_seq,
        # When the state was read, by this process's clock: for latency measurements
        # (bench/live_latency.py), never for ordering (that is ``seq``).
        "read_at_ms": time.time_ns() // 1_000_000,
        "run": summary,
        "steps": current_steps(run, cancel),
    }


def runs_list_frame(runs: list[ExecutionRun]) -> dict[str, Any]:
    """The snapshot of a runs list: summaries of ``runs`` (newest first), each with the
    frame number (``seq``) its run is at."""
    seqs = current_seqs(run.pk for run in runs)
    summaries = []
    for run in runs:
        summary = run_summary(run)
        summary["seq"] = seqs[str(run.pk)]
        summaries.append(summary)
    return {"type": "runs", "reason": "snapshot", "runs": summaries}
