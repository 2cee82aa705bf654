"""Writes are fenced by the claim, not only by the worker id and the lease.

A worker whose lease lapsed and that claims the same job again (same ``locked_by``) holds a
new claim; whatever it still does under the earlier claim (a thread that stalled, a batch
whose finish comes late) must write nothing: not complete, fail, retry, give back, release
or heartbeat the job, and not write its step rows. Each claim carries its number
(``OutboxJob.claims``) to every write. On SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from automate.execution import step_batch
from automate.execution.exceptions import LeaseLostError
from automate.execution.matching import match_event, match_events
from automate.execution.models import ExecutionRun, OutboxJob, StepRun
from automate.execution.run_state import graph_of
from automate.execution.runner import _guarded, process_batch
from automate.execution.services import replay_job
from automate.execution.step_alone import step_failed
from automate.execution.step_exec import execute_node
from automate.execution.worker import Worker
from automate.outbox import OutboxReaper, default_store
from automate.runtime import emit_event
from tests.factories import make_published
from tests.support import connectors as kit

pytestmark = [pytest.mark.django_db(transaction=True)]

WORKER = "w1"


@pytest.fixture(autouse=True)
def process_mode():
    with override_settings(
        DJANGO_AUTOMATE={
            "WORKER_MODE": "process",
            "CONNECTORS": ["tests.support.connectors.TestKitConnector"],
        }
    ):
        kit.CALLS.clear()
        yield


def _publish(action: str = "echo", inputs: dict | None = None) -> None:
    make_published(
        slug="wf",
        rule_spec={},
        trigger_spec={"event_type": "thing.happened"},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {
                    "id": "a",
                    "type": "action",
                    "connector": "testkit",
                    "action": action,
                    "inputs": inputs or {},
                },
            ],
            "edges": [{"source": "trigger", "target": "a"}],
        },
    )


def _lapse(job: OutboxJob) -> None:
    """The lease of ``job`` runs out and the reaper gives it back (due at once)."""
    OutboxJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now())
    assert OutboxReaper().reap_stale_items() == 1


def _reclaim(job: OutboxJob) -> OutboxJob:
    """The same worker claims ``job`` again after its lease lapsed: the new claim."""
    _lapse(job)
    [fresh] = default_store().claim_batch(WORKER, 10)
    assert fresh.pk == job.pk
    return fresh


def _step_job() -> tuple[OutboxJob, OutboxJob]:
    """``(stale, fresh)``: two claims of the step job of ``a`` by the same worker."""
    emit_event("thing.happened", {})
    store = default_store()
    process_batch(store.claim_batch("w0", 1), store=store, worker_id="w0", hop=False)
    [stale] = store.claim_batch(WORKER, 10)
    fresh = _reclaim(stale)
    return stale, fresh


def _state(job: OutboxJob) -> tuple[object, ...]:
    row = OutboxJob.objects.get(pk=job.pk)
    return (
        row.status,
        row.locked_by,
        row.claims,
        row.attempts,
        row.next_attempt_at,
        row.last_error,
        row.lease_expires_at,
    )


def _state_at_claim(job: OutboxJob) -> tuple[object, ...]:
    """``_state`` as the claim that returned ``job`` left the row."""
    return (
        job.status,
        job.locked_by,
        job.claims,
        job.attempts,
        job.next_attempt_at,
        job.last_error,
        job.lease_expires_at,
    )


def test_every_claim_has_a_number_of_its_own():
    _publish()
    stale, fresh = _step_job()
    assert (stale.locked_by, fresh.locked_by) == (WORKER, WORKER)
    assert (stale.claims, fresh.claims) == (1, 2)
    assert OutboxJob.objects.get(pk=fresh.pk).claims == 2


def test_a_stale_claim_cannot_complete_fail_retry_or_give_back_the_job():
    _publish()
    stale, fresh = _step_job()
    store = default_store()
    held = _state(fresh)
    assert held[:3] == ("CLAIMED", WORKER, 2)
    assert not store.mark_success(stale, WORKER)
    assert store.mark_success_many([stale], WORKER) == set()
    assert not store.mark_failed(stale, WORKER, "boom")
    assert not store.mark_failed(stale, WORKER, "boom", dead=True)
    assert not store.mark_retry(stale, WORKER, timezone.now(), "HTTP 503")
    assert store.mark_lost(stale, WORKER, "connection died") is None
    assert not store.release(stale, WORKER)
    assert not store.still_claimed(stale, WORKER)
    assert store.fence([stale], WORKER) == set()
    assert _state(fresh) == held, "the new claim is untouched"
    assert store.still_claimed(fresh, WORKER)
    assert store.mark_success(fresh, WORKER)
    assert OutboxJob.objects.get(pk=fresh.pk).status == "COMPLETED"


def test_a_stale_claim_cannot_extend_the_lease_of_the_new_one():
    _publish()
    stale, fresh = _step_job()
    store = default_store(lease_seconds=60)
    soon = timezone.now() + timedelta(seconds=2)
    OutboxJob.objects.filter(pk=fresh.pk).update(lease_expires_at=soon)
    assert store.heartbeat([stale], WORKER) == 0
    assert OutboxJob.objects.get(pk=fresh.pk).lease_expires_at == soon
    assert store.heartbeat([fresh], WORKER) == 1
    assert OutboxJob.objects.get(pk=fresh.pk).lease_expires_at > soon + timedelta(seconds=50)


def test_the_worker_keeps_the_lease_of_the_claim_it_runs():
    """The worker's own heartbeat renews the claims it holds, by claim: an entry left by
    the earlier claim of the same job does not stand for the new one."""
    _publish()
    stale, fresh = _step_job()
    store = default_store(lease_seconds=60)
    worker = Worker(worker_id=WORKER, concurrency=1, store=store)
    soon = timezone.now() + timedelta(seconds=2)
    OutboxJob.objects.filter(pk=fresh.pk).update(lease_expires_at=soon)
    worker._strand([(stale, "stale")])
    worker._heartbeat()
    assert OutboxJob.objects.get(pk=fresh.pk).lease_expires_at == soon
    worker._strand([(fresh, "fresh")])
    assert set(worker._stranded) == {(stale.pk, 1), (fresh.pk, 2)}
    worker._heartbeat()
    assert OutboxJob.objects.get(pk=fresh.pk).lease_expires_at > soon + timedelta(seconds=50)


def test_a_stale_claim_writes_no_running_step():
    _publish()
    stale, fresh = _step_job()
    store = default_store()
    prepared, left = step_batch._prepare([stale], store=store, worker_id=WORKER)
    assert (prepared, left) == ([], [])
    assert not StepRun.objects.filter(node_id="a").exists()
    prepared, _ = step_batch._prepare([fresh], store=store, worker_id=WORKER)
    assert len(prepared) == 1
    assert StepRun.objects.get(node_id="a").status == StepRun.Status.RUNNING


def test_a_stale_batch_finish_writes_nothing():
    """The batch was prepared under the first claim, its lease lapsed during the call, the
    same worker claimed the job again: the late finish of the first claim completes
    nothing and writes no step, and the new claim runs the step to its end."""
    _publish()
    emit_event("thing.happened", {})
    store = default_store()
    process_batch(store.claim_batch("w0", 1), store=store, worker_id="w0", hop=False)
    [stale] = store.claim_batch(WORKER, 10)
    [item], _ = step_batch._prepare([stale], store=store, worker_id=WORKER)
    item.output = execute_node(
        item.node,
        run=item.run,
        step=item.step,
        context=item.context,
        inputs=item.inputs,
        secrets=item.secrets,
    )
    fresh = _reclaim(stale)
    held = _state(fresh)
    step_batch._finish_group([item], store=store, worker_id=WORKER)
    assert _state(fresh) == held
    assert StepRun.objects.get(pk=item.step.pk).status == StepRun.Status.RUNNING
    run = ExecutionRun.objects.get()
    assert run.status == ExecutionRun.Status.RUNNING
    assert run.finished_at is None

    process_batch([fresh], store=store, worker_id=WORKER, hop=False)
    run.refresh_from_db()
    assert run.status == ExecutionRun.Status.SUCCEEDED, run.error
    assert list(
        StepRun.objects.filter(node_id="a").order_by("attempt").values_list("attempt", "status")
    ) == [(1, StepRun.Status.FAILED), (2, StepRun.Status.SUCCEEDED)]
    assert OutboxJob.objects.get(pk=fresh.pk).status == "COMPLETED"


@pytest.fixture
def reclaimed_mid_call(monkeypatch):
    """On its first call, the testkit action lets the job's lease lapse and the same
    worker claim the job again (as a stalled thread of a live worker would see it); the
    new claim is appended to the yielded list."""
    fresh: list[OutboxJob] = []
    original = kit.TestKitConnector.execute

    def execute(self, action, params, context):
        if not fresh:
            job = OutboxJob.objects.get(run_id=context.run_id, node_id=context.node_id)
            fresh.append(_reclaim(job))
        return original(self, action, params, context)

    monkeypatch.setattr(kit.TestKitConnector, "execute", execute)
    return fresh


def test_a_stale_claim_whose_call_succeeded_writes_nothing(reclaimed_mid_call):
    _publish()
    emit_event("thing.happened", {})
    store = default_store()
    process_batch(store.claim_batch("w0", 1), store=store, worker_id="w0", hop=False)
    process_batch(store.claim_batch(WORKER, 10), store=store, worker_id=WORKER, hop=False)
    [fresh] = reclaimed_mid_call
    assert _state(fresh) == _state_at_claim(fresh)
    assert _state(fresh)[:4] == ("CLAIMED", WORKER, 2, 1)
    assert StepRun.objects.get(node_id="a").status == StepRun.Status.RUNNING
    assert ExecutionRun.objects.get().status == ExecutionRun.Status.RUNNING


@pytest.mark.parametrize("retryable", [True, False], ids=["retry", "permanent"])
def test_a_stale_claim_whose_call_failed_writes_nothing(reclaimed_mid_call, retryable):
    """Neither the retry bookkeeping (a retryable error) nor the dead letter and the run's
    failure (a permanent one) of the first claim are written."""
    _publish("fail", {"retryable": retryable})
    emit_event("thing.happened", {})
    store = default_store()
    process_batch(store.claim_batch("w0", 1), store=store, worker_id="w0", hop=False)
    process_batch(store.claim_batch(WORKER, 10), store=store, worker_id=WORKER, hop=False)
    [fresh] = reclaimed_mid_call
    assert _state(fresh) == _state_at_claim(fresh)
    assert StepRun.objects.get(node_id="a").status == StepRun.Status.RUNNING
    assert ExecutionRun.objects.get().status == ExecutionRun.Status.RUNNING


def test_a_stale_one_job_failure_raises_and_writes_nothing():
    _publish()
    stale, fresh = _step_job()
    store = default_store()
    run = ExecutionRun.objects.get()
    step = StepRun.objects.create(
        run=run, node_id="a", attempt=1, status=StepRun.Status.RUNNING, started_at=timezone.now()
    )
    node = graph_of(run.workflow_version).nodes["a"]
    held = _state(fresh)
    with pytest.raises(LeaseLostError):
        step_failed(
            RuntimeError("permanent"),
            job=stale,
            run=run,
            step=step,
            node=node,
            store=store,
            worker_id=WORKER,
            started=0.0,
        )
    assert _state(fresh) == held
    assert StepRun.objects.get(pk=step.pk).status == StepRun.Status.RUNNING
    assert ExecutionRun.objects.get().status == ExecutionRun.Status.RUNNING


@pytest.mark.parametrize("attempts_left", [True, False], ids=["retry", "bury"])
def test_an_engine_error_under_a_stale_claim_gives_nothing_back(attempts_left):
    """``_guarded``'s bookkeeping (retry with backoff, or the dead letter when attempts ran
    out) is fenced by the claim too."""
    _publish()
    stale, fresh = _step_job()
    if not attempts_left:
        OutboxJob.objects.filter(pk=fresh.pk).update(max_attempts=1)
        stale.max_attempts = 1
    held = _state(fresh)

    def boom() -> None:
        raise RuntimeError("engine bug")

    assert not _guarded(stale, boom, store=default_store(), worker_id=WORKER)
    assert _state(fresh) == held
    assert ExecutionRun.objects.get().status == ExecutionRun.Status.RUNNING


@pytest.mark.parametrize("together", [False, True], ids=["alone", "together"])
def test_a_stale_event_claim_starts_no_run(together):
    _publish()
    emit_event("thing.happened", {})
    store = default_store()
    [stale] = store.claim_batch(WORKER, 10)
    fresh = _reclaim(stale)
    if together:
        with pytest.raises(LeaseLostError):
            match_events([stale], store=store, worker_id=WORKER)
    else:
        with pytest.raises(LeaseLostError):
            match_event(stale, store=store, worker_id=WORKER)
    assert not ExecutionRun.objects.exists()
    assert _state(fresh)[:3] == ("CLAIMED", WORKER, 2)
    process_batch([fresh], store=store, worker_id=WORKER, hop=False)
    assert ExecutionRun.objects.count() == 1


def test_a_replayed_job_takes_a_new_claim_number():
    """A replay resets the job's attempts, not its claim count: a worker still holding
    the job object of a claim from before the replay cannot write for the claim after."""
    _publish()
    emit_event("thing.happened", {})
    store = default_store()
    process_batch(store.claim_batch("w0", 1), store=store, worker_id="w0", hop=False)
    [first] = store.claim_batch(WORKER, 10)
    assert store.mark_failed(first, WORKER, "permanent")
    replay_job(OutboxJob.objects.get(pk=first.pk))
    [again] = store.claim_batch(WORKER, 10)
    assert (again.pk, again.attempts, again.claims) == (first.pk, 1, 2)
    assert not store.mark_success(first, WORKER)
    assert store.mark_success(again, WORKER)
