"""Regression tests for the reviewed bugs of the batched engine.

- A step failure whose write was rolled back (lost lease) does not stop its siblings.
- A worker that lost its lease writes no StepRun (prepare, one-job path, finish), so a
  run is never left RUNNING with nothing queued.
"""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.utils import timezone

from automate.execution import step_batch
from automate.execution.models import ExecutionRun, OutboxJob, StepRun
from automate.execution.runner import process_batch
from automate.execution.step_exec import execute_node
from automate.execution.worker import Worker
from automate.outbox import OutboxReaper, default_store
from automate.runtime import emit_event
from tests.factories import make_published
from tests.support import connectors as kit

pytestmark = [pytest.mark.django_db(transaction=True)]


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


def _publish(nodes: list[dict], edges: list[tuple[str, str]]) -> None:
    make_published(
        slug="wf",
        rule_spec={},
        trigger_spec={"event_type": "thing.happened"},
        graph={
            "nodes": [{"id": "trigger", "type": "trigger"}, *nodes],
            "edges": [{"source": s, "target": t} for s, t in edges],
        },
    )


def _lose_lease(**filters: object) -> None:
    OutboxJob.objects.filter(status="CLAIMED", **filters).update(lease_expires_at=timezone.now())
    OutboxReaper().reap_stale_items()


def test_rolled_back_failure_does_not_cancel_siblings(monkeypatch):
    original = kit.TestKitConnector.execute

    def execute(self, action, params, context):
        if action == "fail" and kit.CALLS[context.idempotency_key] == 0:
            # The worker is taken for dead while it runs a: its failure write is fenced out.
            _lose_lease(run_id=context.run_id, node_id=context.node_id)
        return original(self, action, params, context)

    monkeypatch.setattr(kit.TestKitConnector, "execute", execute)
    _publish(
        [
            {
                "id": "a",
                "type": "action",
                "connector": "testkit",
                "action": "fail",
                "inputs": {"retryable": False, "times": 1},
            },
            {"id": "b", "type": "action", "connector": "testkit", "action": "echo"},
        ],
        [("trigger", "a"), ("trigger", "b")],
    )
    emit_event("thing.happened", {})
    store = default_store()
    process_batch(store.claim_batch("w1", 1), store=store, worker_id="w1", hop=False)
    jobs = sorted(store.claim_batch("w1", 10), key=lambda j: j.node_id)
    assert [j.node_id for j in jobs] == ["a", "b"]
    process_batch(jobs, store=store, worker_id="w1", hop=False)

    run = ExecutionRun.objects.get()
    assert run.status == ExecutionRun.Status.RUNNING
    assert OutboxJob.objects.get(node_id="a").status == "PENDING"
    b = StepRun.objects.get(run=run, node_id="b")
    assert b.status == StepRun.Status.SUCCEEDED
    assert kit.CALLS[f"{run.pk}:b"] == 1

    Worker(worker_id="w9", concurrency=1).run_until_idle()
    run.refresh_from_db()
    assert run.status == ExecutionRun.Status.SUCCEEDED, run.error
    assert kit.CALLS[f"{run.pk}:b"] == 1
    assert not StepRun.objects.filter(status=StepRun.Status.CANCELLED).exists()


def _publish_failure_beside_sibling() -> None:
    """a fails for good; b, its sibling after the trigger, echoes."""
    _publish(
        [
            {
                "id": "a",
                "type": "action",
                "connector": "testkit",
                "action": "fail",
                "inputs": {"retryable": False},
            },
            {"id": "b", "type": "action", "connector": "testkit", "action": "echo"},
        ],
        [("trigger", "a"), ("trigger", "b")],
    )


def test_committed_failure_still_stops_siblings():
    _publish_failure_beside_sibling()
    emit_event("thing.happened", {})
    store = default_store()
    process_batch(store.claim_batch("w1", 1), store=store, worker_id="w1", hop=False)
    jobs = sorted(store.claim_batch("w1", 10), key=lambda j: j.node_id)
    assert [j.node_id for j in jobs] == ["a", "b"]
    # a's failure commits before b starts (b is in a later batch; steps of one batch all
    # start at once, as parallel branches on parallel threads would).
    process_batch(jobs[:1], store=store, worker_id="w1", hop=False)
    process_batch(jobs[1:], store=store, worker_id="w1", hop=False)
    run = ExecutionRun.objects.get()
    assert run.status == ExecutionRun.Status.FAILED
    assert StepRun.objects.get(node_id="b").status == StepRun.Status.CANCELLED
    assert kit.CALLS.get(f"{run.pk}:b", 0) == 0
    assert not OutboxJob.objects.filter(status="CLAIMED").exists()


def test_a_sibling_in_the_same_batch_as_a_failure_runs_and_is_recorded():
    """Steps of one batch start together: a sibling already in flight when its run fails
    is recorded as what it did (succeeded), and the run stays failed."""
    _publish_failure_beside_sibling()
    emit_event("thing.happened", {})
    store = default_store()
    process_batch(store.claim_batch("w1", 1), store=store, worker_id="w1", hop=False)
    process_batch(store.claim_batch("w1", 10), store=store, worker_id="w1", hop=False)
    run = ExecutionRun.objects.get()
    assert run.status == ExecutionRun.Status.FAILED
    assert StepRun.objects.get(node_id="b").status == StepRun.Status.SUCCEEDED
    assert kit.CALLS[f"{run.pk}:b"] == 1
    assert not OutboxJob.objects.filter(status__in=["PENDING", "CLAIMED"]).exists()


def _chain() -> tuple[object, OutboxJob]:
    _publish(
        [
            {"id": "a", "type": "action", "connector": "testkit", "action": "echo"},
            {"id": "b", "type": "action", "connector": "testkit", "action": "echo"},
        ],
        [("trigger", "a"), ("a", "b")],
    )
    emit_event("thing.happened", {})
    store = default_store()
    process_batch(store.claim_batch("w0", 1), store=store, worker_id="w0", hop=False)
    [stale] = store.claim_batch("w1", 10)  # w1 claims a, then is taken for dead
    _lose_lease(pk=stale.pk)
    return store, stale


def test_zombie_one_job_path_writes_nothing():
    store, stale = _chain()
    [job] = store.claim_batch("w2", 10)  # w2 claims a again and starts it
    prepared, left = step_batch._prepare([job], store=store, worker_id="w2")
    assert len(prepared) == 1
    assert not left
    # The zombie w1 gets to its lost job (the one-job path: a RUNNING attempt exists).
    process_batch([stale], store=store, worker_id="w1", hop=False)
    assert list(StepRun.objects.filter(node_id="a").values_list("attempt", "status")) == [
        (1, StepRun.Status.RUNNING)
    ]
    item = prepared[0]
    item.output = execute_node(
        item.node,
        run=item.run,
        step=item.step,
        context=item.context,
        inputs=item.inputs,
        secrets=item.secrets,
    )
    step_batch._finish_group([item], store=store, worker_id="w2")
    Worker(worker_id="w9", concurrency=1).run_until_idle()
    run = ExecutionRun.objects.get()
    assert run.status == ExecutionRun.Status.SUCCEEDED, run.error
    assert not OutboxJob.objects.filter(status__in=["PENDING", "CLAIMED"]).exists()


def test_zombie_prepare_writes_nothing():
    store, stale = _chain()
    prepared, left = step_batch._prepare([stale], store=store, worker_id="w1")
    assert prepared == []
    assert left == []
    assert not StepRun.objects.filter(node_id="a").exists()


def test_finish_does_not_revive_a_failed_attempt():
    store, _stale = _chain()
    prepared, _ = step_batch._prepare(store.claim_batch("w2", 10), store=store, worker_id="w2")
    [item] = prepared
    StepRun.objects.filter(pk=item.step.pk).update(status=StepRun.Status.FAILED)
    item.output = {"ok": True}
    step_batch._finish_group([item], store=store, worker_id="w2")
    assert StepRun.objects.get(pk=item.step.pk).status == StepRun.Status.FAILED


@pytest.mark.parametrize("events", [1, 2])
def test_rolled_back_workflow_hops_none_of_its_jobs(monkeypatch, events):
    from automate.execution import services

    original = services.start_run

    def start_run(*, event, version):
        result = original(event=event, version=version)
        if version.workflow.slug == "bad":
            raise ValueError("broken after its first steps were queued")
        return result

    monkeypatch.setattr(services, "start_run", start_run)
    for slug in ("good", "bad"):
        make_published(
            slug=slug,
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
    for _ in range(events):
        emit_event("thing.happened", {})
    store = default_store()
    hopped: list[OutboxJob] = []
    process_batch(
        store.claim_batch("w1", 10), store=store, worker_id="w1", on_claimed=hopped.extend
    )
    runs = ExecutionRun.objects.all()
    assert {run.workflow_version.workflow.slug for run in runs} == {"good"}
    assert len(hopped) == events
    assert {job.run_id for job in hopped} == {run.pk for run in runs}
    assert all(run.status == ExecutionRun.Status.SUCCEEDED for run in runs)


def test_dead_letter_commits_before_the_run_is_locked(monkeypatch):
    from django.db import connection

    from automate.execution import runner

    store, _stale = _chain()
    OutboxJob.objects.filter(node_id="a").update(max_attempts=1)
    [job] = store.claim_batch("w2", 10)
    seen: list[tuple[bool, str]] = []
    original = runner.fail_runs_of_dead_jobs

    def fail_runs(job_ids):
        ids = list(job_ids)
        seen.append((connection.in_atomic_block, OutboxJob.objects.get(pk=ids[0]).status))
        return original(ids)

    monkeypatch.setattr(runner, "fail_runs_of_dead_jobs", fail_runs)

    def boom():
        raise RuntimeError("engine bug")

    assert not runner._guarded(job, boom, store=store, worker_id="w2")
    assert seen == [(False, OutboxJob.Status.DEAD)]
    assert ExecutionRun.objects.get().status == ExecutionRun.Status.FAILED


def test_outage_longer_than_give_back_strands_jobs_the_worker_gives_back(monkeypatch):
    from django.db import OperationalError

    from automate.execution import runner
    from automate.execution.runner import stranded_jobs

    _publish(
        [{"id": "a", "type": "action", "connector": "testkit", "action": "echo"}],
        [("trigger", "a")],
    )
    emit_event("thing.happened", {})
    store = default_store()
    process_batch(store.claim_batch("w", 1), store=store, worker_id="w", hop=False)
    [job] = store.claim_batch("w", 10)

    def boom(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    # The database is out for longer than give_back's retries: every statement fails.
    monkeypatch.setattr(step_batch, "_prepare", boom)
    monkeypatch.setattr(runner, "run_step", boom)
    monkeypatch.setattr(runner, "heal_connection", lambda: True)
    monkeypatch.setattr(runner, "_still_claimed", lambda job, w: True)
    real_retry, real_lost = store.mark_retry, store.mark_lost
    monkeypatch.setattr(store, "mark_retry", boom)
    monkeypatch.setattr(store, "mark_lost", boom)
    with stranded_jobs() as stranded:
        process_batch([job], store=store, worker_id="w")  # does not raise
    assert [(j.pk, reason.split(":")[0]) for j, reason in stranded] == [
        (job.pk, "OperationalError")
    ]
    worker = Worker(worker_id="w", concurrency=1, store=store)
    worker._strand(stranded)
    beats: list[list[int]] = []
    monkeypatch.setattr(
        store, "heartbeat", lambda jobs, w: beats.append([j.pk for j in jobs]) or len(jobs)
    )
    worker._heartbeat()
    assert beats == [[job.pk]]  # its lease is kept alive

    worker._give_back_stranded()  # still out: kept, tried again later
    key = (job.pk, job.claims)
    assert key in worker._stranded
    assert worker._stranded[key][2] == 1
    assert OutboxJob.objects.get(pk=job.pk).status == "CLAIMED"

    monkeypatch.setattr(store, "mark_retry", real_retry)  # the database is back
    monkeypatch.setattr(store, "mark_lost", real_lost)
    entry = worker._stranded[key]
    worker._stranded[key] = (*entry[:3], 0.0, entry[4])
    worker._give_back_stranded()
    assert not worker._stranded
    back = OutboxJob.objects.get(pk=job.pk)
    # The outage was not the step's failure: the claim is refunded and counted as lost.
    assert (back.status, back.attempts, back.lost_claims) == ("PENDING", 0, 1)
    monkeypatch.undo()
    Worker(worker_id="w9", concurrency=1).run_until_idle()
    assert ExecutionRun.objects.get().status == ExecutionRun.Status.SUCCEEDED


def test_one_job_path_calls_the_connector_outside_the_gate(monkeypatch):
    from automate.execution.dbgate import DbGate

    gate = DbGate(1)
    free_during_call: list[bool] = []
    original = kit.TestKitConnector.execute

    def execute(self, action, params, context):
        got = gate._permits.acquire(blocking=False)
        if got:
            gate._permits.release()
        free_during_call.append(got)
        return original(self, action, params, context)

    monkeypatch.setattr(kit.TestKitConnector, "execute", execute)
    store, stale = _chain()
    step_batch._prepare([stale], store=store, worker_id="w1")  # nothing: lease lost
    # An attempt left RUNNING by a dead worker sends the job down the one-job path.
    run = ExecutionRun.objects.get()
    StepRun.objects.create(
        run=run, node_id="a", attempt=1, status=StepRun.Status.RUNNING, started_at=timezone.now()
    )
    jobs = store.claim_batch("w2", 10)
    try:
        process_batch(jobs, store=store, worker_id="w2", hop=False, gate=gate)
    finally:
        gate.close()
    assert free_during_call == [True]
    assert list(
        StepRun.objects.filter(node_id="a").order_by("attempt").values_list("status", flat=True)
    ) == [StepRun.Status.FAILED, StepRun.Status.SUCCEEDED]


def test_a_database_error_while_starting_a_step_is_not_the_steps_failure(monkeypatch):
    """Seen in bench/chaos.py: a connection terminated while the one-job path recorded the
    attempt failed the step for good ("server closed the connection unexpectedly") and
    with it the run. The engine's own database error gives the job back instead."""
    from django.db import OperationalError

    from automate.execution import step_alone

    store, _ = _chain()
    [taken] = store.claim_batch("w2", 10)  # w2 starts attempt 1, then dies
    prepared, _ = step_batch._prepare([taken], store=store, worker_id="w2")
    assert len(prepared) == 1
    _lose_lease(pk=taken.pk)
    [job] = store.claim_batch("w3", 10)  # the one-job path: attempt 1 is marked RUNNING
    real = step_alone._start_step
    calls = []

    def broken_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    monkeypatch.setattr(step_alone, "_start_step", broken_once)
    process_batch([job], store=store, worker_id="w3", hop=False)
    job.refresh_from_db()
    assert job.status == "PENDING", job.last_error
    assert "server closed the connection" in job.last_error
    run = ExecutionRun.objects.get()
    assert run.status == ExecutionRun.Status.RUNNING
    assert not StepRun.objects.filter(node_id="a", status="failed").exists()

    OutboxJob.objects.filter(pk=job.pk).update(next_attempt_at=None)
    Worker(worker_id="w9", concurrency=1).run_until_idle()
    run.refresh_from_db()
    assert run.status == ExecutionRun.Status.SUCCEEDED, run.error
