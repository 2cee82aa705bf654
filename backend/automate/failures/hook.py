"""Called once where a run is marked failed (``execution.run_state.fail_run``).

``run_failed(run)`` runs inside the transaction that holds the run row and has just saved
its FAILED state, so what it writes commits (or rolls back) with that state:

* a ``RunFailure`` row, unique per run: the second failure of a run (after a retry or a
  resume) and a redone transaction add nothing;
* when the workflow names an error workflow: an ``automate.run.failed`` event (source
  ``automate.failure``, dedupe key ``run-failed:<run id>``, not matched against rules)
  and the error workflow's run on its live version, whatever its trigger says, like
  ``run_workflow``. Its first steps are queued in the same transaction (the outbox);
* when notifications are set: the notice, pending, sent after commit.

The loop rule: a run started as an error workflow's run (its event has source
``automate.failure``) never starts an error workflow, so A -> B -> A stops after B.
An error workflow that is switched off, archived or never published starts nothing: the
reason is kept on the ``RunFailure`` (shown on the failed run's page) and audited
(``workflow.error_workflow_skipped``). Nothing here fails the original run's
finalization: a problem starting the error workflow is caught in a savepoint and noted.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from automate.events.models import Event
from automate.exceptions import AutomateError
from automate.execution.models import ExecutionRun
from automate.failures.models import RunFailure
from automate.failures.payload import EVENT_SOURCE, EVENT_TYPE, failure_payload
from automate.governance import audit
from automate.observability.tracing import format_traceparent
from automate.workflows.models import Workflow, WorkflowVersion

logger = logging.getLogger("automate.failures")

Notice = RunFailure.Notice


def dedupe_key_of(run_id: object) -> str:
    """The dedupe key of the ``automate.run.failed`` event of run ``run_id``."""
    return f"run-failed:{run_id}"


def started_as_error_handler(event: Event) -> bool:
    """Whether a run with this event was started as an error workflow's run."""
    return event.source == EVENT_SOURCE and event.type == EVENT_TYPE


def run_failed(run: ExecutionRun) -> RunFailure | None:
    """Record what to do about ``run``'s failure (see the module docstring); None when the
    workflow sets nothing, this failure was already recorded, or recording it failed.

    Runs in a savepoint of the transaction that fails the run, and never raises: whatever
    goes wrong here (a bug, a bad row) is logged and rolled back to the savepoint, and the
    run is still finalized as failed."""
    try:
        with transaction.atomic():
            return _record_failure(run)
    except Exception:
        logger.exception(
            "Could not record the failure of run %s (error workflow, notice)",
            run.pk,
            extra={"run_id": str(run.pk), "trace_id": run.trace_id},
        )
        return None


def _record_failure(run: ExecutionRun) -> RunFailure | None:
    version = WorkflowVersion.objects.select_related("workflow__tenant").get(
        pk=run.workflow_version_id
    )
    workflow = version.workflow
    notify = bool(
        (workflow.notify_slack_channel and workflow.notify_slack_token_secret)
        or workflow.notify_email_to
    )
    if workflow.error_workflow_id is None and not notify:
        return None
    if RunFailure.objects.filter(run_id=run.pk).exists():
        return None
    event = Event.objects.get(pk=run.event_id)
    failure = RunFailure(tenant_id=run.tenant_id, run=run, workflow=workflow)
    if workflow.error_workflow_id is not None:
        if started_as_error_handler(event):
            failure.error_workflow_note = gettext(
                "Not started: this run is itself an error workflow's run, and error "
                "workflows do not start other error workflows."
            )
        else:
            _start_error_workflow(failure, run, workflow, version, event)
    if notify:
        failure.notice_status = _notice_status(workflow)
        failure.notice_due_at = timezone.now() if failure.notice_status == Notice.PENDING else None
    failure.save()
    if failure.error_workflow_note:
        audit.record(
            action="workflow.error_workflow_skipped",
            resource_type="run",
            resource_id=run.pk,
            tenant=workflow.tenant,
            details={
                "workflow": workflow.slug,
                "error_workflow_id": workflow.error_workflow_id,
                "reason": failure.error_workflow_note,
            },
            trace_id=run.trace_id,
        )
    if failure.notice_status == Notice.PENDING:
        from automate.failures.notify import deliver_notice

        transaction.on_commit(partial(deliver_notice, failure.pk), robust=True)
    return failure


def _notice_status(workflow: Workflow) -> str:
    quiet = workflow.notify_quiet_minutes
    if quiet:
        since = timezone.now() - timedelta(minutes=quiet)
        noticed = RunFailure.objects.filter(
            workflow=workflow,
            created_at__gte=since,
            notice_status__in=[Notice.PENDING, Notice.SENDING, Notice.SENT, Notice.FAILED],
        )
        if noticed.exists():
            return Notice.SUPPRESSED
    return Notice.PENDING


def _why_not(target: Workflow | None) -> str:
    if target is None:
        return gettext("Not started: the error workflow no longer exists in this tenant.")
    if target.archived_at is not None:
        return gettext("Not started: the error workflow %(name)s is archived.") % {
            "name": target.name
        }
    if not target.is_active:
        return gettext("Not started: the error workflow %(name)s is switched off.") % {
            "name": target.name
        }
    if target.live_version is None:
        return gettext("Not started: the error workflow %(name)s has no published version.") % {
            "name": target.name
        }
    return ""


def _start_error_workflow(
    failure: RunFailure,
    run: ExecutionRun,
    workflow: Workflow,
    version: WorkflowVersion,
    event: Event,
) -> None:
    from automate.events.services import record_event
    from automate.execution.run_state import claimed_so_far
    from automate.execution.services import start_run

    target = None
    if workflow.error_workflow_id is not None:
        target = (
            Workflow.objects.select_related("live_version")
            .filter(pk=workflow.error_workflow_id, tenant_id=run.tenant_id)
            .first()
        )
    failure.error_workflow_note = _why_not(target)
    if failure.error_workflow_note or target is None or target.live_version is None:
        return
    payload = failure_payload(run=run, workflow=workflow, version=version, event=event)
    claimed = claimed_so_far()
    claimed_before = len(claimed) if claimed is not None else 0
    try:
        with transaction.atomic():
            handler_event, _ = record_event(
                type=EVENT_TYPE,
                payload=payload,
                dedupe_key=dedupe_key_of(run.pk),
                source=EVENT_SOURCE,
                tenant=workflow.tenant,
                traceparent=format_traceparent(run.trace_id),
                enqueue=False,
            )
            failure.error_run, _ = start_run(event=handler_event, version=target.live_version)
    except (AutomateError, DatabaseError) as exc:
        # The failed run is finalized whatever happens to its error workflow.
        if claimed is not None:
            del claimed[claimed_before:]
        failure.error_run = None
        failure.error_workflow_note = (
            gettext("Not started: %(error)s") % {"error": str(exc)[:200]}
        )[:300]
        logger.warning(
            "Error workflow of run %s not started: %s",
            run.pk,
            exc,
            extra={"run_id": str(run.pk), "trace_id": run.trace_id},
        )
