"""A worker whose database connection is terminated mid-job reconnects and retries the job.

The connection of the worker thread running a step is killed with ``pg_terminate_backend``
while the step runs (as in a failover). The job's bookkeeping must not fail on the dead
connection and leave the job CLAIMED until its lease runs out: the thread reconnects, the
job goes back to PENDING due at once, and the run completes within seconds.
"""

from __future__ import annotations

import os
import threading
import time

import psycopg
import pytest
from django.db import connection, connections
from django.test import override_settings

from automate import signals
from automate.execution.models import ExecutionRun, OutboxJob, StepRun
from automate.execution.worker import Worker
from automate.runtime import emit_event
from tests.factories import make_published

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def on_postgres():
    if connection.vendor != "postgresql":
        if os.environ.get("CI") == "true":
            pytest.fail("This test must run on PostgreSQL in CI (AUTOMATE_TEST_DATABASE_URL).")
        pytest.skip("needs PostgreSQL")


@pytest.fixture(autouse=True)
def process_mode():
    with override_settings(
        DJANGO_AUTOMATE={
            "WORKER_MODE": "process",
            "CONNECTORS": ["tests.support.connectors.TestKitConnector"],
            "EXECUTION": {"poll_interval_seconds": 0.1, "lease_seconds": 300},
        }
    ):
        yield


def _admin() -> psycopg.Connection:
    params = connections["default"].get_connection_params()
    return psycopg.connect(**params, autocommit=True)


def _terminate(pid: int) -> None:
    with _admin() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            row = admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
            if row is None:
                return
            time.sleep(0.01)


def publish_one_step():
    return make_published(
        slug="one-step",
        rule_spec={},
        trigger_spec={"event_type": "thing.happened"},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {
                    "id": "echo",
                    "type": "action",
                    "connector": "testkit",
                    "action": "echo",
                    "inputs": {"text": "hi"},
                },
            ],
            "edges": [{"source": "trigger", "target": "echo"}],
        },
    )


def _run_in_thread(worker: Worker) -> threading.Thread:
    def target() -> None:
        try:
            worker.run()
        finally:
            connections.close_all()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def _run_worker_until(done, timeout: float) -> tuple[Worker, float]:
    worker = Worker(worker_id="victim", concurrency=2, fire_schedules=False)
    started = time.monotonic()
    thread = _run_in_thread(worker)
    try:
        while time.monotonic() - started < timeout and not done():
            time.sleep(0.05)
        return worker, time.monotonic() - started
    finally:
        worker.stop()
        thread.join(30)


def test_a_terminated_connection_mid_step_is_replaced_and_the_job_retried_at_once():
    publish_one_step()
    killed: list[int] = []

    def kill_my_connection(sender, step, execution, **kwargs):
        # Runs in the worker thread that runs the step, right after it recorded the start.
        if killed:
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        killed.append(pid)
        _terminate(pid)

    signals.step_started.connect(kill_my_connection, weak=False)
    try:
        emit_event("thing.happened", {"n": 1})
        run_done = lambda: ExecutionRun.objects.filter(status="succeeded").exists()  # noqa: E731
        _, elapsed = _run_worker_until(run_done, timeout=20)
    finally:
        signals.step_started.disconnect(kill_my_connection)

    assert killed, "the step never started"
    run = ExecutionRun.objects.get()
    assert run.status == "succeeded", run.error
    assert elapsed < 10
    assert not OutboxJob.objects.filter(status="CLAIMED").exists()
    step_job = OutboxJob.objects.get(kind="step")
    assert step_job.status == "COMPLETED"
    # Written on a fresh connection by the same attempt, or retried once at once.
    assert step_job.attempts in (1, 2)
    attempts = list(StepRun.objects.filter(node_id="echo").order_by("attempt"))
    assert attempts[-1].status == "succeeded"


def test_a_terminated_idle_connection_does_not_stop_the_worker():
    publish_one_step()
    worker = Worker(worker_id="idle", concurrency=1, fire_schedules=False)
    thread = _run_in_thread(worker)
    try:
        time.sleep(0.5)  # the worker has claimed nothing and waits
        with _admin() as admin:
            pids = [
                row[0]
                for row in admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                ).fetchall()
            ]
        mine = _my_pid()
        for pid in pids:
            if pid != mine:
                _terminate(pid)
        emit_event("thing.happened", {"n": 2})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if ExecutionRun.objects.filter(status="succeeded").exists():
                break
            time.sleep(0.05)
    finally:
        worker.stop()
        thread.join(30)
    assert ExecutionRun.objects.get().status == "succeeded"
    assert not OutboxJob.objects.filter(status="CLAIMED").exists()


def _my_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])
