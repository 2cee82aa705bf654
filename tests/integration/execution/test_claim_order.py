"""The claim order: due step jobs before due event jobs, each oldest first.

Under a backlog of new events, steps of runs already started must not wait behind the
whole backlog: runs complete from the first batches on. Runs on SQLite and PostgreSQL.
"""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from automate.execution.models import ExecutionRun, OutboxJob
from automate.execution.runner import process_job
from automate.execution.worker import Worker
from automate.outbox import default_store
from automate.runtime import emit_event
from tests.factories import make_published

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def process_mode():
    with override_settings(
        DJANGO_AUTOMATE={
            "WORKER_MODE": "process",
            "CONNECTORS": ["tests.support.connectors.TestKitConnector"],
        }
    ):
        yield


def publish_one_step():
    return make_published(
        slug="one-step",
        rule_spec={},
        trigger_spec={"event_type": "thing.happened"},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {
                    "id": "echo",
                    "type": "action",
                    "connector": "testkit",
                    "action": "echo",
                    "inputs": {"i": "{{ event.payload.i }}"},
                },
            ],
            "edges": [{"source": "trigger", "target": "echo"}],
        },
    )


def test_step_jobs_created_later_are_claimed_before_older_event_jobs():
    publish_one_step()
    for i in range(53):
        emit_event("thing.happened", {"i": i})
    store = default_store()
    # Match three events (one job at a time: no hop), queueing one step job each, newer
    # than every event job.
    for job in store.claim_batch("matcher", 3):
        assert job.kind == OutboxJob.Kind.EVENT
        process_job(job, store=store, worker_id="matcher")
    assert OutboxJob.objects.filter(kind="event", status="PENDING").count() == 50
    steps = list(
        OutboxJob.objects.filter(kind="step", status="PENDING")
        .order_by("id")
        .values_list("id", flat=True)
    )
    assert len(steps) == 3

    batch = store.claim_batch("w1", 5)
    assert [job.kind for job in batch] == ["step"] * 3 + ["event"] * 2
    assert [job.pk for job in batch[:3]] == steps
    oldest_events = list(
        OutboxJob.objects.filter(kind="event").order_by("id").values_list("id", flat=True)[3:5]
    )
    assert [job.pk for job in batch[3:]] == oldest_events


def test_step_jobs_not_yet_due_do_not_block_event_jobs():
    publish_one_step()
    for i in range(4):
        emit_event("thing.happened", {"i": i})
    store = default_store()
    process_job(store.claim_batch("matcher", 1)[0], store=store, worker_id="matcher")
    later = timezone.now() + timedelta(minutes=5)
    OutboxJob.objects.filter(kind="step").update(next_attempt_at=later)
    batch = store.claim_batch("w1", 10)
    assert [job.kind for job in batch] == ["event"] * 3


def test_runs_complete_from_the_first_batches_under_a_backlog_without_the_hop():
    publish_one_step()
    for i in range(200):
        emit_event("thing.happened", {"i": i})
    store = default_store()
    completed_after: list[int] = []
    for _ in range(5):
        for job in store.claim_batch("w1", 10):
            process_job(job, store=store, worker_id="w1")
        completed_after.append(ExecutionRun.objects.filter(status="succeeded").count())
    # Batch 1 matches 10 events; batch 2 runs their 10 steps before any new event.
    assert completed_after[0] == 0
    assert completed_after[1] >= 10
    assert completed_after[-1] >= 20
    assert OutboxJob.objects.filter(kind="event", status="PENDING").count() >= 170


def test_a_worker_runs_the_first_steps_of_the_runs_it_starts_in_the_same_batch():
    publish_one_step()
    for i in range(200):
        emit_event("thing.happened", {"i": i})
    worker = Worker(worker_id="w1", concurrency=1, batch_size=10)
    store = worker.store
    completed_after: list[int] = []
    for _ in range(5):
        worker.process_claimed(store.claim_batch("w1", 10))
        completed_after.append(ExecutionRun.objects.filter(status="succeeded").count())
    # One hop: the steps of the runs a batch starts are claimed for it and run at once.
    assert completed_after == [10, 20, 30, 40, 50]
    assert OutboxJob.objects.filter(kind="event", status="PENDING").count() == 150
    assert not OutboxJob.objects.exclude(status__in=["COMPLETED", "PENDING"]).exists()
    step_jobs = OutboxJob.objects.filter(kind="step")
    assert {(job.status, job.locked_by, job.attempts) for job in step_jobs} == {
        ("COMPLETED", "w1", 1)
    }


def test_a_batch_of_events_with_one_lost_lease_falls_back_to_one_job_at_a_time():
    publish_one_step()
    for i in range(5):
        emit_event("thing.happened", {"i": i})
    worker = Worker(worker_id="w1", concurrency=1, batch_size=5)
    batch = worker.store.claim_batch("w1", 5)
    stolen = batch[2]
    OutboxJob.objects.filter(pk=stolen.pk).update(locked_by="someone-else")
    worker.process_claimed(batch)
    # The four jobs still held started their runs (and ran their steps); the stolen one
    # wrote nothing.
    assert ExecutionRun.objects.filter(status="succeeded").count() == 4
    assert not ExecutionRun.objects.filter(event_id=stolen.event_id).exists()
    assert OutboxJob.objects.get(pk=stolen.pk).status == "CLAIMED"
    assert OutboxJob.objects.filter(kind="event", status="COMPLETED").count() == 4


def test_a_batch_of_events_matches_each_live_workflow_once_per_event():
    publish_one_step()
    make_published(
        slug="other",
        rule_spec={">": [{"var": "i"}, 2]},
        trigger_spec={"event_type": "thing.happened"},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {"id": "t", "type": "transform", "inputs": {"x": "{{ event.payload.i }}"}},
            ],
            "edges": [{"source": "trigger", "target": "t"}],
        },
    )
    for i in range(5):
        emit_event("thing.happened", {"i": i})
    worker = Worker(worker_id="w1", concurrency=1, batch_size=10)
    worker.process_claimed(worker.store.claim_batch("w1", 10))
    worker.process_claimed(worker.store.claim_batch("w1", 10))  # replays nothing
    # 5 runs of one-step, 2 of other (i = 3, 4), all finished in the first batch.
    assert ExecutionRun.objects.filter(status="succeeded").count() == 7
    assert not OutboxJob.objects.exclude(status="COMPLETED").exists()


def test_the_hop_runs_first_steps_without_loading_their_runs_again():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    publish_one_step()
    for i in range(3):
        emit_event("thing.happened", {"i": i})
    worker = Worker(worker_id="w1", concurrency=1, batch_size=10)
    batch = worker.store.claim_batch("w1", 10)
    with CaptureQueriesContext(connection) as queries:
        worker.process_claimed(batch)
    assert ExecutionRun.objects.filter(status="succeeded").count() == 3
    reloads = [
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "automate_executionrun"' in q["sql"] and 'JOIN "automate_event"' in q["sql"]
    ]
    assert reloads == []
