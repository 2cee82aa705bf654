"""Worker liveness: heartbeats, and the reaper returning a dead worker's jobs at once.

In-process tests on SQLite and PostgreSQL. A worker of "another process" is a
``WorkerProcess`` row written by hand; a worker of this process is a real ``Liveness``.
The real processes (a SIGKILLed worker) are in test_liveness_processes.py.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.db.models.functions import Now
from django.test import override_settings
from django.utils import timezone

from automate.compat import UTC
from automate.execution import liveness
from automate.execution.liveness import Liveness
from automate.execution.models import ExecutionRun, OutboxJob, WorkerProcess
from automate.execution.reaper import GAVE_UP, WORKER_DEATHS_ALLOWED, OutboxReaper
from automate.execution.runner import process_job
from automate.execution.store import default_store
from automate.runtime import emit_event
from tests.factories import make_published

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("process_mode")]

FAST = {"heartbeat_interval_seconds": 0.05, "worker_timeout_seconds": 1}


@pytest.fixture
def process_mode():
    # Jobs stay queued (these tests drive the store by hand); small liveness timings.
    with override_settings(
        DJANGO_AUTOMATE={
            "WORKER_MODE": "process",
            "CONNECTORS": ["tests.support.connectors.TestKitConnector"],
            "EXECUTION": FAST,
        }
    ):
        yield


@pytest.fixture
def on_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (the postgres tier)")


@pytest.fixture
def on_a_server():
    if connection.vendor == "sqlite":
        pytest.skip("row locks between connections: PostgreSQL, MySQL, MariaDB")


def worker_row(worker_id: str, *, silent_for: float) -> WorkerProcess:
    """A worker of another process whose last heartbeat was ``silent_for`` seconds ago."""
    beat = timezone.now() - timedelta(seconds=silent_for)
    return WorkerProcess.objects.create(
        worker_id=worker_id, hostname="elsewhere", pid=1, started_at=beat, last_heartbeat_at=beat
    )


def claimed_jobs(worker_id: str, n: int = 1) -> list[OutboxJob]:
    for i in range(n):
        emit_event("thing.happened", {"i": i})
    jobs = default_store(lease_seconds=300).claim_batch(worker_id, n)
    assert len(jobs) == n
    return jobs


def test_a_job_of_a_worker_whose_heartbeat_is_stale_is_returned_at_once():
    worker_row("dead-worker", silent_for=5)
    (job,) = claimed_jobs("dead-worker")
    assert job.lease_expires_at > timezone.now() + timedelta(seconds=200), "a long lease"

    assert OutboxReaper().reap_stale_items() == 1

    job.refresh_from_db()
    assert (job.status, job.locked_by, job.lease_expires_at) == ("PENDING", "", None)
    assert (job.attempts, job.lost_claims) == (0, 1), "the lost claim is refunded, counted apart"
    assert job.next_attempt_at <= timezone.now()
    assert "no heartbeat" in job.last_error
    # Another worker gets it at once.
    assert [j.pk for j in default_store().claim_batch("rescuer", 1)] == [job.pk]


def test_a_live_worker_with_a_long_step_keeps_its_job():
    worker_row("busy-worker", silent_for=0)
    (job,) = claimed_jobs("busy-worker")

    assert OutboxReaper().reap_stale_items() == 0

    job.refresh_from_db()
    assert (job.status, job.locked_by) == ("CLAIMED", "busy-worker")


def test_jobs_of_ids_without_a_worker_row_keep_the_lease_rule_only():
    worker_row("dead-worker", silent_for=60)
    (job,) = claimed_jobs("run-until-idle")  # the synchronous mode, an inline drain

    assert OutboxReaper().reap_stale_items() == 0
    OutboxJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now())
    assert OutboxReaper().reap_stale_items() == 1
    job.refresh_from_db()
    assert job.status == "PENDING"
    assert "Lease expired" in job.last_error


def test_a_dead_workers_job_that_used_every_attempt_is_dead_and_fails_its_run():
    make_published(
        slug="wf",
        rule_spec={},
        trigger_spec={"event_type": "thing.happened"},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {"id": "a", "type": "action", "connector": "testkit", "action": "echo"},
            ],
            "edges": [{"source": "trigger", "target": "a"}],
        },
    )
    emit_event("thing.happened", {})
    store = default_store()
    process_job(store.claim_batch("w1", 1)[0], store=store, worker_id="w1")  # event → run
    worker_row("dead-worker", silent_for=5)
    (job,) = store.claim_batch("dead-worker", 1)
    assert job.node_id == "a"
    OutboxJob.objects.filter(pk=job.pk).update(lost_claims=WORKER_DEATHS_ALLOWED)

    assert OutboxReaper().reap_stale_items() == 1

    job.refresh_from_db()
    assert (job.status, job.last_error) == ("DEAD", GAVE_UP)
    assert job.lost_claims == WORKER_DEATHS_ALLOWED + 1
    run = ExecutionRun.objects.get()
    assert run.status == "failed"


def test_a_job_whose_workers_died_past_its_retry_budget_gets_more_claims():
    """Seen in bench/chaos.py: with a worker killed every few seconds, each holding about a
    hundred jobs, innocent jobs used their four attempts on dying workers and went DEAD,
    taking their runs (and, for event jobs, the event's run) with them."""
    worker_row("dead-worker", silent_for=5)
    (job,) = claimed_jobs("dead-worker")
    OutboxJob.objects.filter(pk=job.pk).update(attempts=4, max_attempts=4)

    assert OutboxReaper().reap_stale_items() == 1

    job.refresh_from_db()
    assert job.status == "PENDING"
    assert (job.attempts, job.lost_claims) == (3, 1), "one attempt left for the step"


def test_a_worker_never_takes_itself_for_dead():
    me = Liveness("me", interval=60)  # beats once now, then not for a minute
    me.start()
    try:
        (job,) = claimed_jobs("me")
        WorkerProcess.objects.filter(pk="me").update(
            last_heartbeat_at=timezone.now() - timedelta(seconds=30)
        )
        assert liveness.dead_worker_ids() == []
        assert OutboxReaper().reap_stale_items() == 0
        job.refresh_from_db()
        assert job.status == "CLAIMED"
    finally:
        me.stop()
    assert "me" not in liveness.local_worker_ids()


def test_after_an_outage_the_first_worker_back_does_not_take_its_peers_for_dead():
    """Every heartbeat is stale after the database was out: a worker whose own beats only
    just got through again waits a whole worker timeout of steady beats before it returns
    a silent peer's jobs (by then a live peer has beaten again too)."""
    worker_row("peer", silent_for=5)
    (job,) = claimed_jobs("peer")
    me = Liveness("back-from-outage", interval=0.05)
    me.start()
    try:
        assert me.fresh
        assert not me.steady
        assert not liveness.may_declare_dead()
        assert OutboxReaper().reap_stale_items() == 0
        job.refresh_from_db()
        assert (job.status, job.locked_by) == ("CLAIMED", "peer")

        # The peer beats again (it was alive all along) and keeps beating.
        deadline = time.monotonic() + 5
        while not me.steady and time.monotonic() < deadline:
            WorkerProcess.objects.filter(pk="peer").update(last_heartbeat_at=Now())
            time.sleep(0.05)
        assert me.steady, "a worker beating without a gap for the timeout is steady"
        assert OutboxReaper().reap_stale_items() == 0
        job.refresh_from_db()
        assert job.status == "CLAIMED"

        # A peer that stays silent while this worker is steady is dead.
        WorkerProcess.objects.filter(pk="peer").update(
            last_heartbeat_at=timezone.now() - timedelta(seconds=5)
        )
        assert OutboxReaper().reap_stale_items() == 1
        job.refresh_from_db()
        assert (job.status, job.locked_by) == ("PENDING", "")
    finally:
        me.stop()


def test_a_gap_in_a_workers_own_beats_makes_it_wait_again():
    me = Liveness("gappy", interval=60)
    me.start()  # one beat now, then none for a minute
    try:
        me._fresh_since = time.monotonic() - 5  # steady for 5 s, then 0.9 s of silence
        me._last_beat = time.monotonic() - 0.9
        assert not me.fresh
        me.beat()
        assert me.fresh
        assert not me.steady, "0.9 s without a beat is a gap (timeout 1 s)"
    finally:
        me.stop()


def test_workers_silent_for_an_hour_are_forgotten_after_their_jobs_are_returned():
    worker_row("long-gone", silent_for=2 * 3600)
    worker_row("just-died", silent_for=5)
    worker_row("alive", silent_for=0)
    (job,) = claimed_jobs("long-gone")

    assert OutboxReaper().reap_stale_items() == 1

    job.refresh_from_db()
    assert job.status == "PENDING"
    assert set(WorkerProcess.objects.values_list("pk", flat=True)) == {"just-died", "alive"}


def test_the_heartbeat_keeps_the_row_fresh_and_a_clean_stop_deletes_it():
    worker = Liveness("beating", concurrency=3)
    worker.start()
    try:
        row = WorkerProcess.objects.get(pk="beating")
        assert (row.concurrency, row.started_at) == (3, row.last_heartbeat_at)
        first = row.last_heartbeat_at
        time.sleep(0.3)
        assert WorkerProcess.objects.get(pk="beating").last_heartbeat_at > first
        assert "beating" in liveness.local_worker_ids()
    finally:
        worker.stop()
    assert not WorkerProcess.objects.filter(pk="beating").exists()
    assert not worker.running


def test_a_forgotten_row_is_written_again_by_the_next_beat():
    worker = Liveness("frozen", interval=0.05)
    worker.start()
    try:
        WorkerProcess.objects.filter(pk="frozen").delete()  # e.g. frozen for over an hour
        deadline = time.monotonic() + 5
        while not WorkerProcess.objects.filter(pk="frozen").exists():
            assert time.monotonic() < deadline, "the row came back"
            time.sleep(0.02)
    finally:
        worker.stop()


def _backend_pids_but_mine() -> str:
    return (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )


@pytest.mark.postgres
def test_the_heartbeat_survives_a_terminated_connection(on_postgres):
    worker = Liveness("terminated", interval=0.05)
    worker.start()
    try:
        time.sleep(0.2)
        with connection.cursor() as cursor:
            cursor.execute(_backend_pids_but_mine())
        killed_at = timezone.now()
        deadline = time.monotonic() + 5
        while WorkerProcess.objects.get(pk="terminated").last_heartbeat_at <= killed_at:
            assert time.monotonic() < deadline, "the heartbeat reconnected"
            time.sleep(0.05)
    finally:
        worker.stop()


@pytest.mark.postgres
def test_the_heartbeat_keeps_beating_while_a_step_holds_locks(on_a_server):
    (job,) = claimed_jobs("blocked")
    worker = Liveness("blocked", interval=0.05)
    worker.start()
    try:
        with transaction.atomic():
            OutboxJob.objects.select_for_update().get(pk=job.pk)
            before = timezone.now()
            time.sleep(0.5)  # a step that holds its connection and locks
            with connections["default"].cursor() as cursor:
                # Read outside this transaction's snapshot: a fresh statement sees commits.
                cursor.execute(
                    "SELECT last_heartbeat_at FROM automate_workerprocess WHERE worker_id = %s",
                    ["blocked"],
                )
                (beat,) = cursor.fetchone()
        if timezone.is_naive(beat):  # MySQL's driver: UTC without a zone
            beat = timezone.make_aware(beat, UTC)
        assert beat > before
    finally:
        worker.stop()


@pytest.mark.postgres
def test_reapers_running_at_once_return_each_job_once(on_a_server):
    worker_row("dead-worker", silent_for=5)
    jobs = claimed_jobs("dead-worker", 20)
    counts: list[int] = []
    barrier = threading.Barrier(4)

    def reap() -> None:
        try:
            barrier.wait()
            counts.append(OutboxReaper().reap_stale_items())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reap) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(counts) == len(jobs)
    assert set(OutboxJob.objects.values_list("status", "attempts", "lost_claims")) == {
        ("PENDING", 0, 1)
    }


def test_the_dead_worker_query_uses_the_database_clock():
    # A row whose heartbeat is the database's now is alive, whatever this process's clock.
    WorkerProcess.objects.create(
        worker_id="db-clock", started_at=Now(), last_heartbeat_at=Now(), concurrency=1
    )
    assert liveness.dead_worker_ids() == []
    with override_settings(DJANGO_AUTOMATE={"EXECUTION": {**FAST, "worker_timeout_seconds": 1}}):
        time.sleep(1.2)
        assert liveness.dead_worker_ids() == ["db-clock"]


def test_a_worker_knows_when_its_own_heartbeat_is_late():
    worker = Liveness("self-aware", interval=60)
    assert not worker.fresh, "not registered yet"
    worker.start()
    try:
        assert worker.fresh
        worker._last_beat = time.monotonic() - 0.6  # over half the 1 s timeout
        assert not worker.fresh
    finally:
        worker.stop()


def test_a_worker_restarted_under_the_same_id_gives_back_what_its_predecessor_held():
    # `automate_worker --worker-id worker-1`, SIGKILLed and restarted by its supervisor at
    # once: the old process's jobs must not hide behind the new process's heartbeats.
    worker_row("worker-1", silent_for=0.5)
    (job,) = claimed_jobs("worker-1")
    restarted = Liveness("worker-1", interval=60, concurrency=4)
    restarted.start()
    try:
        job.refresh_from_db()
        assert (job.status, job.locked_by) == ("PENDING", "")
        row = WorkerProcess.objects.get(pk="worker-1")
        assert (row.hostname, row.concurrency) != ("elsewhere", 1), "the new process's row"
    finally:
        restarted.stop()


def test_a_worker_timeout_shorter_than_three_heartbeats_is_warned_about():
    from automate.checks import check_worker_liveness

    assert check_worker_liveness() == []  # FAST: 1 s timeout, 0.05 s beats
    with override_settings(
        DJANGO_AUTOMATE={
            "EXECUTION": {"heartbeat_interval_seconds": 5, "worker_timeout_seconds": 10}
        }
    ):
        (warning,) = check_worker_liveness()
    assert warning.id == "automate.W070"
    assert "taken for dead" in warning.msg
