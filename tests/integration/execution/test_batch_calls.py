"""A claimed batch of steps runs its connector calls at once, and writes outcomes as they
come in (issue 12: the default worker split every batch into one step per thread, one
transaction each, a quarter of the throughput; a batch kept whole must not make slow steps
wait for each other, nor fast ones for a slow one). SQLite and PostgreSQL.
"""

from __future__ import annotations

import time

import pytest
from django.test import override_settings

from automate.execution.models import ExecutionRun, StepRun
from automate.execution.runner import process_batch
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


def publish_sleeping_step(timeout: float) -> None:
    """One step that sleeps ``event.payload.seconds``, with a timeout of ``timeout`` s."""
    make_published(
        slug="sleepy",
        rule_spec={},
        trigger_spec={"event_type": "thing.happened"},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {
                    "id": "nap",
                    "type": "action",
                    "connector": "testkit",
                    "action": "sleep",
                    "inputs": {"seconds": "{{ event.payload.seconds }}"},
                    "timeout_seconds": timeout,
                },
            ],
            "edges": [{"source": "trigger", "target": "nap"}],
        },
    )


def queued_steps(*seconds: float, timeout: float = 5) -> list:
    """One run per entry, its step job claimed by ``w`` (in the order given)."""
    publish_sleeping_step(timeout)
    store = default_store()
    for value in seconds:
        emit_event("thing.happened", {"seconds": value})
    process_batch(store.claim_batch("w", len(seconds)), store=store, worker_id="w", hop=False)
    return store.claim_batch("w", len(seconds))


def test_the_calls_of_a_batch_are_in_flight_at_once():
    jobs = queued_steps(*[0.3] * 8)
    assert len(jobs) == 8

    started = time.monotonic()
    process_batch(jobs, store=default_store(), worker_id="w")
    elapsed = time.monotonic() - started

    assert ExecutionRun.objects.filter(status="succeeded").count() == 8
    assert elapsed < 1.5, f"8 calls of 0.3 s one after another would take 2.4 s: {elapsed:.2f}"
    durations = StepRun.objects.filter(node_id="nap").values_list("duration_ms", flat=True)
    assert all(300 <= ms < 1200 for ms in durations), durations


def test_a_slow_step_does_not_hold_back_the_outcomes_of_fast_ones():
    jobs = queued_steps(1.5, 0.0, 0.0, 0.0)
    finished_at: dict[str, float] = {}
    started = time.monotonic()

    from automate import signals

    def note(sender, step, execution, **kwargs):
        finished_at[str(execution.pk)] = time.monotonic() - started

    signals.step_completed.connect(note, weak=False)
    try:
        process_batch(jobs, store=default_store(), worker_id="w")
    finally:
        signals.step_completed.disconnect(note)

    slow = ExecutionRun.objects.get(event__payload__seconds=1.5)
    fast = [at for run_id, at in finished_at.items() if run_id != str(slow.pk)]
    assert len(fast) == 3
    assert max(fast) < 1.0, f"the fast steps waited for the slow one: {fast}"
    assert finished_at[str(slow.pk)] >= 1.5
    assert ExecutionRun.objects.filter(status="succeeded").count() == 4


def test_a_step_past_its_timeout_fails_while_the_others_of_its_batch_succeed():
    jobs = queued_steps(0.0, 30.0, 0.0, timeout=0.5)

    started = time.monotonic()
    process_batch(jobs, store=default_store(), worker_id="w")

    assert time.monotonic() - started < 5, "the batch did not wait for the 30 s call"
    slow = StepRun.objects.get(run__event__payload__seconds=30.0, node_id="nap")
    assert slow.status in ("retrying", "failed")
    assert "timeout of 0.5 seconds" in slow.error
    assert ExecutionRun.objects.filter(status="succeeded").count() == 2


def test_a_call_that_returns_after_its_deadline_is_a_timeout_whenever_it_is_read():
    from automate.execution.exceptions import StepTimeoutError
    from automate.execution.step_exec import start_call

    call = start_call(lambda: time.sleep(0.3) or {"ok": 1}, timeout=0.1, name="late")
    time.sleep(0.6)  # the batch's thread was busy writing other outcomes meanwhile
    assert call.done.is_set()
    with pytest.raises(StepTimeoutError, match=r"timeout of 0\.1 seconds"):
        call.result(wait=False)


def test_a_connector_that_raises_systemexit_fails_its_step_retryably():
    from automate.connectors import ConnectorError
    from automate.execution.step_exec import start_call

    def rude() -> None:
        raise SystemExit(3)

    call = start_call(rude, timeout=5, name="rude")
    with pytest.raises(ConnectorError, match="stopped with SystemExit") as caught:
        call.result()
    assert caught.value.retryable


def test_a_slow_step_frees_the_capacity_of_the_fast_ones_of_its_batch():
    """The worker is told each job's outcome as it is written, so a batch waiting on one
    slow call holds one slot, not the whole batch's."""
    jobs = queued_steps(1.5, 0.0, 0.0, 0.0)
    settled: list[tuple[float, list[int]]] = []
    started = time.monotonic()
    process_batch(
        jobs,
        store=default_store(),
        worker_id="w",
        on_settled=lambda done: settled.append((time.monotonic() - started, [j.pk for j in done])),
    )
    early = [pk for at, pks in settled if at < 1.0 for pk in pks]
    assert len(early) == 3, settled
    assert sorted(pk for _, pks in settled for pk in pks) == sorted(job.pk for job in jobs)
