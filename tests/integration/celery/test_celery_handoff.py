"""The relay and the takeover in this process, on Celery's in-memory transport (any
database, no broker): a message taken over twice runs once, a stopped relay gives back
what no Celery worker took. The same against real brokers and processes:
test_celery_backend.py."""

import logging
import threading
import time
import uuid

import pytest
from celery import Celery
from django.db import connections
from django.test import override_settings
from django.utils import timezone
from prometheus_client import REGISTRY

from automate.execution.celery_relay import MAX_SENDS, TASK_NAME, CeleryRelay
from automate.execution.celery_task import run_handed_off, stop_this_process
from automate.execution.models import ExecutionRun, OutboxJob, StepRun, WorkerProcess
from automate.runtime import emit_event
from tests.factories import make_published

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queue():
    name = f"automate-handoff-{uuid.uuid4().hex[:8]}"
    with override_settings(
        DJANGO_AUTOMATE={
            "WORKER_MODE": "process",
            "CONNECTORS": ["tests.support.connectors.TestKitConnector"],
            "EXECUTION": {"backend": "celery", "celery_queue": name},
        }
    ):
        yield name
    stop_this_process()


@pytest.fixture
def app():
    with Celery("automate-handoff", broker="memory://", set_as_current=False) as app:
        yield app


def echo_workflow():
    make_published(
        slug="echo",
        rule_spec={},
        trigger_spec={"event_type": "thing.done"},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {"id": "echo", "type": "action", "connector": "testkit", "action": "echo"},
            ],
            "edges": [{"source": "trigger", "target": "echo"}],
        },
    )


def start(relay):
    def run():
        try:
            relay.run()
        finally:
            connections.close_all()  # as the embedded worker's thread does

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def wait_for(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def sent_messages(app, queue, count=1):
    """The ``[[job id, claim], ...]`` of the next ``count`` messages sent to ``queue``."""
    found = []
    with app.connection_for_read() as conn, conn.SimpleQueue(queue) as waiting:
        for _ in range(count):
            message = waiting.get(timeout=10)
            assert message.headers["task"] == TASK_NAME
            (pairs,), _, _ = message.decode()
            found.append(pairs)
            message.ack()
    return found


def test_a_message_taken_over_twice_runs_its_job_once(queue, app):
    echo_workflow()
    relay = CeleryRelay(worker_id="relay", poll_interval=0.05, app=app)
    thread = start(relay)
    emit_event("thing.done", {})
    wait_for(lambda: OutboxJob.objects.filter(status="CLAIMED", locked_by="relay").exists())
    job = OutboxJob.objects.get()
    (pairs,) = sent_messages(app, queue)
    assert pairs == [[job.pk, job.claims]]

    assert run_handed_off(pairs) == 1  # the event matched, its step run (one hop)
    assert run_handed_off(pairs) == 0  # the same message again: nothing taken over

    run = ExecutionRun.objects.get()
    assert run.status == "succeeded"
    assert list(StepRun.objects.filter(node_id="echo").values_list("status", flat=True)) == [
        "succeeded"
    ]
    job.refresh_from_db()
    assert job.status == "COMPLETED"
    assert job.locked_by.startswith("celery:")
    assert job.claims == 2, "the takeover moved the claim on"
    assert job.attempts == 1, "and charged no second attempt"
    # The Celery process is a worker of its own (a WorkerProcess row, beating).
    assert WorkerProcess.objects.filter(pk=job.locked_by).exists()
    wait_for(lambda: relay.processed == 1)
    relay.stop()
    thread.join(10)


def test_a_stopped_relay_gives_back_what_no_celery_worker_took(queue, app):
    echo_workflow()
    relay = CeleryRelay(worker_id="relay", poll_interval=0.05, app=app)
    thread = start(relay)
    emit_event("thing.done", {})
    wait_for(lambda: OutboxJob.objects.filter(status="CLAIMED", locked_by="relay").exists())
    (pairs,) = sent_messages(app, queue)
    relay.stop()
    thread.join(10)

    job = OutboxJob.objects.get()
    assert (job.status, job.locked_by, job.attempts) == ("PENDING", "", 0)
    assert run_handed_off(pairs) == 0, "the message that comes later is dropped"
    assert not ExecutionRun.objects.exists()
    assert not WorkerProcess.objects.filter(pk="relay").exists()


def test_sent_jobs_keep_their_leases_while_a_duty_blocks_longer_than_a_lease(queue, app):
    from automate.execution import duties

    release = threading.Event()

    def slow_duty():
        # Blocks the relay's loop once a job was sent (the first turn runs before that).
        if OutboxJob.objects.filter(status="CLAIMED", locked_by="relay").exists():
            release.wait(15)

    echo_workflow()
    settings = {
        "WORKER_MODE": "process",
        "CONNECTORS": ["tests.support.connectors.TestKitConnector"],
        "EXECUTION": {"backend": "celery", "celery_queue": queue, "lease_seconds": 2},
    }
    duties.connect(slow_duty)
    try:
        with override_settings(DJANGO_AUTOMATE=settings):
            relay = CeleryRelay(
                worker_id="relay", poll_interval=0.05, schedule_interval=0.05, app=app
            )
            thread = start(relay)
            emit_event("thing.done", {})
            wait_for(lambda: OutboxJob.objects.filter(status="CLAIMED", locked_by="relay").exists())
            (pairs,) = sent_messages(app, queue)
            time.sleep(3.5)  # the loop is stuck in the duty for longer than a lease
            job = OutboxJob.objects.get()
            assert job.lease_expires_at > timezone.now(), "the sent job's lease was kept"
            assert run_handed_off(pairs) == 1, "so a Celery worker can still take it over"
            release.set()
            relay.stop()
            thread.join(10)
    finally:
        release.set()
        duties.disconnect(slow_duty)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.lost_claims) == ("COMPLETED", 1, 0)
    assert ExecutionRun.objects.get().status == "succeeded"


def test_jobs_nobody_takes_over_are_given_back_after_the_last_send(queue, app, caplog):
    # Nothing consumes the queue (no Celery worker): every send goes unanswered.
    expired = "automate_celery_handoffs_expired_total"
    before = REGISTRY.get_sample_value(expired) or 0.0
    echo_workflow()
    relay = CeleryRelay(worker_id="relay", poll_interval=0.05, app=app)
    relay.handoff_seconds = 0.05  # waits of 1, 2, 4, 8, 10 handoffs: 1.25 s in all
    thread = start(relay)
    emit_event("thing.done", {})
    with caplog.at_level(logging.ERROR, logger="automate.worker"):
        wait_for(lambda: (REGISTRY.get_sample_value(expired) or 0.0) > before)
        # Given back with its attempt refunded, then claimed and sent again: never buried.
        wait_for(lambda: OutboxJob.objects.get().claims >= 2)
    relay.stop()
    thread.join(10)

    assert sent_messages(app, queue, count=MAX_SENDS + 1), "sent MAX_SENDS times, then again"
    job = OutboxJob.objects.get()
    assert (job.status, job.attempts, job.lost_claims) == ("PENDING", 0, 0)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    message = next(m for m in errors if "not taken over" in m)
    assert "not taken over after 5 sends" in message
    assert f"no Celery worker consumes the queue '{queue}'" in message
    assert f"the task {TASK_NAME} is not registered" in message
