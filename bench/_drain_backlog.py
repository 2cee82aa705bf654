"""bench/drain.py, parts 4 and 5: fairness under a backlog, and I/O-bound steps.

4. Fairness: ``events`` events queued (their event jobs held back), released at once to
   2 worker processes. From the runs' ``finished_at`` against the database clock at the
   release: time to the first completed run, completions per 1 s bucket (the first 10 and
   min/median/max of the full buckets after the first: the steady rate), and p50/p95 of
   event released → run completed (the events are created before the clock starts, so
   "created" is their release).
5. I/O: ``runs`` one-step runs whose step is the built-in ``http`` connector calling a
   local server that answers after 100 ms (``RecordingServer``: a thread per connection,
   backlog 1024), 2 worker processes. Wall time from release to the last run succeeded,
   and the peak number of requests the server had in flight. The server's address is put
   on ``POLICY.http_allowlist`` through ``AUTOMATE_BENCH_HTTP_ALLOWLIST``
   (bench/settings_bench.py): the SSRF guard refuses 127.0.0.1 otherwise.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from typing import Any

import psycopg
from _support import (
    SUMMARY,
    RecordingServer,
    Row,
    percentiles,
    release,
    scratch_database,
    seed,
    start_workers,
    stop,
    wait_for_runs,
)

IO_DELAY_SECONDS = 0.1


def bench_fairness(events: int) -> None:
    print(f"\n4. Fairness: {events} events queued, released at once, 2 worker processes")
    with scratch_database() as (url, env):
        seed(env, events, events=True)
        procs = start_workers(env, 2, 10)
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                time.sleep(2.0)  # let the workers finish starting up
                released = release(conn)
                wait_for_runs(conn, events, procs, interval=0.2)
                rows = conn.execute(
                    "SELECT extract(epoch FROM finished_at) FROM automate_executionrun "
                    "WHERE status = 'succeeded'"
                ).fetchall()
        finally:
            stop(procs)
    offsets = sorted(float(t) - released for (t,) in rows)
    buckets = Counter(int(o) for o in offsets)
    per_second = [buckets.get(i, 0) for i in range(int(offsets[-1]) + 1)]
    steady = per_second[1:-1] or per_second  # the last bucket is partial
    p50, p95 = percentiles([o * 1000 for o in offsets])
    print(f"   time to the first completed run: {offsets[0]:.2f} s")
    print(f"   completions per second, first 10 s: {per_second[:10]}")
    print(
        f"   steady rate (1 s buckets after the first): min {min(steady)}, "
        f"median {statistics.median(steady):.0f}, max {max(steady)}; "
        f"overall {events / offsets[-1]:,.0f} runs/s over {offsets[-1]:.1f} s"
    )
    first = int(offsets[0])
    flowing = per_second[first + 1 : -1] or per_second[first:]
    print(
        f"   once runs complete (1 s buckets after the first completion's): min {min(flowing)}, "
        f"median {statistics.median(flowing):.0f}, max {max(flowing)}"
    )
    tens = [sum(per_second[i : i + 10]) for i in range(0, len(per_second), 10)]
    print(f"   completions per 10 s: {tens}")
    print(f"   event released → run completed: p50 {p50 / 1000:.2f} s   p95 {p95 / 1000:.2f} s")
    SUMMARY.append(
        Row(f"backlog {events}: first run done (s)", f"{offsets[0]:.2f}", target="<= 1 s")
    )
    SUMMARY.append(
        Row(
            f"backlog {events}: runs/s per 1 s (min/med/max)",
            f"{min(steady)}/{statistics.median(steady):.0f}/{max(steady)}",
            target="steady",
        )
    )
    SUMMARY.append(
        Row(
            f"backlog {events}: released → done p50/p95 (s)", f"{p50 / 1000:.1f} / {p95 / 1000:.1f}"
        )
    )


def http_graph(url: str) -> dict[str, Any]:
    return {
        "nodes": [
            {"id": "trigger", "type": "trigger"},
            {
                "id": "call",
                "type": "action",
                "connector": "http",
                "action": "request",
                "inputs": {"url": url, "method": "GET", "timeout_seconds": 30},
            },
        ],
        "edges": [{"source": "trigger", "target": "call"}],
    }


def bench_io(runs: int, concurrency: int | None) -> None:
    threads = (
        "the settings' thread count" if concurrency is None else f"--concurrency {concurrency}"
    )
    print(
        f"\n5. I/O-bound: {runs} one-step runs calling a local server that answers after "
        f"{IO_DELAY_SECONDS * 1000:.0f} ms, 2 worker processes ({threads})"
    )
    server = RecordingServer(lambda path, body: IO_DELAY_SECONDS).serve()
    extra = {"AUTOMATE_BENCH_HTTP_ALLOWLIST": f"127.0.0.1:{server.port}"}
    try:
        with scratch_database(extra_env=extra) as (url, env):
            seed(env, runs, events=False, graph=http_graph(f"http://127.0.0.1:{server.port}/io"))
            procs = start_workers(env, 2, 10, concurrency=concurrency)
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    time.sleep(2.0)  # let the workers finish starting up
                    started = time.perf_counter()
                    release(conn)
                    wait_for_runs(conn, runs, procs)
                    elapsed = time.perf_counter() - started
            finally:
                stop(procs)
    finally:
        server.shutdown()
    peak = server.recorder.peak_in_flight
    serial = runs * IO_DELAY_SECONDS
    print(f"   wall time {elapsed:.1f} s (one call at a time: {serial:.0f} s; target < 10 s)")
    print(f"   peak requests in flight at the server: {peak}")
    SUMMARY.append(
        Row(
            f"I/O: {runs} runs x 100 ms call (s)",
            f"{elapsed:.1f}",
            f"serial {serial:.0f}",
            f"{serial / elapsed:.1f}x",
            "< 10 s",
        )
    )
    SUMMARY.append(Row("I/O: peak calls in flight", str(peak), target=">= ~100"))
