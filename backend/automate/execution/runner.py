"""Running claimed jobs: the entry points (``process_batch``, ``process_job``) and the
error handling every job shares (``_guarded``: a lost lease is logged, any other error
gives the job back with backoff, at once when the thread's connection died).

Step jobs run together (``automate.execution.step_batch``), the unusual ones and every
failure alone (``automate.execution.step_alone``); event jobs are matched together
(``automate.execution.matching``). The run's state is written by
``automate.execution.run_state``; a step's inputs are prepared by
``automate.execution.step_inputs`` and executed by ``automate.execution.step_exec``.

The names other modules imported from here before the split are re-exported.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import timedelta
from functools import partial
from typing import Any

from django.utils import timezone

from automate import conf
from automate.execution.backoff import backoff_delay
from automate.execution.dbgate import DbGate, phase
from automate.execution.dbhealth import heal_connection
from automate.execution.exceptions import LeaseLostError
from automate.execution.models import ExecutionRun, OutboxJob, StepRun
from automate.execution.run_state import (
    advance_run,
    claiming_new_jobs,
    fail_run,
    fail_runs_of_dead_jobs,
    graph_of,
    rule_of,
)
from automate.execution.step_alone import run_step, step_failed, step_succeeded
from automate.execution.step_batch import Prepared, run_step_batch
from automate.execution.step_exec import call_with_timeout
from automate.execution.step_inputs import (
    build_context,
    mask_secret_fields,
    render_step_inputs,
    secret_names_in,
    stored_inputs,
)
from automate.execution.store import OutboxStore
from automate.governance.redaction import redact_text

__all__ = [
    "advance_run",
    "build_context",
    "call_with_timeout",
    "fail_run",
    "fail_runs_of_dead_jobs",
    "graph_of",
    "mask_secret_fields",
    "process_job",
    "render_step_inputs",
    "rule_of",
    "secret_names_in",
    "stored_inputs",
]

logger = logging.getLogger("automate.execution")

RunStatus = ExecutionRun.Status
StepStatus = StepRun.Status


# --- entry point ---------------------------------------------------------------------------


def process_job(job: OutboxJob, *, store: OutboxStore, worker_id: str) -> None:
    """Run one claimed job to its end (an event job's first steps stay queued, for any
    worker to claim). Step failures are recorded, not raised."""
    process_batch([job], store=store, worker_id=worker_id, hop=False)


def process_batch(
    jobs: list[OutboxJob],
    *,
    store: OutboxStore,
    worker_id: str,
    on_claimed: Callable[[list[OutboxJob]], None] | None = None,
    hop: bool = True,
    stopping: Callable[[], bool] | None = None,
    gate: DbGate | None = None,
    on_settled: Callable[[list[OutboxJob]], None] | None = None,
) -> None:
    """Run claimed jobs to their end: step jobs together (``step_batch``), then event jobs
    one by one, then (one hop) the first steps of the runs those events started, which
    were written already claimed by this worker; ``on_claimed`` is told about those (the
    worker keeps their leases alive); without ``hop`` those steps are queued for any
    worker instead. When ``stopping()`` turns true (a graceful stop), claimed steps not
    yet started are handed back. ``gate``: see ``run_step_batch``; ``on_settled`` is told
    which step jobs are done as their outcomes are written. Step failures are recorded,
    not raised."""
    steps = [job for job in jobs if job.kind == OutboxJob.Kind.STEP]
    if steps:
        _run_steps(steps, store=store, worker_id=worker_id, gate=gate, on_settled=on_settled)
    hopped: list[OutboxJob] = []
    with phase(gate):
        others = [job for job in jobs if job.kind != OutboxJob.Kind.STEP]
        events = [job for job in others if job.kind == OutboxJob.Kind.EVENT]
        if hop and len(events) > 1:
            matched = False
            with claiming_new_jobs(worker_id, store.lease_seconds) as claimed:
                try:
                    match_events(events, store=store, worker_id=worker_id)
                    matched = True
                except Exception:
                    # Nothing of the batch was written: each job is matched alone below.
                    logger.warning(
                        "Matching %s event jobs together failed; matching each alone",
                        len(events),
                        exc_info=True,
                    )
                    heal_connection()
            if matched:
                hopped.extend(claimed)
                others = [job for job in others if job.kind != OutboxJob.Kind.EVENT]
        for job in others:
            # Without the hop the event's first steps are queued: nothing is claimed here.
            no_hop: AbstractContextManager[list[OutboxJob]] = nullcontext([])
            claiming = claiming_new_jobs(worker_id, store.lease_seconds) if hop else no_hop
            with claiming as claimed:
                ok = _guarded(
                    job,
                    partial(_run_other, job, store, worker_id),
                    store=store,
                    worker_id=worker_id,
                )
            if ok:
                hopped.extend(claimed)
    if hopped:
        if on_claimed is not None:
            on_claimed(hopped)
        # In groups no bigger than the claimed batch: a worker killed mid-group repeats at
        # most that many side effects (steps are at least once; each has one idempotency key).
        size = max(1, len(jobs))
        for start in range(0, len(hopped), size):
            if stopping is not None and stopping():
                with phase(gate):
                    for job in hopped[start:]:
                        _guarded(
                            job,
                            partial(store.release, job, worker_id),
                            store=store,
                            worker_id=worker_id,
                        )
                break
            _run_steps(
                hopped[start : start + size],
                store=store,
                worker_id=worker_id,
                gate=gate,
                on_settled=on_settled,
            )


def _run_steps(
    steps: list[OutboxJob],
    *,
    store: OutboxStore,
    worker_id: str,
    gate: DbGate | None = None,
    on_settled: Callable[[list[OutboxJob]], None] | None = None,
) -> None:
    """Run claimed step jobs together, each alone when preparing them together fails."""
    if steps:

        def fail_alone(item: Prepared, exc: Exception) -> bool:
            return _guarded(
                item.job,
                lambda: step_failed(
                    exc,
                    job=item.job,
                    run=item.run,
                    step=item.step,
                    node=item.node,
                    store=store,
                    worker_id=worker_id,
                    started=item.started,
                ),
                store=store,
                worker_id=worker_id,
            )

        def succeed_alone(item: Prepared) -> None:
            assert item.output is not None
            output = item.output
            _guarded(
                item.job,
                lambda: step_succeeded(
                    output,
                    job=item.job,
                    run=item.run,
                    step=item.step,
                    graph=item.graph,
                    store=store,
                    worker_id=worker_id,
                    started=item.started,
                ),
                store=store,
                worker_id=worker_id,
            )

        def alone(job: OutboxJob) -> None:
            # Not inside a gate phase: run_step enters it for its database work only.
            _guarded(
                job,
                lambda: run_step(job, store=store, worker_id=worker_id, gate=gate),
                store=store,
                worker_id=worker_id,
                gate=gate,
            )

        def lose(job: OutboxJob, reason: str) -> None:
            def body() -> None:
                with phase(gate):
                    heal_connection()
                    give_back(job, store=store, worker_id=worker_id, reason=reason, lost=True)

            _guarded(job, body, store=store, worker_id=worker_id, gate=gate)

        try:
            run_step_batch(
                steps,
                store=store,
                worker_id=worker_id,
                alone=alone,
                fail_alone=fail_alone,
                succeed_alone=succeed_alone,
                lose=lose,
                gate=gate,
                on_settled=on_settled,
            )
        except Exception:
            # Preparing the batch failed (a database error) before any step started: each
            # job is run (or given back) alone, so the batch is never left CLAIMED.
            logger.exception("Running %s step jobs together failed", len(steps))
            with phase(gate):
                heal_connection()
            for job in steps:
                with phase(gate):
                    held = _still_claimed(job, worker_id)
                if held:
                    alone(job)


def _still_claimed(job: OutboxJob, worker_id: str) -> bool:
    try:
        return OutboxJob.objects.filter(
            pk=job.pk, claims=job.claims, status=OutboxJob.Status.CLAIMED, locked_by=worker_id
        ).exists()
    except Exception:
        heal_connection()
        return True


def _run_other(job: OutboxJob, store: OutboxStore, worker_id: str) -> None:
    if job.kind == OutboxJob.Kind.EVENT:
        match_event(job, store=store, worker_id=worker_id)
    else:
        store.mark_failed(job, worker_id, f"Unknown job kind {job.kind!r}.")


def _guarded(
    job: OutboxJob, body: Any, *, store: OutboxStore, worker_id: str, gate: DbGate | None = None
) -> bool:
    """Run ``body`` for ``job``: a lost lease is logged; any other error retries the job
    (inside a ``gate`` phase). Returns whether ``body`` ran to its end. Log lines written
    meanwhile name the job's run, step and trace (``automate.observability.log_context``)."""
    from automate.observability.log_context import bound

    with bound(
        trace_id=job.trace_id or None,
        run_id=str(job.run_id) if job.run_id else None,
        step_id=job.node_id or None,
    ):
        return _run_guarded(job, body, store=store, worker_id=worker_id, gate=gate)


def _run_guarded(
    job: OutboxJob, body: Any, *, store: OutboxStore, worker_id: str, gate: DbGate | None
) -> bool:
    try:
        body()
        return True
    except LeaseLostError:
        logger.warning(
            "Lost the lease on job %s; its result was discarded",
            job.pk,
            extra={"trace_id": job.trace_id},
        )
    except Exception as exc:
        # A database error or an engine bug: the whole job is retried with backoff. When
        # the thread's connection died, the job is given back on a fresh one, due at once.
        with phase(gate):
            lost = heal_connection()
            if lost:
                logger.warning(
                    "Job %s hit a dead database connection; it is retried at once",
                    job.pk,
                    extra={"trace_id": job.trace_id},
                )
            else:
                logger.exception("Job %s failed", job.pk, extra={"trace_id": job.trace_id})
            reason = _describe(exc)
            try:
                give_back(job, store=store, worker_id=worker_id, reason=reason, lost=lost)
            except Exception:
                # The database is out longer than give_back's retries: the job stays CLAIMED;
                # the worker keeps its lease and gives it back when the database answers again.
                heal_connection()
                sink = getattr(_stranded, "jobs", None)
                logger.warning(
                    "Could not give job %s back (the database does not answer)%s",
                    job.pk,
                    "; the worker gives it back later" if sink is not None else "",
                    exc_info=True,
                    extra={"trace_id": job.trace_id},
                )
                if sink is not None:
                    sink.append((job, reason))
    return False


_stranded = threading.local()


@contextmanager
def stranded_jobs() -> Iterator[list[tuple[OutboxJob, str]]]:
    """Collect, in this thread, the jobs ``_guarded`` could not give back (``(job,
    reason)``: still CLAIMED by this worker) for the caller to give back later with
    ``give_back_now``; without it such a job waits for its lease to expire."""
    previous = getattr(_stranded, "jobs", None)
    jobs: list[tuple[OutboxJob, str]] = []
    _stranded.jobs = jobs
    try:
        yield jobs
    finally:
        _stranded.jobs = previous


def give_back_now(job: OutboxJob, *, store: OutboxStore, worker_id: str, reason: str) -> None:
    """One attempt at giving back a stranded job (the database was out when its thread
    tried): due at once and not charged, as a lost claim (``store.mark_lost``; buried when
    it lost too many); a database error propagates (the caller tries again later)."""
    if store.mark_lost(job, worker_id, reason) == "buried":
        fail_runs_of_dead_jobs([job.pk])


#: Attempts at writing a job's retry bookkeeping when the connection keeps dying.
_BOOKKEEPING_TRIES = 4


def give_back(
    job: OutboxJob, *, store: OutboxStore, worker_id: str, reason: str, lost: bool = False
) -> None:
    """Retry the job with backoff, or bury it when its attempts ran out; with ``lost``
    (the thread's database connection died: not the step's failure) give it back due at
    once without charging it (``store.mark_lost``). A dead connection met on the way is
    replaced and the write tried again, so the job never stays CLAIMED because of it.
    Other errors propagate."""
    for tries in range(1, _BOOKKEEPING_TRIES + 1):
        try:
            if lost:
                give_back_now(job, store=store, worker_id=worker_id, reason=reason)
            else:
                _retry_or_bury(job, store=store, worker_id=worker_id, reason=reason)
            return
        except Exception:
            if tries == _BOOKKEEPING_TRIES or not heal_connection():
                raise
            lost = True
            time.sleep(0.1 * tries)


def _retry_or_bury(job: OutboxJob, *, store: OutboxStore, worker_id: str, reason: str) -> None:
    if job.attempts < job.max_attempts:
        delay = backoff_delay(
            job.attempts,
            base=conf.get("EXECUTION", "backoff_base_seconds"),
            cap=conf.get("EXECUTION", "backoff_max_seconds"),
        )
        store.mark_retry(job, worker_id, timezone.now() + timedelta(seconds=delay), reason)
        return
    # The dead letter commits before the run is locked (the run-first lock order every
    # writer uses, as the reaper does); a retry after the run could not be failed finds the
    # job already buried by this worker and fails the run again (that is idempotent).
    buried = store.mark_failed(job, worker_id, reason, dead=True)
    if buried:
        from django.db import transaction as db_transaction

        from automate.observability.metrics import DEAD_LETTERS

        db_transaction.on_commit(lambda: DEAD_LETTERS.labels(job.kind).inc())
    if (
        buried
        or OutboxJob.objects.filter(
            pk=job.pk, claims=job.claims, status=OutboxJob.Status.DEAD, locked_by=worker_id
        ).exists()
    ):
        fail_runs_of_dead_jobs([job.pk])


def _describe(exc: BaseException) -> str:
    return redact_text(f"{type(exc).__name__}: {exc}")


# --- events ------------------------------------------------------------------------------


def match_events(
    jobs: list[OutboxJob], *, store: OutboxStore, worker_id: str
) -> list[ExecutionRun]:
    """Match several event jobs in one transaction (see ``automate.execution.matching``)."""
    from automate.execution.matching import match_events as match_together

    return match_together(jobs, store=store, worker_id=worker_id)


def match_event(job: OutboxJob, *, store: OutboxStore, worker_id: str) -> list[ExecutionRun]:
    """Start a run of every live workflow whose trigger and rule match the job's event
    (each workflow isolated: see ``automate.execution.matching``)."""
    from automate.execution.matching import match_event as match_isolated

    return match_isolated(job, store=store, worker_id=worker_id)
