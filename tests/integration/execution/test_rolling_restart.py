"""A rolling restart (docs/howto/deploy.md): each worker in turn gets SIGTERM and a new one
takes its place while a backlog drains. Nothing is lost, and because every stop is clean
(running steps finish, unstarted claims go back), nothing runs twice either."""

from __future__ import annotations

import signal
import time

import pytest

from tests.integration.execution.test_drain import Scratch, postgres_scratch  # noqa: F401

RUNS, FANOUT = 240, 3


def _wait_for_side_effects(scratch: Scratch, at_least: int) -> None:
    deadline = time.monotonic() + 120
    while not scratch.sink.exists() or len(scratch.sink.read_text().split()) < at_least:
        assert time.monotonic() < deadline, f"fewer than {at_least} steps ran in 120 s"
        time.sleep(0.05)


@pytest.mark.postgres
def test_replacing_every_worker_one_by_one_loses_and_doubles_nothing(postgres_scratch):  # noqa: F811
    scratch = postgres_scratch
    scratch.migrate_and_seed(events=RUNS, fanout=FANOUT, sleep=0.02)
    old = [scratch.start_worker(concurrency=2, batch_size=10) for _ in range(2)]
    total = RUNS * FANOUT
    for number, worker in enumerate(old, start=1):
        _wait_for_side_effects(scratch, total * number // 3)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0, "a worker stops cleanly on SIGTERM"
        scratch.start_worker(concurrency=2, batch_size=10)

    state = scratch.wait_until_done(runs=RUNS, timeout=240)
    counts = scratch.sink_counts()
    assert state["step_jobs"] == total
    assert len(counts) == total, "every step ran"
    assert max(counts.values()) == 1, "no step ran twice: each stop handed its claims back"
