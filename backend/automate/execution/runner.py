"""Running claimed jobs: matching an event to workflows, and executing one step of a run.

The orchestrator (``automate.execution.orchestrator``) decides what runs next; this module
does the database work around it and calls connectors, which are the only code with side
effects. Every state change of a run is written in one transaction together with the
outbox mark of the job that caused it, with the run row locked, so two steps finishing at
once cannot both (or neither) schedule the merge after them, and a worker that lost its
lease writes nothing.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import connections, transaction
from django.utils import timezone

from automate import conf, signals
from automate.execution.backoff import backoff_delay
from automate.execution.exceptions import LeaseLostError, StepTimeoutError
from automate.execution.models import ExecutionRun, OutboxJob, StepRun
from automate.execution.notify import jobs_written
from automate.execution.orchestrator import NodeState, NodeStatus, plan
from automate.execution.store import OutboxStore
from automate.governance.redaction import redact, redact_text
from automate.rules import CompiledRule, compile_rule
from automate.tenants.models import Tenant
from automate.workflows.graph import Graph, Node
from automate.workflows.models import WorkflowVersion

logger = logging.getLogger("automate.execution")

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


# --- entry point ---------------------------------------------------------------------------


def process_job(job: OutboxJob, *, store: OutboxStore, worker_id: str) -> None:
    """Run one claimed job to its end. Step failures are recorded, not raised."""
    try:
        if job.kind == OutboxJob.Kind.EVENT:
            match_event(job, store=store, worker_id=worker_id)
        elif job.kind == OutboxJob.Kind.STEP:
            run_step(job, store=store, worker_id=worker_id)
        else:
            store.mark_failed(job.pk, worker_id, f"Unknown job kind {job.kind!r}.")
    except LeaseLostError:
        logger.warning(
            "Lost the lease on job %s; its result was discarded",
            job.pk,
            extra={"trace_id": job.trace_id},
        )
    except Exception as exc:
        # A database error or an engine bug: the whole job is retried with backoff.
        logger.exception("Job %s failed", job.pk, extra={"trace_id": job.trace_id})
        _retry_or_bury(job, store=store, worker_id=worker_id, reason=_describe(exc))


def _retry_or_bury(job: OutboxJob, *, store: OutboxStore, worker_id: str, reason: str) -> None:
    if job.attempts < job.max_attempts:
        delay = backoff_delay(
            job.attempts,
            base=conf.get("EXECUTION", "backoff_base_seconds"),
            cap=conf.get("EXECUTION", "backoff_max_seconds"),
        )
        store.mark_retry(job.pk, worker_id, timezone.now() + timedelta(seconds=delay), reason)
        return
    with transaction.atomic():
        if store.mark_failed(job.pk, worker_id, reason, dead=True):
            fail_runs_of_dead_jobs([job.pk])


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


def _describe(exc: BaseException) -> str:
    return redact_text(f"{type(exc).__name__}: {exc}")


# --- events ------------------------------------------------------------------------------


def match_event(job: OutboxJob, *, store: OutboxStore, worker_id: str) -> list[ExecutionRun]:
    """Start a run of every live workflow whose trigger and rule match the job's event
    (each workflow isolated: see ``automate.execution.matching``)."""
    from automate.execution.matching import match_event as match_isolated

    return match_isolated(job, store=store, worker_id=worker_id)


# --- run state -----------------------------------------------------------------------------


def _load_states(run: ExecutionRun) -> tuple[dict[str, NodeState], dict[str, StepRun]]:
    """Each node's state for the orchestrator, and its latest current StepRun.

    A node's state is its latest current StepRun; a node with a queued job is RUNNING unless
    it already succeeded or was skipped (so a replayed failed step counts as running).
    """
    latest: dict[str, StepRun] = {}
    for step in StepRun.objects.filter(run=run, is_current=True).order_by("attempt"):
        latest[step.node_id] = step
    queued = set(
        OutboxJob.objects.filter(
            run=run, kind=OutboxJob.Kind.STEP, status__in=_ACTIVE_JOB
        ).values_list("node_id", flat=True)
    )
    states: dict[str, NodeState] = {}
    for node_id, step in latest.items():
        status = _STEP_TO_NODE.get(StepStatus(step.status), NodeStatus.RUNNING)
        if node_id in queued and status in (NodeStatus.FAILED, NodeStatus.CANCELLED):
            status = NodeStatus.RUNNING
        branch = step.outputs.get("branch") if status == NodeStatus.SUCCEEDED else None
        states[node_id] = NodeState(status=status, branch=branch)
    for node_id in queued - set(latest):
        states[node_id] = NodeState(status=NodeStatus.RUNNING)
    return states, latest


def _max_attempts(node: Node) -> int:
    retry = node.raw.get("retry") or {}
    return int(retry.get("max_retries", conf.get("EXECUTION", "max_retries"))) + 1


def _step_job(run: ExecutionRun, node: Node) -> OutboxJob:
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
        max_attempts=_max_attempts(node),
        next_attempt_at=due,
        trace_id=run.trace_id,
    )


def advance_run(
    run: ExecutionRun,
    graph: Graph,
    *,
    known: tuple[dict[str, NodeState], dict[str, StepRun]] | None = None,
) -> None:
    """Schedule what is ready, record what is skipped, and finish the run when it is done.

    Call inside a transaction holding the run row (``select_for_update``). ``known`` passes
    states the caller already has (a run that has just started), saving the queries.
    """
    states, latest = known if known is not None else _load_states(run)
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
    if decision.ready:
        OutboxJob.objects.bulk_create([_step_job(run, graph.nodes[n]) for n in decision.ready])
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
        run.outputs = {
            n: latest[n].outputs
            for n in leaves
            if n in latest and latest[n].status == StepStatus.SUCCEEDED
        }
        run.save(update_fields=["status", "finished_at", "outputs"])
        finished = run
        transaction.on_commit(
            lambda: signals.send(
                signals.workflow_completed, sender=ExecutionRun, execution=finished
            )
        )


def fail_run(run: ExecutionRun, error: str, *, now: datetime | None = None) -> None:
    """Mark a running run failed (inside a transaction holding its row) and tell receivers
    after commit."""
    run.status = RunStatus.FAILED
    run.error = error
    run.finished_at = now or timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
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


# --- steps ---------------------------------------------------------------------------------


def build_context(
    run: ExecutionRun, *, attempt: int = 1, steps: Iterable[StepRun] | None = None
) -> dict[str, Any]:
    """What templates and condition rules of a step can see: event, execution, steps.

    ``steps`` are the run's StepRuns if the caller has them (else they are loaded).
    """
    event = run.event
    version = run.workflow_version
    if steps is None:
        steps = StepRun.objects.filter(run=run, is_current=True).order_by("attempt")
    outputs: dict[str, Any] = {}
    for step in steps:
        if step.status == StepStatus.SUCCEEDED and step.is_current:
            outputs[step.node_id] = {"output": step.outputs}
    return {
        "event": {
            "id": str(event.pk),
            "type": event.type,
            "source": event.source,
            "payload": event.payload,
            "trace_id": event.trace_id,
            "created_at": event.created_at.isoformat(),
        },
        "execution": {
            "id": str(run.pk),
            "name": version.workflow.name,
            "workflow": version.workflow.slug,
            "version": version.version_num,
            "trace_id": run.trace_id,
            "attempt": attempt,
        },
        "steps": outputs,
    }


_SECRET_NAME_IN_TEMPLATE = re.compile(
    r"""secrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\])"""
)


def secret_names_in(inputs: Any) -> set[str]:
    """Secret names a node's inputs name literally (``$secret`` refs, ``secrets.NAME``).

    Only these may be resolved while the step runs, so event data can never choose which
    secret a template reads (``{{ secrets[event.payload.x] }}`` fails).
    """
    from automate.governance.secrets import collect_secret_refs

    names = set(collect_secret_refs(inputs))

    def walk(value: Any) -> None:
        if isinstance(value, str):
            for match in _SECRET_NAME_IN_TEMPLATE.finditer(value):
                names.add(match.group(1) or match.group(2))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(inputs)
    return names


_SINGLE_EXPRESSION = re.compile(r"\s*\{\{(?:(?!\}\}).)*\}\}\s*", re.S)


def mask_secret_fields(raw: Any, rendered: Any) -> Any:
    """``rendered`` with every value whose template reads a secret replaced by the mask.

    Known-value masking only catches a secret spelled exactly as stored; a template can
    slice it, upper-case it or reverse it (``{{ secrets.X[:8] }}``). So whatever a field
    that reads a secret rendered to is never stored; and when the field is one expression
    (its whole value is secret-derived), that value becomes a known value to mask anywhere.
    """
    from automate.governance.redaction import MASK, register_secret_value
    from automate.governance.secrets import is_secret_ref

    if is_secret_ref(raw) or (isinstance(raw, str) and _SECRET_NAME_IN_TEMPLATE.search(raw)):
        # What it rendered to is secret-derived: mask it wherever else it shows up too
        # (the connector's output, an error message, a log line).
        if isinstance(rendered, str) and (
            not isinstance(raw, str) or _SINGLE_EXPRESSION.fullmatch(raw)
        ):
            register_secret_value(rendered)
        return MASK
    if isinstance(raw, dict) and isinstance(rendered, dict):
        return {k: mask_secret_fields(raw.get(k), v) for k, v in rendered.items()}
    if isinstance(raw, list) and isinstance(rendered, list) and len(raw) == len(rendered):
        return [mask_secret_fields(r, v) for r, v in zip(raw, rendered, strict=True)]
    return rendered


def _restricted_resolver(
    allowed: set[str], resolved: dict[str, str], *, tenant: Tenant
) -> Callable[[Any], str]:
    """Resolves only the names the inputs name literally, and only ``tenant``'s secrets."""
    from automate.governance.secrets import resolve, secret_ref_name
    from automate.templates import TemplateError

    def resolver(ref: Any) -> str:
        name = secret_ref_name(ref)
        if name not in allowed:
            raise TemplateError(
                f"Secret {name!r} is not named in this step's inputs; "
                'write it literally (secrets.NAME or {"$secret": "NAME"}).'
            )
        if name not in resolved:
            resolved[name] = resolve(ref, tenant=tenant)
        return resolved[name]

    return resolver


def stored_inputs(node: Node, inputs: Any) -> Any:
    """What is kept (and shown) of a node's rendered inputs: secret fields masked whole,
    everything else redacted. Real runs and "Test this step" both use it."""
    if inputs is None:
        return {}
    return redact(mask_secret_fields(node.raw.get("inputs") or {}, inputs))


def run_step(job: OutboxJob, *, store: OutboxStore, worker_id: str) -> None:
    """Execute the node of a step job and record the outcome."""
    assert job.run_id is not None, "step jobs always name their run"
    run = ExecutionRun.objects.select_related("workflow_version__workflow", "event", "tenant").get(
        pk=job.run_id
    )
    graph = graph_of(run.workflow_version)
    node = graph.nodes[job.node_id]
    steps = list(StepRun.objects.filter(run=run).order_by("attempt"))
    mine = [step for step in steps if step.node_id == node.id]
    latest = next((step for step in reversed(mine) if step.is_current), None)
    if run.status != RunStatus.RUNNING or (latest and latest.status == StepStatus.SUCCEEDED):
        # A duplicate of a step that already ran, or the run failed or was cancelled while
        # this job waited: it is not run, and the explorer says why.
        with transaction.atomic():
            if not (latest and latest.status == StepStatus.SUCCEEDED):
                now = timezone.now()
                StepRun.objects.filter(run=run, node_id=node.id, status=StepStatus.RUNNING).update(
                    status=StepStatus.FAILED,
                    error="The worker running this attempt stopped answering.",
                    finished_at=now,
                )
                StepRun.objects.create(
                    run=run,
                    node_id=node.id,
                    attempt=(mine[-1].attempt + 1) if mine else 1,
                    status=StepStatus.CANCELLED,
                    error=f"Not run: the run had {run.status} before this step started.",
                    started_at=now,
                    finished_at=now,
                )
            if not store.mark_success(job.pk, worker_id):
                raise LeaseLostError(f"Lost the lease on step job {job.pk}.")
        return

    now = timezone.now()
    if any(step.status == StepStatus.RUNNING for step in mine):
        StepRun.objects.filter(run=run, node_id=node.id, status=StepStatus.RUNNING).update(
            status=StepStatus.FAILED,
            error="The worker running this attempt stopped answering (its lease expired).",
            finished_at=now,
        )
    attempt = (mine[-1].attempt + 1) if mine else 1
    started = time.monotonic()
    context = build_context(run, attempt=attempt, steps=steps)
    step = StepRun(
        run=run, node_id=node.id, attempt=attempt, status=StepStatus.RUNNING, started_at=now
    )
    try:
        resolved: dict[str, str] = {}
        inputs = render_step_inputs(node, context, resolved, tenant=run.tenant)
        step.inputs = stored_inputs(node, inputs)
        step.save(force_insert=True)
        signals.send(signals.step_started, sender=StepRun, step=step, execution=run)
        output = _execute_node(
            node, run=run, step=step, context=context, inputs=inputs, secrets=resolved
        )
    except Exception as exc:
        if step._state.adding:
            step.save(force_insert=True)
        _step_failed(
            exc,
            job=job,
            run=run,
            step=step,
            node=node,
            store=store,
            worker_id=worker_id,
            started=started,
        )
    else:
        _step_succeeded(
            output,
            job=job,
            run=run,
            step=step,
            graph=graph,
            store=store,
            worker_id=worker_id,
            started=started,
        )


def render_step_inputs(
    node: Node, context: dict[str, Any], resolved: dict[str, str], *, tenant: Tenant
) -> Any:
    """The node's inputs with templates rendered and secret references resolved.

    Secrets are ``tenant``'s (the workflow's) only, and only the names the inputs name
    literally; each value resolved is put in ``resolved`` for the connector's context.
    """
    if node.type not in ("action", "transform"):
        return None
    from automate.templates import render_inputs

    raw_inputs = node.raw.get("inputs") or {}
    resolver = _restricted_resolver(secret_names_in(raw_inputs), resolved, tenant=tenant)
    return render_inputs(raw_inputs, context, secret_resolver=resolver)


def _execute_node(
    node: Node,
    *,
    run: ExecutionRun,
    step: StepRun,
    context: dict[str, Any],
    inputs: Any,
    secrets: dict[str, str],
) -> dict[str, Any]:
    if node.type == "condition":
        result = compile_rule(node.raw.get("condition")).evaluate(context)
        return {"result": result, "branch": "true" if result else "false"}
    if node.type == "delay":
        return {"waited_seconds": node.raw.get("seconds", 0)}
    if node.type == "merge":
        steps = context["steps"]
        graph = graph_of(run.workflow_version)
        return {
            "inputs": {
                edge.source: steps[edge.source]["output"]
                for edge in graph.incoming(node.id)
                if edge.source in steps
            }
        }
    if node.type == "trigger":
        return dict(run.event.payload)
    if node.type == "transform":
        return inputs if isinstance(inputs, dict) else {"value": inputs}
    return _call_connector(node, inputs, run=run, step=step, secrets=secrets)


def _call_connector(
    node: Node,
    params: dict[str, Any],
    *,
    run: ExecutionRun,
    step: StepRun,
    secrets: dict[str, str],
) -> dict[str, Any]:
    from automate.connectors import ExecutionContext, check_connector_allowed, get_connector

    code = str(node.raw.get("connector"))
    check_connector_allowed(code)
    adapter = get_connector(code)
    timeout = float(node.raw.get("timeout_seconds") or conf.get("EXECUTION", "timeout_seconds"))
    context = ExecutionContext(
        secrets=secrets,
        idempotency_key=f"{run.pk}:{node.id}",
        trace_id=run.trace_id,
        run_id=str(run.pk),
        node_id=node.id,
        attempt=step.attempt,
        tenant=run.tenant.slug,
        timeout_seconds=timeout,
        deadline=time.monotonic() + timeout,
    )
    action = str(node.raw.get("action"))
    result: dict[str, Any] = call_with_timeout(
        lambda: adapter.run(action, params, context),
        timeout=timeout,
        name=f"step {node.id} of run {run.pk}",
    )
    return result


def call_with_timeout(fn: Callable[[], Any], *, timeout: float, name: str) -> Any:
    """Run ``fn`` in its own thread and give up waiting after ``timeout`` seconds.

    Python cannot kill a thread: a step past its timeout is failed (retryably) and its
    thread is abandoned; connectors should also pass the deadline to their own I/O.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # handed to the waiting thread, which re-raises it
            box["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise StepTimeoutError(f"The step ran past its timeout of {timeout:g} seconds.")
    if "error" in box:
        raise box["error"]
    return box["result"]


def _finish_step(step: StepRun, started: float, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(step, name, value)
    step.finished_at = timezone.now()
    step.duration_ms = int((time.monotonic() - started) * 1000)
    step.save(update_fields=[*fields, "finished_at", "duration_ms"])


def _step_succeeded(
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
        if not store.mark_success(job.pk, worker_id):
            raise LeaseLostError(f"Lost the lease on step job {job.pk}.")
        transaction.on_commit(
            lambda: signals.send(
                signals.step_completed, sender=StepRun, step=step, execution=locked
            )
        )


def _step_failed(
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
    message = redact_text(getattr(exc, "message", None) or str(exc) or type(exc).__name__)
    stack = redact_text("".join(traceback.format_exception(exc)))
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
                job.pk, worker_id, timezone.now() + timedelta(seconds=delay), message
            )
        else:
            if locked.status == RunStatus.RUNNING:
                fail_run(locked, f"Step {node.id!r} failed: {message}")

            # DEAD when retries ran out; FAILED when retrying could not help.
            marked = store.mark_failed(job.pk, worker_id, message, dead=retryable)
        if not marked:
            raise LeaseLostError(f"Lost the lease on step job {job.pk}.")
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
