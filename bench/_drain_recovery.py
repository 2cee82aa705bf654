"""bench/drain.py, parts 6 and 7: recovery after a SIGKILL, and worker start-up.

6. Recovery: one one-step run whose ``http`` step calls a local server that holds the
   first request ``SLOW_SECONDS`` (later ones answer at once). Worker A claims it; when the
   server holds the request, A gets SIGKILL and worker B is started. Printed: seconds from
   the kill until the step is running again (the newest StepRun ``started_at`` after the
   kill) and until the server sees the call again. B's own start-up counts: it is part of
   a real recovery too.
7. Start-up: seconds from spawning ``manage.py automate_worker`` (a job already due) to its
   first claim (the first job that leaves PENDING, polled every 5 ms), median of 5.
"""

from __future__ import annotations

import os
import signal
import statistics
import time

import psycopg
from _drain_backlog import http_graph
from _support import (
    ONE_STEP,
    SUMMARY,
    RecordingServer,
    Row,
    django_call,
    release,
    scratch_database,
    seed,
    start_worker,
    stop,
    wait_until,
)

SLOW_SECONDS = 20.0

EMIT = "from automate.runtime import emit_event; emit_event('bench.tick', {'i': 0})"


def bench_recovery(timeout: float) -> None:
    print(f"\n6. Recovery: a worker SIGKILLed while its step waits on a {SLOW_SECONDS:.0f} s call")
    calls: list[float] = []

    def delay(path: str, body: bytes) -> float:
        calls.append(time.time())
        return SLOW_SECONDS if len(calls) == 1 else 0.0

    server = RecordingServer(delay).serve()
    extra = {"AUTOMATE_BENCH_HTTP_ALLOWLIST": f"127.0.0.1:{server.port}"}
    try:
        with scratch_database(extra_env=extra) as (url, env):
            seed(env, 1, events=False, graph=http_graph(f"http://127.0.0.1:{server.port}/slow"))
            worker_a = start_worker(env, worker_id="bench-a")
            procs = [worker_a]
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    time.sleep(2.0)
                    release(conn)
                    wait_until(lambda: bool(calls), timeout=60, what="worker A calling")
                    time.sleep(0.5)  # well inside the call
                    worker_a.send_signal(signal.SIGKILL)
                    killed = time.time()
                    worker_a.wait()
                    procs.append(start_worker(env, worker_id="bench-b"))

                    def restarted() -> bool:
                        row = conn.execute(
                            "SELECT extract(epoch FROM max(started_at)) FROM automate_steprun "
                            "WHERE node_id = 'call'"
                        ).fetchone()
                        return bool(row and row[0] and float(row[0]) > killed)

                    step_again = wait_until(
                        restarted, timeout=timeout, what="step running again", interval=0.05
                    )
                    wait_until(lambda: len(calls) > 1, timeout=60, what="the call sent again")
            finally:
                stop(procs)
    finally:
        server.shutdown()
    call_again = calls[1] - killed
    lease = os.environ.get("AUTOMATE_TEST_LEASE_SECONDS")
    if lease:
        print(f"   (job lease shortened to {lease} s by AUTOMATE_TEST_LEASE_SECONDS)")
    print(f"   kill → step running again (new StepRun start): {step_again:.1f} s")
    print(f"   kill → the server sees the call again: {call_again:.1f} s")
    figure = "SIGKILL → step running again (s)" + (f", lease {lease} s" if lease else "")
    SUMMARY.append(Row(figure, f"{step_again:.1f}", target="<= 30 s"))


def bench_startup(samples: int = 5) -> None:
    print(f"\n7. Start-up: spawning automate_worker → its first claim, {samples} samples")
    seconds: list[float] = []
    with scratch_database() as (url, env):
        django_call(
            env,
            "from automate.workflows.services import create_workflow, publish_version\n"
            "wf = create_workflow(name='Up', slug='up', trigger_spec={'event_type': "
            f"'bench.tick'}}, graph={ONE_STEP!r})\npublish_version(workflow=wf)\n",
        )
        with psycopg.connect(url, autocommit=True) as conn:

            def claimed() -> int:
                row = conn.execute(
                    "SELECT count(*) FROM automate_outboxjob WHERE status <> 'PENDING'"
                ).fetchone()
                return int(row[0]) if row else 0

            for _ in range(samples):
                django_call(env, EMIT)  # a job due before the worker exists
                before = claimed()
                started = time.perf_counter()
                worker = start_worker(env)
                try:
                    wait_until(
                        lambda before=before: claimed() > before,  # type: ignore[misc]
                        timeout=60,
                        what="first claim",
                        interval=0.005,
                    )
                    seconds.append(time.perf_counter() - started)
                finally:
                    stop([worker])
    median = statistics.median(seconds)
    print(f"   {', '.join(f'{s:.2f}' for s in seconds)} s; median {median:.2f} s (target ≤ 1.5 s)")
    SUMMARY.append(
        Row("worker spawn → first claim (s, median)", f"{median:.2f}", target="<= 1.5 s")
    )
