"""The state of a run as the live explorer shows it: statuses, ids, timings, error messages.

A *frame* never carries step inputs or outputs, event payloads or run outputs (those are
fetched through the studio's HTMX panel, redacted): only what a status board needs. Error
messages are stored redacted and are redacted again here, in case a connector's message
slipped past.

Every frame carries ``seq``: microseconds since the epoch taken *before* the state was
read, so a frame with a higher ``seq`` never shows an older state than one with a lower
``seq``; clients drop frames older than what they already show.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime
from typing import Any

from django.db.models import Count, QuerySet

from automate.execution.models import ExecutionRun, OutboxJob, StepRun
from automate.governance.redaction import redact_text

_seq_lock = threading.Lock()
_last_seq = 0

_ACTIVE_JOB = (OutboxJob.Status.PENDING, OutboxJob.Status.CLAIMED)


def next_seq() -> int:
    """A process-wide increasing number close to the current time in microseconds."""
    global _last_seq
    with _seq_lock:
        _last_seq = max(_last_seq + 1, time.time_ns() // 1000)
        return _last_seq


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


def runs_with_details(*, graph: bool = False) -> QuerySet[ExecutionRun]:
    """Runs with what a summary needs (and the version's graph if asked), in one query."""
    fields = (*RUN_SUMMARY_FIELDS, "workflow_version__graph") if graph else RUN_SUMMARY_FIELDS
    return ExecutionRun.objects.select_related("workflow_version__workflow", "event").only(*fields)


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


def current_steps(run_id: uuid.UUID) -> list[dict[str, Any]]:
    """Each node's latest current StepRun, in the order the nodes first ran.

    ``queued`` is true for a node with a job waiting or running (a replayed step before
    the worker picks it up), so the explorer can show it as pending rather than failed.
    """
    latest: dict[str, StepRun] = {}
    for step in StepRun.objects.filter(run_id=run_id, is_current=True).order_by(
        "created_at", "attempt"
    ):
        previous = latest.get(step.node_id)
        if previous is None or step.attempt >= previous.attempt:
            latest[step.node_id] = step
    attempts = dict(
        StepRun.objects.filter(run_id=run_id)
        .values_list("node_id")
        .annotate(n=Count("id"))
        .values_list("node_id", "n")
    )
    queued = set(
        OutboxJob.objects.filter(
            run_id=run_id, kind=OutboxJob.Kind.STEP, status__in=_ACTIVE_JOB
        ).values_list("node_id", flat=True)
    )
    steps = []
    for node_id, step in latest.items():
        entry = step_summary(step, attempts.get(node_id, 1))
        entry["queued"] = node_id in queued and step.status in (
            StepRun.Status.FAILED,
            StepRun.Status.CANCELLED,
        )
        steps.append(entry)
    for node_id in sorted(queued - set(latest)):
        steps.append({"node_id": node_id, "status": "pending", "queued": True, "attempts": 0})
    return steps


def run_frame(run_id: uuid.UUID | str, *, reason: str = "snapshot") -> dict[str, Any] | None:
    """The full live state of one run (``None`` if it does not exist)."""
    seq = next_seq()
    run = runs_with_details().filter(pk=run_id).first()
    if run is None:
        return None
    return {
        "type": "run",
        "reason": reason,
        "seq": seq,
        "run": run_summary(run),
        "steps": current_steps(run.pk),
    }


def runs_list_frame(runs: list[ExecutionRun], seq: int) -> dict[str, Any]:
    """The snapshot of a runs list: summaries of ``runs`` (newest first)."""
    return {
        "type": "runs",
        "reason": "snapshot",
        "seq": seq,
        "runs": [run_summary(r) for r in runs],
    }
