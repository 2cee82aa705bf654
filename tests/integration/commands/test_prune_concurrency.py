"""Prunes beside other prunes and beside workers, and the worker's periodic prune."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.db import connection, connections
from django.test import override_settings
from django.utils import timezone

from automate.events.models import Event
from automate.execution.models import ExecutionRun, StepRun
from automate.retention import periodic
from automate.retention.batches import Pruner
from automate.runtime import run_workflow
from tests.factories import make_published

pytestmark = pytest.mark.django_db(transaction=True)


def make_old_runs(count: int, *, days: int = 40, slug: str = "old") -> None:
    make_published(slug=slug)
    for n in range(count):
        run_workflow(slug, {"n": n})
    at = timezone.now() - timedelta(days=days)
    ExecutionRun.objects.update(status="succeeded", created_at=at, finished_at=at)
    Event.objects.update(created_at=at)


def on_postgres() -> None:
    if connection.vendor == "sqlite":
        pytest.skip("row locks between connections: PostgreSQL, MySQL, MariaDB")


@pytest.fixture(autouse=True)
def _fresh_periodic_state():
    periodic.reset()
    yield
    periodic.reset()


@pytest.mark.postgres
def test_two_prunes_at_once_delete_each_row_once_and_both_finish():
    on_postgres()
    make_old_runs(300)
    start = threading.Barrier(2)
    tallies, errors = [], []

    def prune() -> None:
        try:
            start.wait()
            tallies.append(Pruner(batch_size=7).run())
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=prune) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors
    assert len(tallies) == 2, "both prunes finished"
    assert sum(t["runs"].rows for t in tallies) == 300, "each run deleted once"
    assert sum(t["events"].rows for t in tallies) == 300
    assert sum(t["runs"].dependents.get("step runs", 0) for t in tallies) == 300
    # They shared the work (neither waited for the other to finish first).
    assert all(t["runs"].rows for t in tallies)
    assert ExecutionRun.objects.count() == Event.objects.count() == StepRun.objects.count() == 0


@override_settings(DJANGO_AUTOMATE={"RETENTION": {"prune_interval_seconds": 3600}})
def test_the_periodic_prune_runs_once_per_interval_on_its_own_thread():
    make_old_runs(5)
    thread = periodic.prune_if_due()
    assert thread is not None
    assert thread.name == "automate-prune"
    thread.join(timeout=60)
    assert ExecutionRun.objects.count() == Event.objects.count() == 0

    make_old_runs(1, slug="later")
    # Not due again before the interval has passed.
    assert periodic.prune_if_due() is None
    assert ExecutionRun.objects.count() == 1


def test_the_periodic_prune_is_off_by_default():
    make_old_runs(1)
    assert periodic.prune_if_due() is None
    assert ExecutionRun.objects.count() == 1


@override_settings(
    DJANGO_AUTOMATE={"RETENTION": {"prune_interval_seconds": 3600, "prune_batch_size": 2}}
)
def test_a_periodic_pass_is_bounded(monkeypatch):
    make_old_runs(7)
    periodic.prune_pass(max_batches=2)
    # Two batches of two per table: the rest waits for the next pass.
    assert ExecutionRun.objects.count() == 3
    periodic.prune_pass(max_batches=2)
    assert ExecutionRun.objects.count() == 0


@pytest.mark.postgres
@override_settings(DJANGO_AUTOMATE={"RETENTION": {"prune_interval_seconds": 3600}})
def test_only_one_worker_prunes_at_a_time():
    on_postgres()
    make_old_runs(3)
    from django.db import connections as conns

    other = conns.create_connection("default")
    try:
        take, release, key = {
            "postgresql": ("SELECT pg_advisory_lock(%s)", "SELECT pg_advisory_unlock(%s)"),
            "mysql": ("SELECT GET_LOCK(%s, 10)", "SELECT RELEASE_LOCK(%s)"),
        }[connection.vendor] + (
            periodic.MYSQL_LOCK_NAME if connection.vendor == "mysql" else periodic.LOCK_KEY,
        )
        with other.cursor() as cursor:
            cursor.execute(take, [key])
        # Another worker holds the prune lock: this one skips its turn.
        assert periodic.prune_pass() is None
        assert ExecutionRun.objects.count() == 3
        with other.cursor() as cursor:
            cursor.execute(release, [key])
        assert periodic.prune_pass()["runs"].rows == 3
    finally:
        other.close()


@override_settings(DJANGO_AUTOMATE={"RETENTION": {"prune_interval_seconds": 3600}})
def test_a_worker_loop_starts_the_periodic_prune():
    from automate.execution.worker import Worker

    make_old_runs(4)
    Worker(worker_id="pruner", concurrency=1).run(once=True)
    assert periodic._running is not None
    periodic._running.join(timeout=60)
    assert ExecutionRun.objects.count() == 0


@pytest.mark.postgres
def test_prune_while_workers_run_loses_no_run_and_breaks_no_worker(tmp_path):
    """Real worker processes drain new runs while automate_prune deletes old ones."""
    from tests.integration.execution.test_drain import ROOT, Scratch, _on_postgres_tier

    if not _on_postgres_tier():
        pytest.skip("runs in the PostgreSQL tier")
    import uuid

    import psycopg

    from tests.integration.execution.test_drain import PG_ADMIN_URL

    name = f"automate_h_prune_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    scratch_url = f"postgres://postgres@127.0.0.1:5432/{name}"
    scratch = Scratch(scratch_url, tmp_path)
    try:
        # Steps of 30 ms: a drain takes seconds, so the prune runs in the middle of one.
        scratch.migrate_and_seed(events=300, fanout=2, sleep=0.03)
        scratch.start_worker(concurrency=2, batch_size=10)
        scratch.wait_until_done(runs=300, timeout=240)
        scratch.run("-m", "tests.support.prunekit", "age", "--days", "40")
        scratch.run("-m", "tests.support.prunekit", "emit", "--events", "300")
        # One step at a time (about 18 s of steps): the prune ends well before the drain
        # does, even on a loaded machine.
        scratch.start_worker(concurrency=1, batch_size=1)
        started = datetime.now(dt_timezone.utc)
        prune = subprocess.run(
            [sys.executable, "manage.py", "automate_prune", "--batch-size", "20"],
            env=scratch.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert prune.returncode == 0, prune.stderr[-3000:]
        assert "runs: deleted 300 in 15 batches" in prune.stdout
        ended = datetime.now(dt_timezone.utc)
        # The prune ran beside a busy worker: new runs finished while it was deleting (a
        # count of runs left would depend on which of the two is quicker on the day).
        with psycopg.connect(scratch_url) as conn:
            finished_during = conn.execute(
                "SELECT count(*) FROM automate_executionrun"
                " WHERE status = 'succeeded' AND finished_at BETWEEN %s AND %s",
                (started, ended),
            ).fetchone()[0]
        assert finished_during > 0, "the worker finished runs while the prune ran"
        state = scratch.wait_until_done(runs=300, timeout=240)
        assert state["step_jobs"] == 300 * 2, "every new run's steps, none lost"
        time.sleep(0.5)
        scratch.stop_workers()
        logs = "\n".join(p.read_text() for p in tmp_path.glob("worker*.log"))
        assert "Traceback" not in logs, logs[-3000:]
        levels = [
            json.loads(line).get("log.level") for line in logs.splitlines() if line.startswith("{")
        ]
        assert "error" not in levels, logs[-3000:]
    finally:
        scratch.stop_workers()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
