"""Writing events: the event and its outbox job commit together, or not at all."""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction

from automate import conf
from automate.events import hooks, validation
from automate.events.models import Event
from automate.execution.models import OutboxJob
from automate.observability.tracing import new_trace_id, parse_traceparent
from automate.tenants.models import Tenant
from automate.tenants.services import resolve_tenant

logger = logging.getLogger("automate.events")


def record_event(
    *,
    type: str,
    payload: Any,
    dedupe_key: str | None = None,
    source: str = "api",
    tenant: Tenant | str | None = None,
    traceparent: str | None = None,
    raw_body: bytes | None = None,
    enqueue: bool = True,
) -> tuple[Event, bool]:
    """Store an event (and, with ``enqueue``, the job that matches it to workflows).

    Returns ``(event, created)``. A ``dedupe_key`` already used in the tenant returns the
    first event with ``created=False`` and writes nothing. Uniqueness is enforced by the
    database, so two processes racing with the same key still get one event.
    """
    validation.check_name("type", type)
    validation.check_name("source", source)
    dedupe_key = validation.check_dedupe_key(dedupe_key)
    clean_payload = validation.check_payload(
        payload, max_bytes=conf.get("RETENTION", "max_payload_bytes")
    )
    tenant_obj = resolve_tenant(tenant)
    trace_id = parse_traceparent(traceparent) or new_trace_id()

    with transaction.atomic():
        try:
            # A savepoint, so a duplicate key does not break a caller's transaction.
            with transaction.atomic():
                event = Event.objects.create(
                    tenant=tenant_obj,
                    type=type,
                    source=source,
                    payload=clean_payload,
                    dedupe_key=dedupe_key,
                    trace_id=trace_id,
                    raw_body=raw_body if conf.get("EVENTS", "keep_raw_body") else None,
                )
        except IntegrityError:
            if dedupe_key is None:
                raise
            existing = Event.objects.filter(tenant=tenant_obj, dedupe_key=dedupe_key).first()
            if existing is None:
                raise
            logger.info(
                "Duplicate event %s ignored (dedupe_key seen before)",
                existing.id,
                extra={"event_id": str(existing.id), "trace_id": existing.trace_id},
            )
            return existing, False
        if enqueue:
            OutboxJob.objects.create(
                tenant=tenant_obj, kind=OutboxJob.Kind.EVENT, event=event, trace_id=trace_id
            )
            hooks.jobs_written()
        transaction.on_commit(lambda: _announce(event))
    return event, True


def _announce(event: Event) -> None:
    from automate.signals import event_received, send

    logger.debug(
        "Event %s received: %s from %s",
        event.id,
        event.type,
        event.source,
        extra={"event_id": str(event.id), "trace_id": event.trace_id},
    )
    send(event_received, sender=Event, event=event)
