"""Running a claimed batch of step jobs together: two commits per group of outcomes.

1. **Prepare** (one commit): the claim read the runs of the batch with their events; one
   query reads their distinct versions (with workflow and tenant) and their StepRuns
   (``rowload.runs_and_steps``; three when the claim did not read the runs); each step's
   inputs are rendered and its RUNNING StepRun is inserted with the others under the
   fence (the jobs' rows locked, only jobs whose lease this worker still holds): on
   PostgreSQL fence and insert are one statement, its own transaction
   (``rowinsert.insert_fenced``). That commit is what makes "at least once" visible to the
   explorer; ``step_started`` is sent after it.
2. **Execute**: every step starts at once (built-in nodes compute in this thread,
   connector calls run on pooled threads, each under its timeout); the engine does no
   database work here.
3. **Finish** (one commit per group): the steps that have finished when this thread
   looks (and those finishing within ``GATHER_SECONDS`` of the first) are written
   together, so fast steps are not held back by a slow one. The runs are locked in id
   order (the run-first lock order every writer uses), the jobs are fenced in one
   statement (only jobs whose lease this worker still holds are completed; the outcomes of
   the others are discarded) that on PostgreSQL also writes the StepRuns of the jobs it
   completed (``hotsql.complete_steps``), each run is planned (``advance_run``) from
   states read under the lock, the next step jobs of all runs are inserted in one
   statement with one NOTIFY. ``step_completed`` and the run signals are sent after commit.

Anything unusual is handed to the one-job path (``step_alone.run_step``), which knows every
case: a job whose run stopped or whose step already ran or is marked RUNNING, two jobs of
one node, an input that fails to render. A step that failed (retry, dead letter and run
failure are rare) is written alone through the same fencing. When writing a group fails,
each outcome is written alone, so one bad outcome cannot block the others.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from automate import signals
from automate.execution import rowinsert, rowload
from automate.execution.dbgate import DbGate, phase
from automate.execution.hotsql import complete_steps, finish_runs, finish_steps
from automate.execution.models import ExecutionRun, OutboxJob, StepRun
from automate.execution.notify import jobs_written
from automate.execution.run_state import advance_run, graph_of, load_states_of
from automate.execution.step_exec import Call, start_node
from automate.execution.step_inputs import build_context, render_step_inputs, stored_inputs
from automate.execution.store import OutboxStore
from automate.governance.redaction import redact
from automate.workflows.graph import Graph, Node

logger = logging.getLogger("automate.execution")

RunStatus = ExecutionRun.Status
StepStatus = StepRun.Status

#: How long the outcomes that come in after a batch's first are waited for, to be written
#: with it: calls started together mostly end together, and each group costs a commit.
GATHER_SECONDS = 0.002

#: Runs one job alone (``runner.process_job``-like: never raises for a job's own failure).
Alone = Callable[[OutboxJob], None]
#: Writes the failure of a prepared step alone (``step_alone.step_failed`` with its context).
FailAlone = Callable[["Prepared", Exception], bool | None]


@dataclass
class Prepared:
    """A step job ready to execute: its run, node, rendered inputs and RUNNING StepRun."""

    job: OutboxJob
    run: ExecutionRun
    graph: Graph
    node: Node
    step: StepRun
    context: dict[str, Any]
    inputs: Any
    secrets: dict[str, str]
    started: float
    output: dict[str, Any] | None = None
    error: Exception | None = None
    call: Call | None = None
    written: bool = False


def run_step_batch(
    jobs: list[OutboxJob],
    *,
    store: OutboxStore,
    worker_id: str,
    alone: Alone,
    fail_alone: FailAlone,
    succeed_alone: Callable[[Prepared], None],
    lose: Callable[[OutboxJob, str], None],
    gate: DbGate | None = None,
    on_settled: Callable[[list[OutboxJob]], None] | None = None,
) -> None:
    """Run claimed step jobs of ``worker_id`` together (see the module docstring).

    Every prepared step starts at once (built-in nodes compute here, connector calls run
    on pooled threads, each under its own timeout), so a batch of slow HTTP steps waits
    for the slowest, not for their sum. Outcomes are written as they come in: whatever
    has finished when this thread looks is written together, so a slow step never holds
    back the outcomes of fast ones; ``on_settled`` is told which jobs are done after each
    group. Should writing fail past the start of the calls, the steps not written are
    given back with ``lose(job, reason)`` (never run again here: their calls were made).
    Raises only when preparing failed (nothing started). With a ``gate``
    (``automate.execution.dbgate``) every database phase holds a permit and the connection
    is closed after it, so the steps execute without a connection."""
    with phase(gate):
        prepared, leftovers = _prepare(jobs, store=store, worker_id=worker_id)
        for item in prepared:
            signals.send(signals.step_started, sender=StepRun, step=item.step, execution=item.run)
    for job in leftovers:
        alone(job)  # first, so recording them waits for no call; it enters the gate itself
    finished: queue.SimpleQueue[Prepared] = queue.SimpleQueue()
    for item in prepared:
        item.call = start_node(
            item.node,
            run=item.run,
            step=item.step,
            context=item.context,
            inputs=item.inputs,
            secrets=item.secrets,
            notify=partial(finished.put, item),
        )
    try:
        pending = {id(item): item for item in prepared}
        while pending:
            settled = _next_outcomes(finished, pending)
            for item in settled:
                assert item.call is not None
                try:
                    item.output = item.call.result(wait=False)
                except Exception as exc:
                    item.error = exc
            _write_outcomes(
                settled,
                store=store,
                worker_id=worker_id,
                fail_alone=fail_alone,
                succeed_alone=succeed_alone,
                gate=gate,
            )
            if on_settled is not None and settled:
                on_settled([item.job for item in settled])
    except Exception as exc:
        # The calls have run (or still run): running these jobs alone would call their
        # connectors again. Each step not written yet is given back as a lost claim.
        logger.exception("Writing the outcomes of a step batch failed")
        for item in prepared:
            if not item.written:
                item.written = True
                lose(item.job, f"{type(exc).__name__}: {exc}")
        if on_settled is not None:
            on_settled([item.job for item in prepared])


def _next_outcomes(
    finished: queue.SimpleQueue[Prepared], pending: dict[int, Prepared]
) -> list[Prepared]:
    """The pending steps that finished (blocking until one has) or whose time ran out,
    each once: removed from ``pending``."""
    deadline = min(item.call.deadline for item in pending.values() if item.call is not None)
    found: list[Prepared] = []
    try:
        found.append(finished.get(timeout=max(0.0, deadline - time.monotonic())))
        # Calls started together mostly end together: the ones ending within GATHER_SECONDS
        # of the first are written with it (one commit, not one per wake-up).
        gather_until = time.monotonic() + GATHER_SECONDS
        while len(found) < len(pending):
            found.append(finished.get(timeout=max(0.0, gather_until - time.monotonic())))
    except queue.Empty:
        pass
    now = time.monotonic()
    found += [
        item for item in pending.values() if item.call is not None and item.call.deadline <= now
    ]
    settled = []
    for item in found:
        if pending.pop(id(item), None) is not None:  # a late finish of a timed-out step: gone
            settled.append(item)
    return settled


def _write_outcomes(
    items: list[Prepared],
    *,
    store: OutboxStore,
    worker_id: str,
    fail_alone: FailAlone,
    succeed_alone: Callable[[Prepared], None],
    gate: DbGate | None,
) -> None:
    """Write the outcomes of settled steps: each failure alone, the successes together
    (each alone when that fails)."""
    for item in items:
        item.written = True
        if item.error is not None:
            with phase(gate):
                fail_alone(item, item.error)
    succeeded = [item for item in items if item.error is None]
    if not succeeded:
        return
    with phase(gate):
        try:
            _finish_group(succeeded, store=store, worker_id=worker_id)
        except Exception:
            logger.warning(
                "Writing %s step outcomes together failed; writing each alone",
                len(succeeded),
                exc_info=True,
            )
            from automate.execution.dbhealth import heal_connection

            heal_connection()
            for item in succeeded:
                succeed_alone(item)


def _prepare(
    jobs: list[OutboxJob], *, store: OutboxStore, worker_id: str
) -> tuple[list[Prepared], list[OutboxJob]]:
    """Render the batch's steps and insert their RUNNING StepRuns in one statement, fenced:
    only for the jobs whose lease ``worker_id`` still holds (the others are dropped)."""
    runs, steps_of = _known_runs(jobs)
    run_ids = list({job.run_id for job in jobs if job.run_id not in runs})
    if run_ids:
        # The claim read most of them already (``rowload.fetch_claimed``).
        read = {run.pk: run for job in jobs if (run := rowload.claimed_run(job)) is not None}
        found, steps = rowload.runs_and_steps(run_ids, list(read.values()), steps=True)
        runs.update(found)
        for pk in run_ids:
            steps_of[pk] = []
        for step in steps:
            steps_of[step.run_id].append(step)
    prepared: list[Prepared] = []
    leftovers: list[OutboxJob] = []
    seen: set[tuple[Any, str]] = set()
    now = timezone.now()
    for job in jobs:
        run = runs.get(job.run_id)
        key = (job.run_id, job.node_id)
        if run is None or key in seen:
            leftovers.append(job)
            continue
        seen.add(key)
        item = _prepare_one(job, run, steps_of[run.pk], now)
        if item is None:
            leftovers.append(job)
        else:
            prepared.append(item)
    if prepared and connection.vendor == "postgresql" and not connection.in_atomic_block:
        # The fence and the insert are one statement (one transaction, no BEGIN/COMMIT).
        # The runs were read with the claim, maybe a while ago: the statement also checks
        # that each run still runs. A job still held whose run stopped meanwhile goes to
        # the one-job path, which records its step as not run.
        fence, params = store.fence_query([item.job for item in prepared], worker_id)
        try:
            inserted, held = rowinsert.insert_fenced(
                [item.step for item in prepared],
                [item.job.pk for item in prepared],
                fence,
                params,
                where=_RUN_STILL_RUNS,
                where_params=[RunStatus.RUNNING],
            )
        except IntegrityError:
            return [], jobs  # another worker recorded an attempt of one: the slow road
        for item in prepared:
            if item.job.pk not in held:
                _lost_before_start(item.job)
            elif item.step.pk not in inserted:
                leftovers.append(item.job)
        return [item for item in prepared if item.step.pk in inserted], leftovers
    if prepared:
        try:
            with transaction.atomic():
                held = store.fence([item.job for item in prepared], worker_id)
                for item in prepared:
                    if item.job.pk not in held:
                        _lost_before_start(item.job)
                prepared = [item for item in prepared if item.job.pk in held]
                # The fence and the insert commit together; an IntegrityError rolls both
                # back (the atomic block is left), so no savepoint is needed.
                rowinsert.insert([item.step for item in prepared], savepoint=False)
        except IntegrityError:
            # Another worker recorded an attempt of one of these steps: take the slow road.
            return [], jobs
    return prepared, leftovers


#: ``insert_fenced``'s extra condition: the StepRun's run (``v.run_id``) still runs.
_RUN_STILL_RUNS = (
    f"EXISTS (SELECT 1 FROM {ExecutionRun._meta.db_table} AS r "  # noqa: S608
    "WHERE r.id = v.run_id AND r.status = %s)"
)


def _lost_before_start(job: OutboxJob) -> None:
    logger.warning(
        "Lost the lease on step job %s before it started", job.pk, extra={"trace_id": job.trace_id}
    )


def _known_runs(
    jobs: list[OutboxJob],
) -> tuple[dict[Any, ExecutionRun], dict[Any, list[StepRun]]]:
    """Runs (and their StepRuns) the one hop already has in memory: a job claimed while
    matching carries the run it was written for, just created with its version, workflow,
    event and tenant, and every StepRun of that run (``run_state.claiming_new_jobs``)."""
    runs: dict[Any, ExecutionRun] = {}
    steps_of: dict[Any, list[StepRun]] = {}
    for job in jobs:
        known: list[StepRun] | None = getattr(job, "known_steps", None)
        run = job._state.fields_cache.get("run") if known is not None else None
        if known is None or run is None or run.pk in runs or not _fully_loaded(run):
            continue
        runs[run.pk] = run
        steps_of[run.pk] = sorted(known, key=lambda step: step.attempt)
    return runs, steps_of


def _fully_loaded(run: ExecutionRun) -> bool:
    cache = run._state.fields_cache
    version = cache.get("workflow_version")
    event = cache.get("event")
    if version is None or event is None or "workflow" not in version._state.fields_cache:
        return False
    if "tenant" not in cache:
        tenant = event._state.fields_cache.get("tenant")
        if tenant is None:
            return False
        run.tenant = tenant
    return True


def _prepare_one(
    job: OutboxJob, run: ExecutionRun, steps: list[StepRun], now: Any
) -> Prepared | None:
    """The prepared step, or None when the one-job path must handle it."""
    if run.status != RunStatus.RUNNING:
        return None
    graph = graph_of(run.workflow_version)
    node = graph.nodes.get(job.node_id)
    if node is None:
        return None
    mine = [step for step in steps if step.node_id == node.id]
    if any(step.status == StepStatus.RUNNING for step in mine):
        return None
    latest = next((step for step in reversed(mine) if step.is_current), None)
    if latest is not None and latest.status == StepStatus.SUCCEEDED:
        return None
    attempt = (mine[-1].attempt + 1) if mine else 1
    context = build_context(run, attempt=attempt, steps=steps)
    resolved: dict[str, str] = {}
    try:
        inputs = render_step_inputs(node, context, resolved, tenant=run.tenant)
        stored = stored_inputs(node, inputs)
    except Exception:
        return None  # the one-job path renders again and records the failure
    step = rowinsert.new(
        StepRun,
        run=run,
        node_id=node.id,
        attempt=attempt,
        status=StepStatus.RUNNING,
        started_at=now,
        inputs=stored,
    )
    return Prepared(
        job=job,
        run=run,
        graph=graph,
        node=node,
        step=step,
        context=context,
        inputs=inputs,
        secrets=resolved,
        started=time.monotonic(),
    )


def _finish_group(items: list[Prepared], *, store: OutboxStore, worker_id: str) -> None:
    """Write the outcomes of succeeded steps in one transaction (see the module docstring)."""
    now = timezone.now()
    with transaction.atomic():
        locked = rowload.lock_runs({item.run.pk: item.run for item in items})
        for item in items:
            step = item.step
            step.status = StepStatus.SUCCEEDED
            step.outputs = redact(item.output)
            step.finished_at = now
            ended = item.call.ended if item.call is not None else None
            step.duration_ms = int(((ended or time.monotonic()) - item.started) * 1000)
        job_ids = [item.job.pk for item in items]
        if connection.vendor == "postgresql":
            # The jobs completed (fenced) and their steps written in one statement.
            held, params = store.success_query([item.job for item in items], worker_id)
            fenced = complete_steps([item.step for item in items], job_ids, held, params)
        else:
            fenced = store.mark_success_many([item.job for item in items], worker_id)
            finish_steps(item.step for item in items if item.job.pk in fenced)
        kept = [item for item in items if item.job.pk in fenced]
        for item in items:
            if item.job.pk not in fenced:
                logger.warning(
                    "Lost the lease on step job %s; its result was discarded",
                    item.job.pk,
                    extra={"trace_id": item.job.trace_id},
                )
        running = sorted(
            {
                item.run.pk
                for item in kept
                if item.run.pk in locked and locked[item.run.pk].status == RunStatus.RUNNING
            },
            key=str,
        )
        known = load_states_of(running) if running else {}
        graphs = {item.run.pk: item.graph for item in kept}
        new_jobs: list[OutboxJob] = []
        finished: list[ExecutionRun] = []
        for run_id in running:
            run = locked[run_id]  # the instance prepared, brought up to date under the lock
            advance_run(
                run, graphs[run_id], known=known[run_id], jobs_out=new_jobs, runs_out=finished
            )
        finish_runs(finished)
        if new_jobs:
            OutboxJob.objects.bulk_create(new_jobs)
            jobs_written()
        completed = [(item.step, locked.get(item.run.pk, item.run)) for item in kept]
        transaction.on_commit(partial(_send_completed, completed))


def _send_completed(completed: list[tuple[StepRun, ExecutionRun]]) -> None:
    """``step_completed`` for each ``(step, run)`` written by a group: one commit hook for
    the group, each signal sent as ``signals.send`` sends it (a receiver's error is logged,
    never raised), in the order the steps were written."""
    for step, execution in completed:
        signals.send(signals.step_completed, sender=StepRun, step=step, execution=execution)
