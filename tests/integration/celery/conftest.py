"""Real brokers, a real relay (``manage.py automate_worker`` with ``EXECUTION.backend =
"celery"``) and real Celery worker processes on the PostgreSQL test database.

RabbitMQ on 127.0.0.1:5672 (guest/guest) and Redis on 127.0.0.1:6379 (database 9). A
broker that does not answer skips its tests with a reason, except under CI=true, where it
is a failure. Every test sends to a queue of its own, so runs sharing a broker do not meet.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from tests.integration.execution.test_liveness_processes import SlowHook, database_url

ROOT = Path(__file__).resolve().parents[3]
BROKERS = {
    "rabbitmq": ("amqp://guest:guest@127.0.0.1:5672//", ("127.0.0.1", 5672)),
    "redis": ("redis://127.0.0.1:6379/9", ("127.0.0.1", 6379)),
}
#: Quick liveness and handoff timings: recoveries take seconds, not the defaults' minutes.
EXECUTION = {
    "backend": "celery",
    "celery_app": "tests.integration.celery.celeryapp.app",
    "celery_handoff_seconds": 2,
    "heartbeat_interval_seconds": 0.5,
    "worker_timeout_seconds": 2,
    "lease_seconds": 300,  # long: only the heartbeat or a takeover explains a recovery
}


def answers(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(params=sorted(BROKERS))
def broker(request: pytest.FixtureRequest) -> str:
    """The URL of a broker that answers (each test runs once per broker)."""
    url, address = BROKERS[request.param]
    if not answers(address):
        where = f"{request.param} does not answer on {address[0]}:{address[1]}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{where} (required under CI=true).")
        pytest.skip(f"{where}; start it to run this test.")
    return url


@pytest.fixture
def hook() -> Iterator[SlowHook]:
    server = SlowHook()
    yield server
    server.close()


class Cluster:
    """A relay and Celery workers on the test database, one broker and one queue; every
    process is stopped at the end of the test."""

    def __init__(self, logs: Path, broker: str, queue: str, engine: dict[str, Any]) -> None:
        self.logs = logs
        self.broker = broker
        self.queue = queue
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "AUTOMATE_TEST_DATABASE_URL": database_url(),
            "AUTOMATE_WORKER_MODE": "process",
            "AUTOMATE_TEST_SETTINGS": json.dumps(engine),
            "AUTOMATE_TEST_CELERY_BROKER": broker,
            "PYTHONPATH": f"{ROOT / 'backend'}:{ROOT}",
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def _start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            command,
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a SIGKILL of the group takes a prefork pool's children
        )
        log.close()
        self.processes[name] = process
        return process

    def relay(self, name: str = "relay") -> subprocess.Popen[bytes]:
        return self._start(
            name,
            [
                sys.executable,
                "manage.py",
                "automate_worker",
                "--worker-id",
                name,
                "--poll-interval",
                "0.2",
                "--reap-interval",
                "0.5",
            ],
        )

    def celery(self, name: str, *, pool: str = "solo") -> subprocess.Popen[bytes]:
        return self._start(
            name,
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.integration.celery.celeryapp",
                "worker",
                "--pool",
                pool,
                "--concurrency",
                "2",
                "--queues",
                self.queue,
                "--hostname",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "INFO",
            ],
        )

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def logs_text(self) -> str:
        return "\n".join(
            f"--- {name}\n{(self.logs / f'{name}.log').read_text()[-3000:]}"
            for name in self.processes
        )

    def wait_for(self, condition: Callable[[], Any], timeout: float, message: str) -> float:
        """Poll ``condition`` every 50 ms; returns when it held (time.monotonic())."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"{message} (after {timeout} s)\n{self.logs_text()}")
            time.sleep(0.05)
        return time.monotonic()

    def stop_all(self) -> None:
        # Killed, not stopped: the test database and the queue go with the test, and a
        # clean Celery shutdown takes seconds.
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        for process in self.processes.values():
            process.wait()


@pytest.fixture
def cluster(transactional_db: None, tmp_path: Path, broker: str, hook: SlowHook):
    queue = f"automate-test-{uuid.uuid4().hex[:12]}"
    engine = {
        "EXECUTION": {**EXECUTION, "celery_queue": queue},
        "POLICY": {"http_allowlist": [f"127.0.0.1:{hook.port}"]},
    }
    # This process only queues jobs (nothing runs inline here).
    with override_settings(
        DJANGO_AUTOMATE={
            "WORKER_MODE": "process",
            "CONNECTORS": ["tests.support.connectors.TestKitConnector"],
            **engine,
        }
    ):
        group = Cluster(tmp_path, broker, queue, engine)
        try:
            yield group
        finally:
            group.stop_all()
            purge(broker, queue, delete=True)


def probe_app(broker: str) -> Any:
    """A Celery app of this test process on ``broker`` (not the current app)."""
    from celery import Celery

    return Celery("automate-test-probe", broker=broker, set_as_current=False)


def purge(broker: str, queue: str, *, delete: bool = False) -> int:
    """Drop every message waiting in ``queue``; returns how many there were."""
    with probe_app(broker) as app, app.connection_for_write() as conn:
        channel = conn.default_channel
        try:
            dropped = channel.queue_purge(queue) or 0
            if delete:
                channel.queue_delete(queue)
        except Exception:
            dropped = 0  # the queue was never declared
    return int(dropped)
