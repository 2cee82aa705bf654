"""What the PostgreSQL benchmarks share: scratch databases, worker processes, a local server.

Used by ``bench/drain.py`` (and its ``_drain_*`` parts) and ``bench/chaos.py``. Children
run with ``DJANGO_SETTINGS_MODULE=bench.settings_bench`` (the test settings plus the
bench-only knobs that module lists), ``WORKER_MODE`` ``process`` (nothing runs inline).
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get(
    "AUTOMATE_BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
ONE_STEP = {
    "nodes": [
        {"id": "trigger", "type": "trigger"},
        {"id": "noop", "type": "action", "connector": "testkit", "action": "echo"},
    ],
    "edges": [{"source": "trigger", "target": "noop"}],
}


def percentiles(samples: list[float]) -> tuple[float, float]:
    """``(p50, p95)`` of ``samples`` (nearest rank for the p95)."""
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def scratch_database(
    *, migrate: bool = True, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, dict[str, str]]]:
    """A fresh database ``automate_bench_<random>`` (``$AUTOMATE_BENCH_DB_PREFIX_<random>``
    when set), dropped on exit: ``(url, child env)``."""
    name = f"{os.environ.get('AUTOMATE_BENCH_DB_PREFIX', 'automate_bench')}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings_bench",
        "AUTOMATE_TEST_DATABASE_URL": url,
        "AUTOMATE_WORKER_MODE": "process",
        "PYTHONPATH": f"{ROOT / 'backend'}:{ROOT}",
        # Server-side prepared statements, as psycopg's own default (the raw loops and
        # procrastinate use it); Django's default is off. Empty: off.
        "AUTOMATE_BENCH_PREPARE_THRESHOLD": os.environ.get("AUTOMATE_BENCH_PREPARE_THRESHOLD", "5"),
        **(extra_env or {}),
    }
    try:
        if migrate:
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "-v0", "--skip-checks"],
                env=env,
                cwd=ROOT,
                check=True,
            )
        yield url, env
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def django_call(env: dict[str, str], code: str) -> str:
    """Run Django code against the scratch database in a child process; its stdout."""
    prelude = "import django, logging; django.setup(); logging.disable(logging.WARNING)\n"
    done = subprocess.run(
        [sys.executable, "-c", prelude + code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"child failed:\n{done.stderr[-3000:]}")
    return done.stdout


def start_worker(
    env: dict[str, str],
    *,
    batch: int = 10,
    concurrency: int | None = 1,
    worker_id: str | None = None,
    log: IO[bytes] | None = None,
) -> subprocess.Popen[bytes]:
    """``manage.py automate_worker`` (``concurrency`` None: the settings' thread count)."""
    args = [sys.executable, "manage.py", "automate_worker", "--batch-size", str(batch)]
    args += ["--poll-interval", "0.05"]
    if concurrency is not None:
        args += ["--concurrency", str(concurrency)]
    if worker_id is not None:
        args += ["--worker-id", worker_id]
    return subprocess.Popen(
        args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log or subprocess.DEVNULL
    )


def start_workers(
    env: dict[str, str], count: int, batch: int, *, concurrency: int | None = 1
) -> list[subprocess.Popen[bytes]]:
    return [start_worker(env, batch=batch, concurrency=concurrency) for _ in range(count)]


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM (the worker's graceful stop), then SIGKILL whatever is still up after 30 s."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_until(
    check: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.01
) -> float:
    """Poll ``check`` until true; seconds it took. Raises ``TimeoutError`` naming ``what``."""
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)
    return time.perf_counter() - started


# -- Seeding held-back work and releasing it at once --------------------------------


SEED_RUNS = """
import json
from datetime import timedelta
from django.db import transaction
from django.utils import timezone
from automate.events.services import record_event
from automate.execution.models import OutboxJob
from automate.execution.services import start_run
from automate.workflows.services import create_workflow, publish_version
wf = create_workflow(name="Bench", slug="bench", trigger_spec={{"event_type": "bench.tick"}}, graph={graph})
version = publish_version(workflow=wf)
for start in range(0, {n}, 500):
    with transaction.atomic():
        for i in range(start, min({n}, start + 500)):
            event, _ = record_event(type="bench.tick", payload={{"i": i}}, enqueue={enqueue})
            if not {enqueue}:
                start_run(event=event, version=version)
# Hold every job back until the clock starts.
OutboxJob.objects.update(next_attempt_at=timezone.now() + timedelta(hours=1))
"""


def seed(env: dict[str, str], n: int, *, events: bool, graph: dict[str, Any] = ONE_STEP) -> None:
    """``n`` events of type ``bench.tick`` (payload ``{"i": i}``) for a published ``graph``,
    every job held back an hour: with ``events`` their event jobs, else runs started
    directly (their first step jobs). ``release`` makes them due at once."""
    django_call(env, SEED_RUNS.format(graph=repr(graph), n=n, enqueue=events))


def release(conn: psycopg.Connection[Any]) -> float:
    """Make every held job due; the database clock then, in epoch seconds."""
    with conn.transaction():
        row = conn.execute("SELECT extract(epoch FROM now())").fetchone()
        conn.execute("UPDATE automate_outboxjob SET next_attempt_at = NULL")
    assert row is not None
    return float(row[0])


def count_runs(conn: psycopg.Connection[Any], status: str = "succeeded") -> int:
    row = conn.execute(
        "SELECT count(*) FROM automate_executionrun WHERE status = %s", [status]
    ).fetchone()
    return int(row[0]) if row else 0


def wait_for_runs(
    conn: psycopg.Connection[Any],
    expected: int,
    procs: list[subprocess.Popen[bytes]],
    *,
    timeout: float = 3600,
    interval: float = 0.01,
) -> None:
    """Poll until ``expected`` runs succeeded. Raises ``RuntimeError`` when a run failed (with
    its error) or a worker died, ``TimeoutError`` after ``timeout`` seconds."""

    def done() -> bool:
        failed = conn.execute(
            "SELECT error FROM automate_executionrun WHERE status = 'failed' LIMIT 1"
        ).fetchone()
        if failed:
            raise RuntimeError(f"a run failed: {failed[0][:500]}")
        if any(p.poll() not in (None, 0) for p in procs):
            raise RuntimeError("a worker process died")
        return count_runs(conn) >= expected

    wait_until(done, timeout=timeout, what=f"{expected} runs succeeded", interval=interval)


_UNFINISHED = (
    "SELECT r.status, r.error, EXISTS (SELECT 1 FROM automate_outboxjob WHERE status = "
    "'PENDING') OR EXISTS (SELECT 1 FROM automate_outboxjob WHERE status = 'CLAIMED') "
    "FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT status, error FROM automate_executionrun "
    "WHERE status <> 'succeeded' LIMIT 1) r ON true"
)


def release_and_time(url: str, expected_runs: int, procs: list[subprocess.Popen[bytes]]) -> float:
    """Make every job due, then time until ``expected_runs`` runs have succeeded.

    The poll every 10 ms asks for one run not yet succeeded and whether any job is still
    queued, which partial indexes answer at once (counting every succeeded run each time
    cost the database a few percent of a core, taken from the workers being timed); the
    count is checked once at the end."""
    with psycopg.connect(url, autocommit=True) as conn:
        time.sleep(2.0)  # let the workers finish starting up
        started = time.perf_counter()
        release(conn)
        while True:
            row = conn.execute(_UNFINISHED).fetchone()
            assert row is not None
            status, error, queued = row
            if status is None and not queued:
                elapsed = time.perf_counter() - started
                break
            if status == "failed":
                raise RuntimeError(f"a run failed: {error[:500]}")
            if any(p.poll() not in (None, 0) for p in procs):
                raise RuntimeError("a worker process died")
            time.sleep(0.01)
        if count_runs(conn) < expected_runs:
            raise RuntimeError(f"fewer than {expected_runs} runs succeeded")
    return elapsed


# -- A local HTTP server that records what it is sent -------------------------------------


@dataclass
class Hit:
    """One request the server answered: wall-clock times (``time.time()``), seconds."""

    method: str
    path: str
    idempotency_key: str
    body: bytes
    started: float
    finished: float = 0.0


@dataclass
class Recorder:
    """What a ``RecordingServer`` saw; thread-safe through ``lock``."""

    delay: Callable[[str, bytes], float]
    hits: list[Hit] = field(default_factory=list)
    in_flight: dict[int, Hit] = field(default_factory=dict)
    peak_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # headers and body go in two writes
    server: RecordingServer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        rec = self.server.recorder
        hit = Hit(
            self.command, self.path, self.headers.get("Idempotency-Key", ""), body, time.time()
        )
        with rec.lock:
            rec.in_flight[id(hit)] = hit
            rec.peak_in_flight = max(rec.peak_in_flight, len(rec.in_flight))
        try:
            delay = rec.delay(self.path, body)
            if delay:
                time.sleep(delay)
            reply = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)
        finally:
            hit.finished = time.time()
            with rec.lock:
                del rec.in_flight[id(hit)]
                rec.hits.append(hit)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


class RecordingServer(ThreadingHTTPServer):
    """A thread per connection, a deep accept backlog; ``delay(path, body)`` seconds each.

    Holds hundreds of concurrent requests; ``recorder`` has every answered request and the
    peak number in flight. ``serve()`` starts it on a daemon thread on a free port.
    """

    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, delay: Callable[[str, bytes], float] = lambda path, body: 0.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.recorder = Recorder(delay)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client killed mid-request (chaos) breaks the pipe: expected, not news

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def serve(self) -> RecordingServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self


# -- The summary table ------------------------------------------------------------------


@dataclass
class Row:
    figure: str
    ours: str
    peer: str = ""
    ratio: str = ""
    target: str = ""


SUMMARY: list[Row] = []


def print_summary() -> None:
    """Every figure of the run, side by side: ours, peer or limit, ratio, target."""
    if not SUMMARY:
        return
    headers = Row("figure", "ours", "peer / limit", "ratio", "target")
    rows = [headers, *SUMMARY]
    widths = [max(len(getattr(r, f)) for r in rows) for f in ("figure", "ours", "peer", "ratio")]
    print("\nSummary")
    for row in rows:
        cells = (row.figure, row.ours, row.peer, row.ratio)
        line = "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
        print(f"   {line}  {row.target}")
