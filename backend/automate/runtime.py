"""The entry points a host application calls: emit an event, or run a workflow directly.

>>> from automate.runtime import emit_event
>>> event_id = emit_event("invoice.paid", {"amount": 1200}, dedupe_key="evt_123")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction

if TYPE_CHECKING:
    from automate.execution.models import ExecutionRun
    from automate.tenants.models import Tenant


def emit_event(
    type: str,
    payload: dict[str, Any],
    dedupe_key: str | None = None,
    *,
    source: str = "api",
    tenant: Tenant | str | None = None,
    traceparent: str | None = None,
) -> str:
    """Record an event and queue it for rule matching; return the event id (a UUID string).

    The event and its outbox job are written in one transaction (inside the caller's
    transaction, if any): nothing runs inside the request, and nothing is lost if the
    process dies after commit. A ``dedupe_key`` seen before in the tenant returns the first
    event's id and writes nothing. ``traceparent`` (a W3C header) continues a trace.

    Raises ``automate.events.InvalidEventError`` if the payload is not a JSON object, the
    type or source is malformed, or the payload is over the size limit.
    """
    from automate.events.services import record_event

    event, _created = record_event(
        type=type,
        payload=payload,
        dedupe_key=dedupe_key,
        source=source,
        tenant=tenant,
        traceparent=traceparent,
    )
    return str(event.id)


def run_workflow(
    workflow_slug: str,
    payload: dict[str, Any],
    *,
    tenant: Tenant | str | None = None,
    dedupe_key: str | None = None,
    traceparent: str | None = None,
) -> ExecutionRun:
    """Start the published version of a workflow directly, bypassing the rules.

    The payload is recorded as an event of the workflow's trigger type with source
    ``manual`` (so the run has an event and a trace like any other), but that event is not
    matched against other workflows. Returns the ExecutionRun (running, or finished in
    ``synchronous`` mode); with a ``dedupe_key`` already used, returns the run that key
    started.

    Raises ``NotFoundError`` for an unknown slug, ``WorkflowInactiveError`` (409
    ``workflow_inactive``) when the workflow is switched off or archived, and
    ``NotPublishedError`` when the workflow has no published version.
    """
    from automate.events.services import record_event
    from automate.execution.services import start_run
    from automate.workflows.queries import get_live_version

    version = get_live_version(workflow_slug, tenant=tenant)
    event_type = str(version.trigger_spec.get("event_type", "")).rstrip("*.") or "workflow.run"
    with transaction.atomic():
        event, _created = record_event(
            type=event_type,
            payload=payload,
            dedupe_key=dedupe_key,
            source="manual",
            tenant=version.workflow.tenant,
            traceparent=traceparent,
            enqueue=False,
        )
        run, _ = start_run(event=event, version=version)
    # In synchronous mode the run has executed by now (after commit): return its state.
    run.refresh_from_db()
    return run
