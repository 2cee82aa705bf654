"""The outbox contract: claims, leases, heartbeats, the reaper, and lost leases."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from automate.execution.models import ExecutionRun, OutboxJob
from automate.execution.reaper import WORKER_DEATHS_ALLOWED
from automate.execution.runner import process_job
from automate.outbox import (
    OptimisticClaimOutboxStore,
    OutboxReaper,
    SkipLockedClaimOutboxStore,
    default_store,
)
from automate.runtime import emit_event
from tests.factories import make_published

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # Jobs stay queued: these tests drive the store by hand.
    pytest.mark.usefixtures("process_mode"),
]


@pytest.fixture
def process_mode():
    with override_settings(
        DJANGO_AUTOMATE={
            "WORKER_MODE": "process",
            "CONNECTORS": ["tests.support.connectors.TestKitConnector"],
        }
    ):
        yield


def make_jobs(n):
    return [emit_event("thing.happened", {"i": i}) for i in range(n)]


def test_default_store_follows_the_database():
    from automate.execution.store_mysql import MySQLSkipLockedOutboxStore

    expected = {
        "postgresql": SkipLockedClaimOutboxStore,
        "mysql": MySQLSkipLockedOutboxStore,
    }.get(connection.vendor, OptimisticClaimOutboxStore)
    assert type(default_store()) is expected
    assert expected.supports_skip_locked == (connection.vendor != "sqlite")


def test_claims_are_oldest_first_leased_and_counted():
    make_jobs(3)
    store = default_store(lease_seconds=30)
    jobs = store.claim_batch("w1", limit=2)
    assert [j.pk for j in jobs] == sorted(OutboxJob.objects.values_list("pk", flat=True))[:2]
    for job in jobs:
        assert (job.status, job.locked_by, job.attempts) == ("CLAIMED", "w1", 1)
        assert job.lease_expires_at > timezone.now() + timedelta(seconds=25)
    assert len(store.claim_batch("w2", limit=10)) == 1
    assert store.claim_batch("w3", limit=10) == []


def test_jobs_not_yet_due_are_not_claimed():
    make_jobs(1)
    OutboxJob.objects.update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    assert default_store().claim_batch("w1", 10) == []


def test_concurrent_claims_never_hand_out_a_job_twice():
    make_jobs(60)
    store = default_store()
    claimed: list[int] = []
    lock = threading.Lock()

    def claim(worker):
        try:
            while batch := store.claim_batch(worker, 3):
                with lock:
                    claimed.extend(job.pk for job in batch)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == 60
    assert len(set(claimed)) == 60


def test_only_the_lease_holder_can_finish_a_job():
    make_jobs(1)
    store = default_store()
    job = store.claim_batch("w1", 1)[0]
    assert not store.mark_success(job, "intruder")
    assert not store.mark_failed(job, "intruder", "x")
    assert not store.mark_retry(job, "intruder", timezone.now(), "x")
    OutboxJob.objects.filter(pk=job.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert not store.mark_success(job, "w1"), "an expired lease is a lost lease"
    assert OutboxJob.objects.get(pk=job.pk).status == "CLAIMED"


def test_retry_release_and_heartbeat():
    make_jobs(2)
    store = default_store(lease_seconds=10)
    first, second = store.claim_batch("w1", 2)
    later = timezone.now() + timedelta(seconds=30)
    assert store.mark_retry(first, "w1", later, "HTTP 503")
    first.refresh_from_db()
    assert (first.status, first.next_attempt_at, first.last_error, first.locked_by) == (
        "PENDING",
        later,
        "HTTP 503",
        "",
    )

    nearly_expired = timezone.now() + timedelta(seconds=1)
    OutboxJob.objects.filter(pk=second.pk).update(lease_expires_at=nearly_expired)
    assert store.heartbeat([second], "w1") == 1
    extended = OutboxJob.objects.get(pk=second.pk).lease_expires_at
    assert extended >= timezone.now() + timedelta(seconds=9), "extended by the lease length"
    assert store.heartbeat([second], "intruder") == 0
    assert store.release(second, "w1")
    second.refresh_from_db()
    assert (second.status, second.attempts) == ("PENDING", 0), "a release refunds the attempt"


def test_reaper_returns_expired_leases_and_buries_exhausted_jobs():
    make_jobs(2)
    store = default_store()
    a, b = store.claim_batch("dead-worker", 2)
    OutboxJob.objects.filter(pk=b.pk).update(lost_claims=WORKER_DEATHS_ALLOWED)
    assert OutboxReaper().reap_stale_items() == 0, "leases still valid"
    OutboxJob.objects.update(lease_expires_at=timezone.now() - timedelta(seconds=5))
    assert OutboxReaper(stale_threshold_seconds=60).reap_stale_items() == 0, "inside the grace"
    assert OutboxReaper().reap_stale_items() == 2
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, a.locked_by) == ("PENDING", "")
    assert b.status == "DEAD"
    assert "stopped answering" in b.last_error


def test_a_worker_that_lost_its_lease_writes_nothing():
    make_published(
        slug="wf",
        rule_spec={},
        trigger_spec={"event_type": "thing.happened"},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {"id": "a", "type": "action", "connector": "testkit", "action": "lose_lease"},
                {"id": "b", "type": "action", "connector": "testkit", "action": "echo"},
            ],
            "edges": [{"source": "trigger", "target": "a"}, {"source": "a", "target": "b"}],
        },
    )
    emit_event("thing.happened", {})
    store = default_store()
    process_job(store.claim_batch("w1", 1)[0], store=store, worker_id="w1")  # event → run
    job = store.claim_batch("slow-worker", 1)[0]
    assert job.node_id == "a"

    # The step stalls past its lease and the reaper returns the job meanwhile.
    process_job(job, store=store, worker_id="slow-worker")

    run = ExecutionRun.objects.get()
    assert not OutboxJob.objects.filter(node_id="b").exists(), "the next step was not scheduled"
    assert run.steps.get(node_id="a").status == "running", "the success was rolled back"
    assert OutboxJob.objects.get(pk=job.pk).status == "PENDING", "returned for another worker"

    # Another worker picks it up, closes the lost attempt, and finishes the run.
    store = default_store()
    while jobs := store.claim_batch("w2", 1):
        process_job(jobs[0], store=store, worker_id="w2")
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert list(
        run.steps.filter(node_id="a").order_by("attempt").values_list("status", flat=True)
    ) == ["failed", "succeeded"]
