import uuid

import pytest
from django.db import transaction
from django.test import override_settings

from automate.events import InvalidEventError
from automate.events.models import Event, ImmutableRecordError
from automate.execution.models import OutboxJob
from automate.runtime import emit_event
from automate.signals import event_received
from tests.factories import make_tenant

pytestmark = pytest.mark.django_db(transaction=True)


@override_settings(DJANGO_AUTOMATE={"WORKER_MODE": "process"})
def test_emit_writes_the_event_and_its_outbox_job():
    event_id = emit_event("invoice.paid", {"amount": 1200}, source="stripe")

    assert str(uuid.UUID(event_id)) == event_id
    event = Event.objects.get(pk=event_id)
    assert (event.type, event.source, event.payload) == ("invoice.paid", "stripe", {"amount": 1200})
    assert event.tenant.slug == "default"
    assert len(event.trace_id) == 32
    job = OutboxJob.objects.get(event=event)
    assert job.kind == OutboxJob.Kind.EVENT
    assert job.status == OutboxJob.Status.PENDING
    assert job.trace_id == event.trace_id


def test_same_dedupe_key_returns_first_event_and_writes_nothing():
    first = emit_event("invoice.paid", {"amount": 1}, dedupe_key="evt_1")
    second = emit_event("invoice.paid", {"amount": 999}, dedupe_key="evt_1")

    assert second == first
    assert Event.objects.count() == 1
    assert OutboxJob.objects.count() == 1
    assert Event.objects.get().payload == {"amount": 1}


def test_dedupe_keys_are_compared_exactly_on_every_database():
    """Two provider ids that differ only in case or a trailing space are two events, also
    on MySQL/MariaDB, whose default collation ignores both (docs/howto/mysql.md)."""
    keys = ["evt_1AbC", "evt_1abc", "evt_1abc "]
    ids = {emit_event("invoice.paid", {}, dedupe_key=key) for key in keys}
    assert len(ids) == 3
    assert sorted(Event.objects.values_list("dedupe_key", flat=True)) == sorted(keys)
    assert emit_event("invoice.paid", {}, dedupe_key="evt_1abc") in ids
    assert Event.objects.count() == 3


def test_dedupe_keys_are_scoped_per_tenant():
    other = make_tenant("acme")
    a = emit_event("invoice.paid", {}, dedupe_key="evt_1")
    b = emit_event("invoice.paid", {}, dedupe_key="evt_1", tenant=other)
    assert a != b
    assert Event.objects.count() == 2


def test_duplicate_inside_a_callers_transaction_does_not_break_it():
    emit_event("invoice.paid", {}, dedupe_key="evt_1")
    with transaction.atomic():
        emit_event("invoice.paid", {}, dedupe_key="evt_1")
        emit_event("invoice.paid", {}, dedupe_key="evt_2")
    assert Event.objects.count() == 2


def test_event_rolls_back_with_the_callers_transaction():
    class Boom(Exception):
        pass

    def emit_then_fail():
        with transaction.atomic():
            emit_event("invoice.paid", {"amount": 5})
            raise Boom

    with pytest.raises(Boom):
        emit_then_fail()
    assert Event.objects.count() == 0
    assert OutboxJob.objects.count() == 0


@pytest.mark.parametrize("payload", [[1], "x", None, 3.5])
def test_non_object_payload_raises_and_writes_nothing(payload):
    with pytest.raises(InvalidEventError, match="must be a JSON object"):
        emit_event("invoice.paid", payload)
    assert Event.objects.count() == 0
    assert OutboxJob.objects.count() == 0


def test_traceparent_sets_the_trace_id():
    event_id = emit_event(
        "invoice.paid",
        {},
        traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    )
    assert Event.objects.get(pk=event_id).trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_event_received_is_sent_once_after_commit():
    seen = []

    def receiver(sender, event, **kwargs):
        seen.append(event.id)

    event_received.connect(receiver)
    try:
        with transaction.atomic():
            event_id = emit_event("invoice.paid", {})
            assert seen == []  # not before commit
        emit_event("invoice.paid", {}, dedupe_key="k")
        emit_event("invoice.paid", {}, dedupe_key="k")  # a duplicate announces nothing
    finally:
        event_received.disconnect(receiver)
    assert len(seen) == 2
    assert str(seen[0]) == event_id


def test_events_are_immutable():
    event = Event.objects.get(pk=emit_event("invoice.paid", {"amount": 1}))
    event.payload = {"amount": 2}
    with pytest.raises(ImmutableRecordError):
        event.save()
    assert Event.objects.get(pk=event.pk).payload == {"amount": 1}


def test_unknown_tenant_is_an_error():
    from automate.exceptions import NotFoundError

    with pytest.raises(NotFoundError, match="'nope' does not exist"):
        emit_event("invoice.paid", {}, tenant="nope")
    assert Event.objects.count() == 0


@override_settings(DJANGO_AUTOMATE={"WORKER_MODE": "process"})
def test_job_written_listeners_run_in_the_writing_transaction():
    """How the execution plane is woken (NOTIFY, inline drain) without events importing it."""
    from automate.events import hooks

    seen = []

    def listener():
        seen.append((transaction.get_connection().in_atomic_block, OutboxJob.objects.count()))
        if len(seen) == 2:
            raise RuntimeError("listener failed")

    hooks.connect_jobs_written(listener)
    hooks.connect_jobs_written(listener)  # connected once, however often
    try:
        emit_event("invoice.paid", {})
        with pytest.raises(RuntimeError):
            emit_event("invoice.paid", {})
    finally:
        hooks.disconnect_jobs_written(listener)
    emit_event("invoice.paid", {})

    assert seen == [(True, 1), (True, 2)]
    assert Event.objects.count() == OutboxJob.objects.count() == 2  # the failed write rolled back
