"""Writes that start and move runs; each writes its outbox job in the same transaction."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from automate.events.models import Event
from automate.execution.models import ExecutionRun, OutboxJob
from automate.workflows.models import WorkflowVersion


def run_idempotency_key(event: Event, version: WorkflowVersion) -> str:
    """One run per (event, version): a replayed event never starts a second run."""
    return f"{event.pk}:{version.pk}"


def start_run(*, event: Event, version: WorkflowVersion) -> tuple[ExecutionRun, bool]:
    """Create the run of ``version`` for ``event`` and queue its start.

    Returns ``(run, created)``; an existing run for the pair is returned unchanged.
    """
    key = run_idempotency_key(event, version)
    with transaction.atomic():
        try:
            with transaction.atomic():
                run = ExecutionRun.objects.create(
                    tenant_id=event.tenant_id,
                    workflow_version=version,
                    event=event,
                    idempotency_key=key,
                    trace_id=event.trace_id,
                )
        except IntegrityError:
            existing = ExecutionRun.objects.filter(idempotency_key=key).first()
            if existing is None:
                raise
            return existing, False
        OutboxJob.objects.create(
            tenant_id=event.tenant_id,
            kind=OutboxJob.Kind.RUN,
            run=run,
            event=event,
            trace_id=run.trace_id,
        )
    return run, True
