"""Writes that start and steer runs; each writes its outbox jobs in the same transaction."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from automate import signals
from automate.events.models import Event
from automate.execution.exceptions import RunStateError
from automate.execution.models import ExecutionRun, OutboxJob, StepRun
from automate.execution.notify import jobs_written
from automate.execution.orchestrator import NodeState, NodeStatus
from automate.execution.run_state import advance_run, graph_of
from automate.governance import audit
from automate.governance.redaction import redact
from automate.observability.metrics import count_run_finished
from automate.typing import UserType
from automate.workflows.models import Workflow, WorkflowVersion
from automate.workflows.specs import trigger_matches

RunStatus = ExecutionRun.Status
JobStatus = OutboxJob.Status
DEAD_LETTER = (JobStatus.FAILED, JobStatus.DEAD)


def start_run(*, event: Event, version: WorkflowVersion) -> tuple[ExecutionRun, bool]:
    """Create the run of ``version`` for ``event`` and queue its first steps.

    Returns ``(run, created)``; an existing run for the pair is returned unchanged: one run
    per (event, version) is a unique constraint, so a replayed event never starts a second.
    """
    graph = graph_of(version)
    now = timezone.now()
    # No savepoint of its own when nested: the caller's transaction (matching wraps each
    # workflow in a savepoint) is what a failure rolls back; the inner savepoint is the one
    # that recovers from a run that already exists.
    with transaction.atomic(savepoint=False):
        try:
            with transaction.atomic():
                run = ExecutionRun.objects.create(
                    tenant_id=event.tenant_id,
                    workflow_version=version,
                    event=event,
                    trace_id=event.trace_id,
                    status=RunStatus.RUNNING,
                    started_at=now,
                )
        except IntegrityError:
            existing = ExecutionRun.objects.filter(event=event, workflow_version=version).first()
            if existing is None:
                raise
            return existing, False
        trigger = StepRun.objects.create(
            run=run,
            node_id=graph.trigger_id,
            attempt=1,
            status=StepRun.Status.SUCCEEDED,
            outputs=redact(event.payload),
            started_at=now,
            finished_at=now,
            duration_ms=0,
        )
        transaction.on_commit(
            lambda: signals.send(signals.workflow_started, sender=ExecutionRun, execution=run)
        )
        states = {graph.trigger_id: NodeState(status=NodeStatus.SUCCEEDED)}
        advance_run(run, graph, known=(states, {graph.trigger_id: trigger}))
    return run, True


def _revive(run: ExecutionRun) -> None:
    run.status = RunStatus.RUNNING
    run.error = ""
    run.finished_at = None
    run.save(update_fields=["status", "error", "finished_at"])
    revived = run
    transaction.on_commit(
        lambda: signals.send(signals.workflow_resumed, sender=ExecutionRun, execution=revived)
    )


def replay_job(job: OutboxJob, *, actor: UserType | None = None) -> OutboxJob:
    """Put a dead-lettered (FAILED or DEAD) job back in the queue with fresh attempts (and
    no lost claims).

    A step job's failed run is revived, so the run carries on from that step.
    """
    with transaction.atomic():
        # Lock the run before the job, the order every other writer uses.
        run = (
            ExecutionRun.objects.select_for_update().get(pk=job.run_id)
            if job.run_id is not None
            else None
        )
        job = OutboxJob.objects.select_for_update().get(pk=job.pk)
        if job.status not in DEAD_LETTER:
            raise RunStateError(
                gettext(
                    "Job %(job)s is %(status)s, not dead-lettered; only FAILED or DEAD jobs "
                    "can be replayed."
                )
                % {"job": job.pk, "status": job.status},
                details={"job": job.pk, "status": job.status},
            )
        if run is not None:
            if run.status == RunStatus.CANCELLED:
                raise RunStateError(
                    gettext("The run was cancelled; its jobs cannot be replayed."),
                    details={"run": str(run.pk)},
                )
            if run.status == RunStatus.FAILED:
                _revive(run)
        job.status = JobStatus.PENDING
        job.attempts = 0
        job.lost_claims = 0
        job.next_attempt_at = None
        job.locked_by = ""
        job.lease_expires_at = None
        job.save()
        jobs_written()
        audit.record(
            action="job.replay",
            resource_type="outbox_job",
            resource_id=job.pk,
            actor=actor,
            tenant=job.tenant,
            details={"kind": job.kind, "run": str(job.run_id or ""), "node": job.node_id},
            trace_id=job.trace_id,
        )
    return job


def _latest_step(run: ExecutionRun, node_id: str) -> StepRun | None:
    return (
        StepRun.objects.filter(run=run, node_id=node_id, is_current=True)
        .order_by("-attempt")
        .first()
    )


def retry_step(*, run: ExecutionRun, node_id: str, actor: UserType | None = None) -> ExecutionRun:
    """Run a failed step again; when it succeeds the run carries on from there."""
    with transaction.atomic():
        run = ExecutionRun.objects.select_for_update().get(pk=run.pk)
        latest = _latest_step(run, node_id)
        if latest is None or latest.status != StepRun.Status.FAILED:
            raise RunStateError(
                gettext("Step %(node)r has not failed, so there is nothing to retry.")
                % {"node": node_id},
                details={"run": str(run.pk), "node": node_id},
            )
        if run.status not in (RunStatus.FAILED, RunStatus.RUNNING):
            raise RunStateError(
                gettext("The run is %(status)s; only a failed run's steps can be retried.")
                % {"status": run.status},
                details={"run": str(run.pk), "status": run.status},
            )
        job = (
            OutboxJob.objects.filter(run=run, node_id=node_id, status__in=DEAD_LETTER)
            .order_by("-pk")
            .first()
        )
        if job is None:
            raise RunStateError(
                gettext("Step %(node)r has no failed job to retry.") % {"node": node_id},
                details={"run": str(run.pk), "node": node_id},
            )
        # Siblings that were not run because the run had failed get planned again.
        StepRun.objects.filter(run=run, status=StepRun.Status.CANCELLED).update(is_current=False)
        replay_job(job, actor=actor)
        audit.record(
            action="run.retry_step",
            resource_type="execution_run",
            resource_id=run.pk,
            actor=actor,
            tenant=run.tenant,
            details={"node": node_id},
            trace_id=run.trace_id,
        )
    run.refresh_from_db()
    return run


def resume_run(*, run: ExecutionRun, from_node: str, actor: UserType | None = None) -> ExecutionRun:
    """Run ``from_node`` and everything after it again, keeping earlier steps' outputs."""
    graph = graph_of(run.workflow_version)
    if from_node not in graph.nodes or from_node == graph.trigger_id:
        raise RunStateError(
            gettext("%(node)r is not a step of this workflow that can be resumed from.")
            % {"node": from_node},
            details={"node": from_node},
        )
    with transaction.atomic():
        run = ExecutionRun.objects.select_for_update().get(pk=run.pk)
        if run.status not in (RunStatus.FAILED, RunStatus.SUCCEEDED):
            raise RunStateError(
                gettext("The run is %(status)s; only a finished run can be resumed.")
                % {"status": run.status},
                details={"run": str(run.pk), "status": run.status},
            )
        not_run = set(
            StepRun.objects.filter(
                run=run, status=StepRun.Status.CANCELLED, is_current=True
            ).values_list("node_id", flat=True)
        )
        reset = {from_node} | graph.descendants(from_node) | not_run
        StepRun.objects.filter(run=run, node_id__in=reset).update(is_current=False)
        # Dead letters of the re-run steps are superseded by the resume.
        OutboxJob.objects.filter(run=run, node_id__in=reset, status__in=DEAD_LETTER).update(
            status=JobStatus.COMPLETED, last_error="Superseded by a resume of the run."
        )
        _revive(run)
        run.outputs = {}
        run.save(update_fields=["outputs"])
        advance_run(run, graph)
        audit.record(
            action="run.resume",
            resource_type="execution_run",
            resource_id=run.pk,
            actor=actor,
            tenant=run.tenant,
            details={"from_node": from_node, "reset": sorted(reset)},
            trace_id=run.trace_id,
        )
    run.refresh_from_db()
    return run


def cancel_run(*, run: ExecutionRun, actor: UserType | None = None) -> ExecutionRun:
    """Stop a run: its queued jobs never start; a step already running finishes alone."""
    with transaction.atomic():
        run = ExecutionRun.objects.select_for_update().get(pk=run.pk)
        if run.status not in (RunStatus.PENDING, RunStatus.RUNNING):
            raise RunStateError(
                gettext("The run is already %(status)s.") % {"status": run.status},
                details={"run": str(run.pk), "status": run.status},
            )
        now = timezone.now()
        run.status = RunStatus.CANCELLED
        run.finished_at = now
        run.save(update_fields=["status", "finished_at"])
        cancelled = run
        transaction.on_commit(
            lambda: signals.send(
                signals.workflow_cancelled, sender=ExecutionRun, execution=cancelled
            )
        )
        count_run_finished(RunStatus.CANCELLED)
        # COMPLETED, not FAILED: a job dropped by a cancel did not give up, so it is no
        # dead letter (the explorer's tab lists the jobs that gave up).
        dropped = OutboxJob.objects.filter(run=run, status=JobStatus.PENDING).update(
            status=JobStatus.COMPLETED, last_error="The run was cancelled.", updated_at=now
        )
        StepRun.objects.filter(run=run, status=StepRun.Status.RETRYING).update(
            status=StepRun.Status.CANCELLED, finished_at=now
        )
        audit.record(
            action="run.cancel",
            resource_type="execution_run",
            resource_id=run.pk,
            actor=actor,
            tenant=run.tenant,
            details={"dropped_jobs": dropped},
            trace_id=run.trace_id,
        )
    return run


def rerun_on_live(*, run: ExecutionRun, actor: UserType | None = None) -> ExecutionRun:
    """Start a new run of ``run``'s event on the workflow's live version.

    Retry and resume keep the run's own version (a run is pinned to the version it started
    on); this is how a fix published since reaches an event that failed. The rule is not
    evaluated again: the user asked for this event to run. Refused (``RunStateError``)
    when the workflow is inactive or has no live version, when the live version's trigger
    does not fire on this event's type and source (it was changed since), and when the live version
    already has a run for this event (the run itself, or an earlier re-run): one run per
    (event, version) stays the rule, and that run's details name it so the user can open
    it and retry or resume it there, explicitly.
    """
    with transaction.atomic():
        workflow = Workflow.objects.select_for_update().get(pk=run.workflow_version.workflow_id)
        live = workflow.live_version
        if not workflow.is_active or live is None:
            message = (
                gettext("The workflow %(name)s is switched off; switch it on to re-run events.")
                if not workflow.is_active
                else gettext("The workflow %(name)s has no live version: publish one first.")
            )
            raise RunStateError(
                message % {"name": workflow.name},
                details={"run": str(run.pk), "workflow": workflow.pk},
            )
        event = Event.objects.get(pk=run.event_id)
        if not trigger_matches(live.trigger_spec, event_type=event.type, source=event.source):
            raise RunStateError(
                gettext(
                    "The live version v%(version)s starts on %(wanted)s events; this event is "
                    "%(type)s (from %(source)s), so it cannot run there."
                )
                % {
                    "version": live.version_num,
                    "wanted": live.trigger_spec.get("event_type", "?"),
                    "type": event.type,
                    "source": event.source,
                },
                details={"run": str(run.pk), "event_type": event.type},
            )
        existing = ExecutionRun.objects.filter(event_id=run.event_id, workflow_version=live).first()
        if existing is None:
            new_run, created = start_run(event=event, version=live)
            if created:
                audit.record(
                    action="run.rerun_live",
                    resource_type="execution_run",
                    resource_id=new_run.pk,
                    actor=actor,
                    tenant=new_run.tenant,
                    details={
                        "from_run": str(run.pk),
                        "from_version": run.workflow_version.version_num,
                        "version": live.version_num,
                        "event": str(run.event_id),
                    },
                    trace_id=new_run.trace_id,
                )
                return new_run
            existing = new_run  # the matcher started this pair's run meanwhile
        raise RunStateError(
            gettext(
                "This event already has a run on the live version v%(version)s; open that run "
                "to retry or resume it."
            )
            % {"version": live.version_num},
            details={"run": str(run.pk), "existing_run": str(existing.pk)},
        )


def run_summary(run: ExecutionRun) -> dict[str, Any]:
    """A small dict describing a run (for logs, signals and the API)."""
    return {
        "id": str(run.pk),
        "status": run.status,
        "workflow": run.workflow_version.workflow.slug,
        "version": run.workflow_version.version_num,
        "trace_id": run.trace_id,
    }
