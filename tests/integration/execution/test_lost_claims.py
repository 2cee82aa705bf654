"""Claims lost to dead workers are counted apart from the step's attempts (issue 12).

Seen in bench/chaos.py: a job whose workers were killed while holding it had used its
retry budget on those deaths, and its next retryable error (a 5xx from the sink) buried it
at once. The reaper now refunds the attempt a lost claim was charged and counts the loss in
``lost_claims``; a job is buried for deaths only past ``WORKER_DEATHS_ALLOWED``. SQLite and
PostgreSQL; a dead worker is a ``WorkerProcess`` row with a stale heartbeat.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.test import override_settings
from django.utils import timezone

from automate.execution.models import ExecutionRun, OutboxJob, StepRun, WorkerProcess
from automate.execution.reaper import GAVE_UP, WORKER_DEATHS_ALLOWED, OutboxReaper
from automate.execution.runner import process_job
from automate.execution.services import replay_job
from automate.execution.store import default_store
from automate.runtime import emit_event
from tests.factories import make_published

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("process_mode")]


@pytest.fixture
def process_mode():
    # Jobs stay queued: these tests drive the store, the runner and the reaper by hand.
    with override_settings(
        DJANGO_AUTOMATE={
            "WORKER_MODE": "process",
            "CONNECTORS": ["tests.support.connectors.TestKitConnector"],
            "EXECUTION": {"heartbeat_interval_seconds": 0.05, "worker_timeout_seconds": 1},
        }
    ):
        yield


def a_queued_step(**fail: object) -> OutboxJob:
    """The PENDING step job of a run whose one step always fails (``fail``: the testkit
    ``fail`` inputs) and is retried twice (three attempts, no backoff)."""
    node = {"id": "flaky", "type": "action", "connector": "testkit", "action": "fail"}
    node["inputs"] = dict(fail)
    node["retry"] = {"max_retries": 2, "backoff_base_seconds": 0}
    make_published(
        slug="wf",
        rule_spec={},
        trigger_spec={"event_type": "thing.happened"},
        graph={
            "nodes": [{"id": "trigger", "type": "trigger"}, node],
            "edges": [{"source": "trigger", "target": "flaky"}],
        },
    )
    emit_event("thing.happened", {})
    store = default_store()
    process_job(store.claim_batch("w1", 1)[0], store=store, worker_id="w1")  # event → run
    job = OutboxJob.objects.get(kind="step")
    assert (job.status, job.max_attempts) == ("PENDING", 3)
    return job


def die_holding(job: OutboxJob, times: int) -> None:
    """``times`` times: a worker claims the job, starts its step and dies (its heartbeat
    goes stale), and the reaper gives the job back."""
    beat = timezone.now() - timedelta(seconds=5)
    for _ in range(times):
        worker = f"doomed-{WorkerProcess.objects.count()}"
        WorkerProcess.objects.create(worker_id=worker, started_at=beat, last_heartbeat_at=beat)
        OutboxJob.objects.filter(pk=job.pk).update(next_attempt_at=None)
        (claimed,) = default_store().claim_batch(worker, 1)
        assert claimed.pk == job.pk
        StepRun.objects.create(
            run_id=job.run_id,
            node_id=job.node_id,
            attempt=StepRun.objects.filter(run_id=job.run_id, node_id=job.node_id).count() + 1,
            status="running",
            started_at=timezone.now(),
        )
        assert OutboxReaper().reap_stale_items() == 1


def run_until_it_stops(job: OutboxJob) -> int:
    """Let a live worker run the job, each retry due at once, until it is not PENDING;
    returns how many times the step ran."""
    store = default_store()
    ran = 0
    while OutboxJob.objects.get(pk=job.pk).status == "PENDING":
        OutboxJob.objects.filter(pk=job.pk).update(next_attempt_at=None)
        (claimed,) = store.claim_batch("survivor", 1)
        process_job(claimed, store=store, worker_id="survivor")
        ran += 1
        assert ran <= 10, "the job never stopped"
    return ran


def test_a_job_whose_workers_died_still_gets_its_whole_retry_budget():
    job = a_queued_step(retryable=True, message="HTTP 503")
    deaths = WORKER_DEATHS_ALLOWED
    assert deaths >= job.max_attempts

    die_holding(job, deaths)

    job.refresh_from_db()
    assert (job.status, job.attempts, job.lost_claims) == ("PENDING", 0, deaths)
    assert run_until_it_stops(job) == 3, "three attempts of its own, as its retry policy says"
    job.refresh_from_db()
    assert (job.status, job.attempts, job.lost_claims, job.last_error) == (
        "DEAD",
        3,
        deaths,
        "HTTP 503",
    )
    # Every attempt, lost or not, has its own StepRun, numbered on across the deaths.
    steps = list(
        StepRun.objects.filter(node_id="flaky").order_by("attempt").values_list("attempt", "status")
    )
    assert steps == [
        *[(n, "failed") for n in range(1, deaths + 1)],
        (deaths + 1, "retrying"),
        (deaths + 2, "retrying"),
        (deaths + 3, "failed"),
    ]
    assert ExecutionRun.objects.get().status == "failed"


def test_deaths_between_own_failures_do_not_shorten_the_retries():
    job = a_queued_step(retryable=True, times=2)  # fails twice, then succeeds
    store = default_store()
    (claimed,) = store.claim_batch("survivor", 1)
    process_job(claimed, store=store, worker_id="survivor")  # its own failure: attempt 1
    die_holding(job, 3)
    job.refresh_from_db()
    assert (job.attempts, job.lost_claims) == (1, 3)

    assert run_until_it_stops(job) == 2
    job.refresh_from_db()
    assert (job.status, job.attempts, job.lost_claims) == ("COMPLETED", 3, 3)
    assert ExecutionRun.objects.get().status == "succeeded"


def test_a_job_lost_to_too_many_deaths_is_buried_and_fails_its_run():
    """A job that kills every worker that holds it must still end."""
    job = a_queued_step(retryable=True)
    die_holding(job, WORKER_DEATHS_ALLOWED)
    job.refresh_from_db()
    assert job.status == "PENDING", "deaths up to the allowance are given back"

    die_holding(job, 1)

    job.refresh_from_db()
    assert (job.status, job.last_error) == ("DEAD", GAVE_UP)
    assert (job.attempts, job.lost_claims) == (0, WORKER_DEATHS_ALLOWED + 1)
    run = ExecutionRun.objects.get()
    assert run.status == "failed"


def test_an_expired_lease_is_a_lost_claim_too():
    job = a_queued_step(retryable=True)
    (claimed,) = default_store().claim_batch("run-until-idle", 1)  # no worker row
    OutboxJob.objects.filter(pk=claimed.pk).update(lease_expires_at=timezone.now())

    assert OutboxReaper().reap_stale_items() == 1

    job.refresh_from_db()
    assert (job.status, job.attempts, job.lost_claims) == ("PENDING", 0, 1)
    assert "Lease expired" in job.last_error


def test_replay_resets_the_attempts_and_the_lost_claims():
    job = a_queued_step(retryable=True, times=WORKER_DEATHS_ALLOWED + 1)
    store = default_store()
    (claimed,) = store.claim_batch("survivor", 1)
    process_job(claimed, store=store, worker_id="survivor")  # one failure of its own
    die_holding(job, WORKER_DEATHS_ALLOWED + 1)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.lost_claims) == ("DEAD", 1, WORKER_DEATHS_ALLOWED + 1)

    replay_job(job)

    job.refresh_from_db()
    assert (job.status, job.attempts, job.lost_claims) == ("PENDING", 0, 0)
    assert ExecutionRun.objects.get().status == "running", "the failed run is revived"


def a_dead_connection(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """A job body that fails as a terminated connection does, with the connection check
    reporting it dead and replaced (``dbhealth.heal_connection``)."""
    from automate.execution import runner

    monkeypatch.setattr(runner, "heal_connection", lambda: True)

    def body() -> None:
        raise OperationalError("terminating connection due to administrator command")

    return body


def test_a_claim_lost_to_a_dead_connection_is_refunded_and_due_at_once(monkeypatch):
    from automate.execution.runner import _guarded

    job = a_queued_step(retryable=True)
    store = default_store()
    (claimed,) = store.claim_batch("w1", 1)

    assert not _guarded(claimed, a_dead_connection(monkeypatch), store=store, worker_id="w1")

    job.refresh_from_db()
    assert (job.status, job.attempts, job.lost_claims) == ("PENDING", 0, 1)
    assert job.next_attempt_at is not None
    assert job.next_attempt_at <= timezone.now()
    assert "terminating connection" in job.last_error
    assert run_until_it_stops(job) == 3, "the lost claim left the retry budget whole"


def test_a_job_whose_connection_keeps_dying_is_buried_at_the_same_limit(monkeypatch):
    from automate.execution.runner import _guarded

    job = a_queued_step(retryable=True)
    OutboxJob.objects.filter(pk=job.pk).update(lost_claims=WORKER_DEATHS_ALLOWED)
    store = default_store()
    (claimed,) = store.claim_batch("w1", 1)

    _guarded(claimed, a_dead_connection(monkeypatch), store=store, worker_id="w1")

    job.refresh_from_db()
    assert (job.status, job.last_error) == ("DEAD", GAVE_UP)
    assert (job.attempts, job.lost_claims) == (0, WORKER_DEATHS_ALLOWED + 1)
    assert ExecutionRun.objects.get().status == "failed"
