"""A run that stopped with steps in flight gets follow-up ("settle") frames until it
converges; however many signals such a run sends, and however many runs stop at once,
the follow-ups stay bounded: one pending settle per run, a cap on the runs being settled,
one scheduler thread."""

import threading
import time

import pytest

from automate.realtime import publisher


class FakeRuns:
    """``run_frame`` of runs that stopped (cancelled) with a step still in flight until
    ``settle(run_id)``; every frame sent is recorded."""

    def __init__(self):
        self.in_flight = set()
        self.sent = []
        self.lock = threading.Lock()

    def run_frame(self, run_id, *, reason, advance):
        steps = [{"node_id": "call", "queued": True}] if str(run_id) in self.in_flight else []
        return {
            "seq": 1,
            "reason": reason,
            "run": {"status": "cancelled", "tenant_id": 1},
            "steps": steps,
        }

    def send(self, layer, messages):
        with self.lock:
            self.sent.append(messages[0][1]["frame"])

    def settles(self, run_id=None):
        with self.lock:
            return [
                f
                for f in self.sent
                if f["reason"] == "settle" and (run_id is None or f["run_id"] == str(run_id))
            ]


@pytest.fixture
def runs(monkeypatch):
    fake = FakeRuns()

    def run_frame(run_id, *, reason, advance):
        frame = fake.run_frame(run_id, reason=reason, advance=advance)
        frame["run_id"] = str(run_id)
        return frame

    monkeypatch.setattr(publisher, "get_channel_layer", lambda: object())
    monkeypatch.setattr(publisher, "run_frame", run_frame)
    monkeypatch.setattr(publisher, "_send", fake.send)
    yield fake
    publisher.stop_settling()


def wait_until(condition, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def settle_threads():
    return [
        t
        for t in threading.enumerate()
        if isinstance(t, threading.Timer) or t.name == "automate-realtime-settle"
    ]


def test_fifty_signals_of_one_stopped_run_make_one_pending_settle(runs, monkeypatch):
    monkeypatch.setattr(publisher, "SETTLE_SECONDS", 0.05)
    runs.in_flight.add("run-1")
    started = time.monotonic()
    for _ in range(50):
        publisher.publish_run("run-1", reason="step_completed")

    assert len(settle_threads()) <= 1  # not a timer thread per signal
    assert publisher.settling() == {"run-1": publisher.SETTLE_ROUNDS - 1}
    assert wait_until(lambda: runs.settles("run-1"))
    time.sleep(0.2)
    # One chain: at most one settle frame every SETTLE_SECONDS, not fifty at a time.
    rounds_possible = (time.monotonic() - started) / publisher.SETTLE_SECONDS
    assert len(runs.settles("run-1")) <= rounds_possible + 1
    assert len(settle_threads()) <= 1


def test_the_runs_being_settled_are_capped_dropping_the_oldest(runs, monkeypatch):
    monkeypatch.setattr(publisher, "SETTLE_SECONDS", 60)
    monkeypatch.setattr(publisher, "MAX_SETTLING", 10)
    for n in range(25):
        runs.in_flight.add(f"run-{n}")
        publisher.publish_run(f"run-{n}", reason="workflow_cancelled")

    assert sorted(publisher.settling()) == sorted(f"run-{n}" for n in range(15, 25))
    assert len(settle_threads()) == 1  # one scheduler, not a thread per run


def test_settling_converges_closes_connections_and_ends_its_thread(runs, monkeypatch):
    monkeypatch.setattr(publisher, "SETTLE_SECONDS", 0.05)
    closed = []
    monkeypatch.setattr(publisher.connections, "close_all", lambda: closed.append(1))
    runs.in_flight.update({"run-a", "run-b"})
    for _ in range(5):
        publisher.publish_run("run-a", reason="step_completed")
        publisher.publish_run("run-b", reason="workflow_cancelled")
    assert wait_until(lambda: len(runs.settles("run-a")) >= 2)

    runs.in_flight.clear()  # the engine wrote the last outcomes, without a signal
    assert wait_until(lambda: not publisher.settling())
    assert wait_until(lambda: not settle_threads())
    for run_id in ("run-a", "run-b"):
        assert runs.settles(run_id)[-1]["steps"] == []  # the page shows it settled
    assert closed  # each round closed the thread's connections
    count = len(runs.settles())
    time.sleep(0.2)
    assert len(runs.settles()) == count  # and nothing more is published


def test_a_failing_settle_retries_on_the_same_chain_and_stops(runs, monkeypatch):
    monkeypatch.setattr(publisher, "SETTLE_SECONDS", 0.01)
    runs.in_flight.add("run-x")
    publisher.publish_run("run-x", reason="workflow_cancelled")
    attempts = []

    def busy(run_id, *, reason, advance):
        attempts.append(reason)
        raise RuntimeError("database is locked")

    monkeypatch.setattr(publisher, "run_frame", busy)
    for _ in range(10):
        publisher._settle_later("run-x", 3)  # more requests merge into the one pending
    assert wait_until(lambda: not publisher.settling() and not settle_threads())
    # Each retry counts down the one chain: never more attempts than its rounds.
    assert 1 <= len(attempts) <= publisher.SETTLE_ROUNDS
    assert set(attempts) == {"settle"}
