"""A run's state: parsed versions, each node's state, and the decisions written from them.

``advance_run`` asks the orchestrator (``automate.execution.orchestrator``) what runs next
and writes it: SKIPPED StepRuns, the next step jobs, the run's end. Callers hold the run row
(``select_for_update``) in the transaction that writes the outbox mark of the job that
caused the change, so two steps finishing at once cannot both (or neither) schedule the
merge after them, and a worker that lost its lease writes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from automate import conf, signals
from automate.execution import rowload
from automate.execution.models import ExecutionRun, OutboxJob, StepRun
from automate.execution.notify import jobs_written
from automate.execution.orchestrator import NodeState, NodeStatus, plan
from automate.observability.metrics import count_run_finished
from automate.payload_caps import cap_json
from automate.rules import CompiledRule, compile_rule
from automate.workflows.graph import Graph, Node
from automate.workflows.models import WorkflowVersion

RunStatus = ExecutionRun.Status
StepStatus = StepRun.Status
JobStatus = OutboxJob.Status

_ACTIVE_JOB = (JobStatus.PENDING, JobStatus.CLAIMED)
_STEP_TO_NODE = {
    StepStatus.SUCCEEDED: NodeStatus.SUCCEEDED,
    StepStatus.FAILED: NodeStatus.FAILED,
    StepStatus.SKIPPED: NodeStatus.SKIPPED,
    StepStatus.CANCELLED: NodeStatus.CANCELLED,
}


# --- immutable versions: parse and compile once per process ------------------------------


_graphs: dict[tuple[int, str], Graph] = {}
_rules: dict[tuple[int, str], CompiledRule] = {}
_CACHE_LIMIT = 512


def _version_key(version: WorkflowVersion) -> tuple[int, str] | None:
    # Only published versions are immutable; a draft version is parsed every time.
    if version.published_at is None:
        return None
    return (version.pk, version.published_at.isoformat())


def graph_of(version: WorkflowVersion) -> Graph:
    """The parsed graph of a version (cached per process: published versions never change)."""
    key = _version_key(version)
    if key is None:
        return Graph.from_dict(version.graph)
    graph = _graphs.get(key)
    if graph is None:
        if len(_graphs) >= _CACHE_LIMIT:
            _graphs.clear()
        graph = _graphs[key] = Graph.from_dict(version.graph)
    return graph


def rule_of(version: WorkflowVersion) -> CompiledRule:
    """The compiled rule of a version, compiled once per process."""
    key = _version_key(version)
    if key is None:
        return compile_rule(version.rule_spec or None)
    rule = _rules.get(key)
    if rule is None:
        if len(_rules) >= _CACHE_LIMIT:
            _rules.clear()
        rule = _rules[key] = compile_rule(version.rule_spec or None)
    return rule


def load_states(run: ExecutionRun) -> tuple[dict[str, NodeState], dict[str, StepRun]]:
    """Each node's state for the orchestrator, and its latest current StepRun.

    A node's state is its latest current StepRun; a node with a queued job is RUNNING unless
    it already succeeded or was skipped (so a replayed failed step counts as running).
    """
    return load_states_of([run.pk])[run.pk]


def load_states_of(
    run_ids: list[Any],
) -> dict[Any, tuple[dict[str, NodeState], dict[str, StepRun]]]:
    """``load_states`` for several runs in one query: ``{run_id: (states, latest)}``."""
    latest_of: dict[Any, dict[str, StepRun]] = {pk: {} for pk in run_ids}
    steps, queued_rows = rowload.states_of(run_ids)
    for step in steps:
        latest_of[step.run_id][step.node_id] = step
    queued_of: dict[Any, set[str]] = {pk: set() for pk in run_ids}
    for run_id, node_id in queued_rows:
        queued_of[run_id].add(node_id)
    found = {}
    for run_id in run_ids:
        latest, queued = latest_of[run_id], queued_of[run_id]
        states: dict[str, NodeState] = {}
        for node_id, step in latest.items():
            status = _STEP_TO_NODE.get(StepStatus(step.status), NodeStatus.RUNNING)
            if node_id in queued and status in (NodeStatus.FAILED, NodeStatus.CANCELLED):
                status = NodeStatus.RUNNING
            branch = step.outputs.get("branch") if status == NodeStatus.SUCCEEDED else None
            states[node_id] = NodeState(status=status, branch=branch)
        for node_id in queued - set(latest):
            states[node_id] = NodeState(status=NodeStatus.RUNNING)
        found[run_id] = (states, latest)
    return found


def max_attempts(node: Node) -> int:
    retry = node.raw.get("retry") or {}
    return int(retry.get("max_retries", conf.get("EXECUTION", "max_retries"))) + 1


def step_job(run: ExecutionRun, node: Node) -> OutboxJob:
    """An unsaved job for ``node``; a delay node's job is due after its delay."""
    due = None
    if node.type == "delay":
        due = timezone.now() + timedelta(seconds=float(node.raw.get("seconds", 0)))
    return OutboxJob(
        tenant_id=run.tenant_id,
        kind=OutboxJob.Kind.STEP,
        run=run,
        event_id=run.event_id,
        node_id=node.id,
        max_attempts=max_attempts(node),
        next_attempt_at=due,
        trace_id=run.trace_id,
    )


_claiming = threading.local()


@contextmanager
def claiming_new_jobs(worker_id: str, lease_seconds: float) -> Iterator[list[OutboxJob]]:
    """Within the block, step jobs ``advance_run`` writes (outside ``jobs_out``) that are
    due now are written already CLAIMED by ``worker_id`` (attempts 1, lease set) and
    appended to the yielded list, for the caller to run after its commit: one hop from an
    event to its first steps, with no second claim and no NOTIFY. The caller must run
    them only if its transaction committed (else they do not exist)."""
    previous = getattr(_claiming, "state", None)
    claimed: list[OutboxJob] = []
    _claiming.state = (worker_id, lease_seconds, claimed)
    try:
        yield claimed
    finally:
        _claiming.state = previous


def claimed_so_far() -> list[OutboxJob] | None:
    """The list ``claiming_new_jobs`` fills in this thread (None outside it): a caller
    whose savepoint rolls back truncates it to its length before the savepoint."""
    state = getattr(_claiming, "state", None)
    return state[2] if state is not None else None


def _claim_for_this_worker(jobs: list[OutboxJob], latest: dict[str, StepRun]) -> list[OutboxJob]:
    """Mark the due ones of ``jobs`` (unsaved) claimed when ``claiming_new_jobs`` is on;
    each carries the run's current StepRuns (``known_steps``), so running it needs no
    query for them."""
    state = getattr(_claiming, "state", None)
    if state is None:
        return []
    worker_id, lease_seconds, _ = state
    now = timezone.now()
    mine = [job for job in jobs if job.next_attempt_at is None]
    for job in mine:
        job.status = OutboxJob.Status.CLAIMED
        job.locked_by = worker_id
        job.lease_expires_at = now + timedelta(seconds=lease_seconds)
        job.attempts = 1
        job.claims = 1  # its first claim (a new row)
        job.known_steps = list(latest.values())  # type: ignore[attr-defined]
    return mine


def advance_run(
    run: ExecutionRun,
    graph: Graph,
    *,
    known: tuple[dict[str, NodeState], dict[str, StepRun]] | None = None,
    jobs_out: list[OutboxJob] | None = None,
    runs_out: list[ExecutionRun] | None = None,
) -> None:
    """Schedule what is ready, record what is skipped, and finish the run when it is done.

    Call inside a transaction holding the run row (``select_for_update``). ``known`` passes
    states the caller already has (a run that has just started), saving the queries. With
    ``jobs_out`` the new step jobs are appended to it, unsaved, for the caller to insert
    (with the jobs of other runs, in one statement, and to call ``jobs_written``); with
    ``runs_out`` a run that succeeded is appended to it with its fields set, for the caller
    to write (``hotsql.finish_runs``) in the same transaction.
    """
    states, latest = known if known is not None else load_states(run)
    decision = plan(graph, states)
    now = timezone.now()
    for node_id in decision.skip:
        previous = latest.get(node_id)
        latest[node_id] = StepRun.objects.create(
            run=run,
            node_id=node_id,
            attempt=(previous.attempt + 1) if previous else 1,
            status=StepStatus.SKIPPED,
            started_at=now,
            finished_at=now,
        )
    if decision.ready and jobs_out is not None:
        jobs_out.extend(step_job(run, graph.nodes[n]) for n in decision.ready)
    elif decision.ready:
        jobs = [step_job(run, graph.nodes[n]) for n in decision.ready]
        mine = _claim_for_this_worker(jobs, latest) if known is not None else []
        OutboxJob.objects.bulk_create(jobs)
        if mine:
            _claiming.state[2].extend(mine)
        if len(mine) < len(jobs):
            jobs_written()
    if decision.finished and decision.failed and run.status == RunStatus.RUNNING:
        # A retry or resume left a node that failed or never ran: the run cannot finish.
        stopped = sorted(
            node_id
            for node_id, state in states.items()
            if state.status in (NodeStatus.FAILED, NodeStatus.CANCELLED)
        )
        fail_run(run, f"Steps {', '.join(stopped)} did not succeed.", now=now)
        return
    if decision.finished and not decision.failed and run.status == RunStatus.RUNNING:
        leaves = [n for n in graph.nodes if not graph.outgoing(n)]
        run.status = RunStatus.SUCCEEDED
        run.finished_at = now
        # Each step's outputs are capped already; their sum is capped too, so a run with
        # many end steps stores at most RETENTION.max_payload_bytes (automate.payload_caps).
        run.outputs = cap_json(
            {
                n: latest[n].outputs
                for n in leaves
                if n in latest and latest[n].status == StepStatus.SUCCEEDED
            }
        )
        if runs_out is not None:
            runs_out.append(run)
        else:
            run.save(update_fields=["status", "finished_at", "outputs"])
        finished = run
        transaction.on_commit(
            lambda: signals.send(
                signals.workflow_completed, sender=ExecutionRun, execution=finished
            )
        )
        count_run_finished(RunStatus.SUCCEEDED)


def fail_run(run: ExecutionRun, error: str, *, now: datetime | None = None) -> None:
    """Mark a running run failed (inside a transaction holding its row) and tell receivers
    after commit."""
    run.status = RunStatus.FAILED
    run.error = error
    run.finished_at = now or timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
    # The error workflow and failure notice commit with the failed state (automate.failures).
    from automate.failures.hook import run_failed

    run_failed(run)
    count_run_finished(RunStatus.FAILED)
    failed = run
    transaction.on_commit(
        lambda: signals.send(
            signals.workflow_failed, sender=ExecutionRun, execution=failed, error=error
        )
    )


def fail_runs_of_dead_jobs(job_ids: Iterable[int]) -> None:
    """Runs whose step job went dead outside a step (its workers kept dying) fail."""
    for job in OutboxJob.objects.filter(pk__in=list(job_ids), kind=OutboxJob.Kind.STEP):
        if job.run_id is None:
            continue
        with transaction.atomic():
            run = ExecutionRun.objects.select_for_update().filter(pk=job.run_id).first()
            if run is None:
                continue
            now = timezone.now()
            for step in StepRun.objects.filter(
                run=run,
                node_id=job.node_id,
                status__in=[StepStatus.RUNNING, StepStatus.RETRYING],
            ):
                step.status = StepStatus.FAILED
                step.error = job.last_error
                step.finished_at = now
                step.save(update_fields=["status", "error", "finished_at"])
                closed = step
                transaction.on_commit(
                    partial(
                        signals.send,
                        signals.step_failed,
                        sender=StepRun,
                        step=closed,
                        execution=run,
                        error=job.last_error,
                        will_retry=False,
                    )
                )
            if run.status == RunStatus.RUNNING:
                fail_run(run, f"Step {job.node_id!r} failed: {job.last_error}", now=now)
