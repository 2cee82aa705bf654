"""Real ``manage.py automate_worker`` processes against the test database: a worker
SIGKILLed in the middle of an HTTP step has its job running again on another worker within
seconds (not after its 300 s lease), with the same idempotency key; a clean stop removes the
worker's row. (How fast a worker starts claiming: test_worker_startup.py.)

Runs on PostgreSQL and SQLite. The worker processes use the small liveness timings below
(``AUTOMATE_TEST_SETTINGS``, read by config.settings_test).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection
from django.test import override_settings

from automate.execution.models import ExecutionRun, OutboxJob, StepRun, WorkerProcess
from automate.runtime import emit_event
from tests.factories import make_published

ROOT = Path(__file__).resolve().parents[3]
LIVENESS = {
    "heartbeat_interval_seconds": 0.5,
    "worker_timeout_seconds": 2,
    "lease_seconds": 300,  # long: only the heartbeat can explain a quick recovery
}

pytestmark = pytest.mark.django_db(transaction=True)


def database_url() -> str:
    """The test database (the one pytest-django created), as a URL for other processes."""
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{name}"
    parts = urlsplit(os.environ["AUTOMATE_TEST_DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


class Workers:
    """Worker processes on the test database; every one is stopped at the end of the test."""

    def __init__(self, logs: Path, engine_settings: dict[str, Any]) -> None:
        self.logs = logs
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "AUTOMATE_TEST_DATABASE_URL": database_url(),
            "AUTOMATE_WORKER_MODE": "process",
            "AUTOMATE_TEST_SETTINGS": json.dumps(engine_settings),
            "PYTHONPATH": f"{ROOT / 'backend'}:{ROOT}",
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, worker_id: str, *extra: str) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{worker_id}.log", "wb")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            [sys.executable, "manage.py", "automate_worker", "--worker-id", worker_id, *extra],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        log.close()
        self.processes.append(process)
        return process

    def log(self, worker_id: str) -> str:
        return (self.logs / f"{worker_id}.log").read_text()[-3000:]

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class SlowHook:
    """A local HTTP server recording each request's arrival and Idempotency-Key; it holds
    the first request until the test ends and answers the others at once."""

    def __init__(self) -> None:
        self.requests: list[tuple[float, str]] = []
        self.release = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hook.requests.append((time.monotonic(), self.headers.get("Idempotency-Key", "")))
                if len(hook.requests) == 1:
                    hook.release.wait(60)
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"ok": true}')
                except OSError:
                    pass  # the worker that sent it was killed

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[SlowHook]:
    server = SlowHook()
    yield server
    server.close()


@pytest.fixture
def engine_settings(hook: SlowHook) -> dict[str, Any]:
    return {
        "EXECUTION": LIVENESS,
        "POLICY": {"http_allowlist": [f"127.0.0.1:{hook.port}"]},
    }


@pytest.fixture
def workers(transactional_db: None, tmp_path: Path, engine_settings: dict[str, Any]):
    # This process queues jobs for the workers (nothing runs inline here).
    with override_settings(
        DJANGO_AUTOMATE={
            "WORKER_MODE": "process",
            "CONNECTORS": ["tests.support.connectors.TestKitConnector"],
            **engine_settings,
        }
    ):
        group = Workers(tmp_path, engine_settings)
        yield group
        group.stop_all()


def wait_for(condition: Any, timeout: float, message: str, workers: Workers) -> float:
    """Poll ``condition`` every 20 ms; returns when it held (time.monotonic())."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            logs = "\n".join(workers.log(p.args[4]) for p in workers.processes)
            pytest.fail(f"{message} (after {timeout} s)\n{logs}")
        time.sleep(0.02)
    return time.monotonic()


def test_a_sigkilled_workers_http_step_runs_again_on_another_worker_within_seconds(
    workers: Workers, hook: SlowHook
):
    make_published(
        slug="slow-hook",
        rule_spec={},
        trigger_spec={"event_type": "hook.called"},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {
                    "id": "call",
                    "type": "action",
                    "connector": "http",
                    "action": "request",
                    "inputs": {
                        "url": f"http://127.0.0.1:{hook.port}/slow",
                        "method": "POST",
                        "body": "hello",
                        "timeout_seconds": 60,
                    },
                },
            ],
            "edges": [{"source": "trigger", "target": "call"}],
        },
    )
    victim = workers.start("victim", "--poll-interval", "0.2", "--reap-interval", "1")
    emit_event("hook.called", {})
    wait_for(lambda: hook.requests, 30, "the victim never called the hook", workers)
    job = OutboxJob.objects.get(kind="step")
    assert (job.status, job.locked_by) == ("CLAIMED", "victim")

    workers.start("rescuer", "--poll-interval", "0.2", "--reap-interval", "1")
    wait_for(
        lambda: WorkerProcess.objects.filter(pk="rescuer").exists(),
        30,
        "the rescuer never started",
        workers,
    )
    victim.send_signal(signal.SIGKILL)  # in the middle of its HTTP call, holding the lease
    victim.wait()
    killed = time.monotonic()

    again = wait_for(lambda: len(hook.requests) > 1, 30, "the step never ran again", workers)
    recovery = again - killed
    print(f"\nSIGKILL → step running again on another worker: {recovery:.2f} s")
    assert recovery <= 20, "the dead worker was noticed by its heartbeat, not its lease"

    (_, first_key), (_, second_key) = hook.requests[:2]
    run = ExecutionRun.objects.get()
    assert first_key == second_key == f"{run.pk}:call", "the same idempotency key"
    wait_for(
        lambda: ExecutionRun.objects.get().status == "succeeded",
        30,
        "the run never finished",
        workers,
    )
    job.refresh_from_db()
    assert (job.status, job.locked_by, job.attempts, job.lost_claims) == (
        "COMPLETED",
        "rescuer",
        1,
        1,
    ), "the claim the victim lost is counted apart from the step's attempts"
    assert (
        list(
            StepRun.objects.filter(node_id="call")
            .order_by("attempt")
            .values_list("status", flat=True)
        )[-1]
        == "succeeded"
    )
    # The victim is dead, not forgotten (an hour of history); the rescuer is alive.
    assert set(WorkerProcess.objects.values_list("pk", flat=True)) == {"victim", "rescuer"}


def test_a_clean_stop_removes_the_workers_row(workers: Workers):
    process = workers.start("clean", "--poll-interval", "0.2", "--concurrency", "3")
    wait_for(
        lambda: WorkerProcess.objects.filter(pk="clean").exists(),
        30,
        "the worker never registered",
        workers,
    )
    row = WorkerProcess.objects.get(pk="clean")
    assert (row.pid, row.concurrency) == (process.pid, 3)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert not WorkerProcess.objects.filter(pk="clean").exists()
