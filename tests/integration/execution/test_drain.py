"""Real worker processes draining thousands of jobs, and a worker killed with SIGKILL.

Each test builds its own scratch database (a fresh PostgreSQL database, or a SQLite file),
migrates it, seeds events, and starts ``manage.py automate_worker`` processes against it.
Side effects are counted at a sink file that every step appends its idempotency key to.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def _on_postgres_tier() -> bool:
    return os.environ.get("AUTOMATE_TEST_DATABASE_URL", "").startswith("postgres")


class Scratch:
    """A scratch database plus the environment for processes that use it."""

    def __init__(self, url: str, tmp_path: Path, lease_seconds: float = 30) -> None:
        self.url = url
        self.sink = tmp_path / "sink.txt"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "AUTOMATE_TEST_DATABASE_URL": url,
            "AUTOMATE_WORKER_MODE": "process",
            "AUTOMATE_TEST_SINK": str(self.sink),
            "AUTOMATE_TEST_LEASE_SECONDS": str(lease_seconds),
            "PYTHONPATH": f"{ROOT / 'backend'}:{ROOT}",
        }
        self.workers: list[subprocess.Popen[bytes]] = []
        self.logs = tmp_path
        self._logs: list = []

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def migrate_and_seed(self, *, events: int, fanout: int, sleep: float = 0) -> None:
        self.run("manage.py", "migrate", "--noinput")
        self.run(
            "-m",
            "tests.support.drainkit",
            "seed",
            "--events",
            str(events),
            "--fanout",
            str(fanout),
            "--sleep",
            str(sleep),
        )

    def start_worker(
        self, *, concurrency: int = 2, batch_size: int = 10
    ) -> subprocess.Popen[bytes]:
        # A file, not a pipe: nobody reads a pipe until the end, and a full one blocks.
        log = open(self.logs / f"worker{len(self.workers)}.log", "wb")  # noqa: SIM115
        self._logs.append(log)
        worker = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "automate_worker",
                "--concurrency",
                str(concurrency),
                "--batch-size",
                str(batch_size),
                "--poll-interval",
                "0.2",
                "--reap-interval",
                "1",
            ],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        self.workers.append(worker)
        return worker

    def status(self) -> dict:
        return json.loads(self.run("-m", "tests.support.drainkit", "status"))

    def wait_until_done(self, runs: int, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            state = self.status()
            if state["runs"].get("succeeded", 0) == runs and not (
                set(state["jobs"]) - {"COMPLETED"}
            ):
                return state
            for worker in self.workers:
                if worker.poll() not in (None, 0, -signal.SIGKILL):
                    logs = "\n".join(p.read_text()[-2000:] for p in self.logs.glob("worker*.log"))
                    pytest.fail(f"a worker died: {logs}")
            if time.monotonic() > deadline:
                pytest.fail(f"not drained in {timeout}s: {state}")
            time.sleep(0.5)

    def sink_counts(self) -> Counter[str]:
        return Counter(self.sink.read_text().split())

    def stop_workers(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        for log in self._logs:
            log.close()


@pytest.fixture
def postgres_scratch(tmp_path):
    if not _on_postgres_tier():
        pytest.skip("runs in the PostgreSQL tier")
    import psycopg

    name = f"automate_drain_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    scratch = Scratch(f"postgres://postgres@127.0.0.1:5432/{name}", tmp_path, lease_seconds=3)
    yield scratch
    scratch.stop_workers()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def sqlite_scratch(tmp_path):
    if _on_postgres_tier():
        pytest.skip("runs in the SQLite tier")
    scratch = Scratch(f"sqlite:///{tmp_path / 'drain.sqlite3'}", tmp_path, lease_seconds=3)
    yield scratch
    scratch.stop_workers()


@pytest.mark.postgres
def test_four_worker_processes_run_5000_step_jobs_exactly_once(postgres_scratch):
    postgres_scratch.migrate_and_seed(events=1000, fanout=5)
    for _ in range(4):
        postgres_scratch.start_worker(concurrency=2, batch_size=10)
    state = postgres_scratch.wait_until_done(runs=1000, timeout=240)

    counts = postgres_scratch.sink_counts()
    assert state["step_jobs"] == 5000
    assert len(counts) == 5000, "every step ran"
    assert max(counts.values()) == 1, "no step ran twice"


def _kill_one_worker_mid_drain(scratch: Scratch, *, runs: int, fanout: int) -> None:
    scratch.migrate_and_seed(events=runs, fanout=fanout, sleep=0.02)
    victim = scratch.start_worker(concurrency=2, batch_size=10)
    scratch.start_worker(concurrency=2, batch_size=10)
    deadline = time.monotonic() + 60
    while not scratch.sink.exists() or len(scratch.sink.read_text().split()) < runs * fanout // 5:
        assert time.monotonic() < deadline, "the workers never got going"
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)  # mid-step, holding leases
    victim.wait()

    state = scratch.wait_until_done(runs=runs, timeout=240)
    counts = scratch.sink_counts()
    assert state["step_jobs"] == runs * fanout
    assert len(counts) == runs * fanout, "nothing was lost: every step's side effect happened"
    # Only steps the dead worker was running when it died may have run twice, and the sink
    # is keyed by idempotency key, so the side effect still happened once per step.
    assert sum(n - 1 for n in counts.values()) <= 2 * 10


@pytest.mark.postgres
def test_a_worker_killed_holding_leases_loses_nothing_on_postgres(postgres_scratch):
    _kill_one_worker_mid_drain(postgres_scratch, runs=200, fanout=5)


@pytest.mark.sqlite_only
def test_two_worker_threads_drain_exactly_once_on_sqlite(sqlite_scratch):
    sqlite_scratch.migrate_and_seed(events=400, fanout=5)
    sqlite_scratch.start_worker(concurrency=2, batch_size=10)
    sqlite_scratch.wait_until_done(runs=400, timeout=240)
    counts = sqlite_scratch.sink_counts()
    assert len(counts) == 2000
    assert max(counts.values()) == 1


@pytest.mark.sqlite_only
def test_a_worker_killed_holding_leases_loses_nothing_on_sqlite(sqlite_scratch):
    _kill_one_worker_mid_drain(sqlite_scratch, runs=100, fanout=5)


@pytest.mark.sqlite_only
def test_sigterm_finishes_running_steps_and_hands_back_the_rest(sqlite_scratch):
    sqlite_scratch.migrate_and_seed(events=20, fanout=5, sleep=0.3)
    worker = sqlite_scratch.start_worker(concurrency=2, batch_size=10)
    deadline = time.monotonic() + 60
    while not sqlite_scratch.sink.exists():
        assert time.monotonic() < deadline, "the worker never got going"
        time.sleep(0.05)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0, "a graceful stop exits cleanly"

    state = sqlite_scratch.status()
    assert "CLAIMED" not in state["jobs"], "nothing is left leased to the stopped worker"
    assert state["jobs"].get("PENDING", 0) > 0, "unstarted jobs were handed back"
    # Every step that started also finished: each sink line belongs to a completed job.
    done = sqlite_scratch.run("-m", "tests.support.drainkit", "status")
    assert json.loads(done)["jobs"].get("COMPLETED", 0) >= len(sqlite_scratch.sink_counts())

    # Another worker finishes the rest; nothing ran twice.
    sqlite_scratch.start_worker(concurrency=2, batch_size=10)
    sqlite_scratch.wait_until_done(runs=20, timeout=120)
    assert max(sqlite_scratch.sink_counts().values()) == 1


@pytest.mark.postgres
def test_an_idle_worker_wakes_on_notify_before_its_poll_interval(postgres_scratch):
    postgres_scratch.migrate_and_seed(events=0, fanout=1)
    log = open(postgres_scratch.logs / "slow-poll.log", "wb")  # noqa: SIM115
    postgres_scratch._logs.append(log)
    postgres_scratch.workers.append(
        subprocess.Popen(
            [sys.executable, "manage.py", "automate_worker", "--poll-interval", "30"],
            env=postgres_scratch.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    )
    time.sleep(4)  # started and LISTENing; its next poll is ~30 s away
    started = time.monotonic()
    postgres_scratch.run(
        "-c",
        "import django; django.setup(); from automate.runtime import "
        "emit_event; emit_event('drain.tick', {'i': 1})",
    )
    postgres_scratch.wait_until_done(runs=1, timeout=20)
    assert time.monotonic() - started < 15, "woken by NOTIFY, not by the 30 s poll"
