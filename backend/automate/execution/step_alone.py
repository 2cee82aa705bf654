"""The one-job path of a step: run one step job alone and write its outcome alone.

``step_batch`` hands it everything unusual (a step whose run stopped, whose earlier
attempt is still marked RUNNING, that two jobs name, whose inputs fail to render) and
every step failure (retry with backoff, dead letter, run failure are rare and written per
job). Each outcome is written in one transaction with the run row locked and the job's
outbox mark, so a worker that lost its lease writes nothing.
"""

from __future__ import annotations

import logging
import time
import traceback
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone

from automate import conf, signals
from automate.execution.backoff import backoff_delay
from automate.execution.dbgate import DbGate, phase
from automate.execution.exceptions import LeaseLostError
from automate.execution.models import ExecutionRun, OutboxJob, StepRun
from automate.execution.run_state import advance_run, fail_run, graph_of
from automate.execution.step_exec import execute_node
from automate.execution.step_inputs import build_context, render_step_inputs, stored_inputs
from automate.execution.store import OutboxStore
from automate.governance.redaction import redact, redact_text
from automate.observability.metrics import count_step_given_up_or_retried
from automate.payload_caps import cap_text
from automate.workflows.graph import Graph, Node

logger = logging.getLogger("automate.execution")

RunStatus = ExecutionRun.Status
StepStatus = StepRun.Status


MAX_RETRY_DELAY_SECONDS = 7 * 24 * 3600


def _finite_delay(value: Any) -> float:
    """A retry delay in [0, one week]; nonsense (inf, NaN, huge, negative) is clamped."""
    try:
        seconds = float(value or 0)
    except (TypeError, ValueError):
        return 0.0
    if seconds != seconds:  # NaN
        return 0.0
    return min(max(seconds, 0.0), MAX_RETRY_DELAY_SECONDS)


def not_run_reason(status: str) -> str:
    """What the explorer says of a step not run because its run had ``status`` first."""
    return f"Not run: the run had {status} before this step started."


def run_step(
    job: OutboxJob, *, store: OutboxStore, worker_id: str, gate: DbGate | None = None
) -> None:
    """Execute the node of a step job and record the outcome. With a ``gate``
    (``automate.execution.dbgate``) only the database work holds a permit, not the
    connector call."""
    assert job.run_id is not None, "step jobs always name their run"
    with phase(gate):
        run = ExecutionRun.objects.select_related(
            "workflow_version__workflow", "event", "tenant"
        ).get(pk=job.run_id)
        graph = graph_of(run.workflow_version)
        node = graph.nodes[job.node_id]
        steps = list(StepRun.objects.filter(run=run).order_by("attempt"))
        mine = [step for step in steps if step.node_id == node.id]
        latest = next((step for step in reversed(mine) if step.is_current), None)
        if run.status != RunStatus.RUNNING or (latest and latest.status == StepStatus.SUCCEEDED):
            # A duplicate of a step that already ran, or the run failed or was cancelled
            # while this job waited: it is not run, and the explorer says why.
            with transaction.atomic():
                if not (latest and latest.status == StepStatus.SUCCEEDED):
                    now = timezone.now()
                    StepRun.objects.filter(
                        run=run, node_id=node.id, status=StepStatus.RUNNING
                    ).update(
                        status=StepStatus.FAILED,
                        error="The worker running this attempt stopped answering.",
                        finished_at=now,
                    )
                    StepRun.objects.create(
                        run=run,
                        node_id=node.id,
                        attempt=(mine[-1].attempt + 1) if mine else 1,
                        status=StepStatus.CANCELLED,
                        error=not_run_reason(run.status),
                        started_at=now,
                        finished_at=now,
                    )
                if not store.mark_success(job, worker_id):
                    raise LeaseLostError(f"Lost the lease on step job {job.pk}.")
            return

        now = timezone.now()
        attempt = (mine[-1].attempt + 1) if mine else 1
        started = time.monotonic()
        context = build_context(run, attempt=attempt, steps=steps)
        step = StepRun(
            run=run, node_id=node.id, attempt=attempt, status=StepStatus.RUNNING, started_at=now
        )
        failure: Exception | None = None
        try:
            resolved: dict[str, str] = {}
            inputs = render_step_inputs(node, context, resolved, tenant=run.tenant)
            step.inputs = stored_inputs(node, inputs)
            _start_step(step, job=job, store=store, worker_id=worker_id)
            signals.send(signals.step_started, sender=StepRun, step=step, execution=run)
        except (LeaseLostError, DatabaseError):
            # A database error here is the engine's (a terminated connection, a failover),
            # not the step's: the job is given back and runs again, the run goes on.
            raise
        except Exception as exc:
            failure = exc
    if failure is None:
        try:
            output = execute_node(
                node, run=run, step=step, context=context, inputs=inputs, secrets=resolved
            )
        except LeaseLostError:
            raise
        except Exception as exc:
            failure = exc
    with phase(gate):
        if failure is not None:
            if step._state.adding:
                _start_step(step, job=job, store=store, worker_id=worker_id)
            step_failed(
                failure,
                job=job,
                run=run,
                step=step,
                node=node,
                store=store,
                worker_id=worker_id,
                started=started,
            )
        else:
            step_succeeded(
                output,
                job=job,
                run=run,
                step=step,
                graph=graph,
                store=store,
                worker_id=worker_id,
                started=started,
            )


def _start_step(step: StepRun, *, job: OutboxJob, store: OutboxStore, worker_id: str) -> None:
    """Insert the RUNNING attempt ``step`` (an earlier attempt still marked RUNNING is
    marked FAILED: its worker lost the lease) in one transaction, fenced: the run row
    locked first, then the job's lease checked. Raises LeaseLostError (nothing written)
    when ``worker_id`` no longer holds the job."""
    with transaction.atomic():
        list(ExecutionRun.objects.select_for_update().filter(pk=step.run_id).values_list("pk"))
        if not store.fence([job], worker_id):
            raise LeaseLostError(f"Lost the lease on step job {job.pk}.")
        StepRun.objects.filter(
            run_id=step.run_id, node_id=step.node_id, status=StepStatus.RUNNING
        ).update(
            status=StepStatus.FAILED,
            error="The worker running this attempt stopped answering (its lease expired).",
            finished_at=timezone.now(),
        )
        step.save(force_insert=True)


def _finish_step(step: StepRun, started: float, **fields: Any) -> None:
    """Write the outcome of ``step``, only while it is still RUNNING (another worker that
    took the job over marks it FAILED): otherwise LeaseLostError, the caller's transaction
    rolled back."""
    for name, value in fields.items():
        setattr(step, name, value)
    step.finished_at = timezone.now()
    step.duration_ms = int((time.monotonic() - started) * 1000)
    written = StepRun.objects.filter(pk=step.pk, status=StepStatus.RUNNING).update(
        **fields, finished_at=step.finished_at, duration_ms=step.duration_ms
    )
    if not written:
        raise LeaseLostError(f"Step {step.node_id} attempt {step.attempt} is no longer running.")


def step_succeeded(
    output: dict[str, Any],
    *,
    job: OutboxJob,
    run: ExecutionRun,
    step: StepRun,
    graph: Graph,
    store: OutboxStore,
    worker_id: str,
    started: float,
) -> None:
    with transaction.atomic():
        locked = ExecutionRun.objects.select_for_update().get(pk=run.pk)
        locked.event = run.event  # already loaded; the lock query does not fetch it
        _finish_step(step, started, status=StepStatus.SUCCEEDED, outputs=redact(output))
        if locked.status == RunStatus.RUNNING:
            advance_run(locked, graph)
        if not store.mark_success(job, worker_id):
            raise LeaseLostError(f"Lost the lease on step job {job.pk}.")
        transaction.on_commit(
            lambda: signals.send(
                signals.step_completed, sender=StepRun, step=step, execution=locked
            )
        )


def step_failed(
    exc: Exception,
    *,
    job: OutboxJob,
    run: ExecutionRun,
    step: StepRun,
    node: Node,
    store: OutboxStore,
    worker_id: str,
    started: float,
) -> None:
    # Redacted, then capped (RETENTION["max_error_bytes"]): the step's error, the run's
    # error and the dead letter's last error all come from this one text.
    message = cap_text(redact_text(getattr(exc, "message", None) or str(exc) or type(exc).__name__))
    stack = cap_text(redact_text("".join(traceback.format_exception(exc))))
    retryable = bool(getattr(exc, "retryable", False))
    will_retry = retryable and job.attempts < job.max_attempts
    retry = node.raw.get("retry") or {}
    with transaction.atomic():
        locked = ExecutionRun.objects.select_for_update().get(pk=run.pk)
        _finish_step(
            step,
            started,
            status=StepStatus.RETRYING if will_retry else StepStatus.FAILED,
            error=message,
            error_type=type(exc).__name__,
            traceback=stack,
        )
        if will_retry:
            delay = backoff_delay(
                job.attempts,
                base=float(
                    retry.get("backoff_base_seconds", conf.get("EXECUTION", "backoff_base_seconds"))
                ),
                cap=float(
                    retry.get("backoff_max_seconds", conf.get("EXECUTION", "backoff_max_seconds"))
                ),
            )
            delay = _finite_delay(max(delay, _finite_delay(getattr(exc, "retry_after", None))))
            marked = store.mark_retry(
                job, worker_id, timezone.now() + timedelta(seconds=delay), message
            )
        else:
            if locked.status == RunStatus.RUNNING:
                fail_run(locked, f"Step {node.id!r} failed: {message}")

            # DEAD when retries ran out; FAILED when retrying could not help.
            marked = store.mark_failed(job, worker_id, message, dead=retryable)
        if not marked:
            raise LeaseLostError(f"Lost the lease on step job {job.pk}.")
        count_step_given_up_or_retried(
            str(node.raw.get("connector") or node.type), will_retry=will_retry
        )
        transaction.on_commit(
            lambda: signals.send(
                signals.step_failed,
                sender=StepRun,
                step=step,
                execution=locked,
                error=message,
                will_retry=will_retry,
            )
        )
    logger.warning(
        "Step %s of run %s failed (attempt %s%s): %s",
        node.id,
        run.pk,
        step.attempt,
        ", will retry" if will_retry else "",
        message,
        extra={"trace_id": run.trace_id, "run_id": str(run.pk), "node_id": node.id},
    )
