"""The execution plane's figures on PostgreSQL, side by side with a peer or a raw limit.

Prints figures and one summary table at the end (ours, peer or limit, ratio, target);
asserts nothing, never runs in CI.

    make install-bench        # once: the project with its `bench` extra (procrastinate)
    .venv/bin/python bench/drain.py [--runs 3000] [--events 2000] [--samples 100]
        [--peer-concurrency 8] [--webhooks 2000] [--connections 16]
        [--fairness-events 10000] [--io-runs 1000] [--io-concurrency N]
        [--recovery-timeout 400]
        [--only batches|e2e|webhooks|latency|fairness|io|recovery|startup]

1. Worker jobs/s at batch sizes 1, 10 and 50 (2 worker processes; each job a no-op
   one-step run that writes its StepRun and finishes its ExecutionRun), next to a raw
   psycopg ``FOR UPDATE SKIP LOCKED`` loop doing the worker's writes the worker's way
   (2 processes; the claim, the RUNNING StepRuns under the fence, the outcomes: three
   commits per batch, no reads), next to the floor (the same loop writing each step once,
   finished, in one commit per batch: what a queue without a visible "running" state
   costs), and to the peer: procrastinate draining as many no-op jobs with 2 worker
   processes x ``--peer-concurrency`` async jobs each. The ratios ours/raw loop and
   ours/procrastinate (at batch 10) are the figures to watch.
2. End to end: events → completed one-step runs per second with 1 and 2 worker processes
   (``emit_event`` in bulk), then (2b, also ``--only webhooks``) signed webhooks sent over
   HTTP to daphne by a load generator → completed runs/s and request → run completed
   p50/p95 (bench/_drain_front.py).
3. Pickup latency: p50/p95 from ``emit_event`` commit to the step's start, idle system,
   next to procrastinate's from ``defer`` to the task's start (1 worker process each).
4. Fairness under a backlog of ``--fairness-events`` queued events: time to the first
   completed run, completions per second, event released → run completed p50/p95.
5. I/O-bound steps: ``--io-runs`` http steps against a local server answering after
   100 ms: wall time and peak calls in flight (4 and 5: bench/_drain_backlog.py).
6. Recovery: a worker SIGKILLed in its step's HTTP call → the step running again on
   another worker. 7. Start-up: spawning a worker → its first claim, median of 5 (6 and 7:
   bench/_drain_recovery.py).

procrastinate is a bench-only extra (``pip install -e ".[bench]"`` with the constraints,
which ``make install-bench`` does); without it the peer's figures are skipped with a note.
Each part runs in a fresh scratch database that is dropped afterwards; children use
bench/settings_bench.py (the test settings plus the bench's allowlist, webhook rate and
connection name knobs). ``AUTOMATE_TEST_LEASE_SECONDS`` in the environment shortens the
job lease (part 6 on an engine without worker liveness waits out the lease otherwise).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from _drain_backlog import bench_fairness, bench_io
from _drain_front import bench_webhooks
from _drain_recovery import bench_recovery, bench_startup
from _support import (
    ADMIN_URL,
    ONE_STEP,
    SUMMARY,
    Row,
    django_call,
    percentiles,
    print_summary,
    release,
    release_and_time,
    scratch_database,
    seed,
    start_workers,
    stop,
)

GRAPH = ONE_STEP

# What both raw loops share: their arguments (database URL, batch size) and the claim.
RAW_PRELUDE = r"""
import sys, json, uuid, psycopg
url, batch = sys.argv[1], int(sys.argv[2])
CLAIM = (
    "UPDATE automate_outboxjob SET status='CLAIMED', locked_by='raw', attempts=attempts+1, "
    "lease_expires_at=now()+interval '5 minutes', updated_at=now() "
    "WHERE id IN (SELECT id FROM automate_outboxjob WHERE status='PENDING' "
    "AND (next_attempt_at IS NULL OR next_attempt_at <= now()) ORDER BY id LIMIT %s "
    "FOR UPDATE SKIP LOCKED) RETURNING id, run_id, node_id")
"""

RAW_LOOP = (
    RAW_PRELUDE
    + r"""
with psycopg.connect(url) as conn:
    while True:
        with conn.transaction():
            rows = conn.execute(CLAIM, [batch]).fetchall()
            if not rows:
                break
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO automate_steprun (id, run_id, node_id, attempt, status, inputs, "
                    "outputs, error, error_type, traceback, is_current, created_at, started_at, "
                    "finished_at, duration_ms) VALUES (%s, %s, %s, 1, 'succeeded', '{}', %s, '', '', "
                    "'', true, now(), now(), now(), 0)",
                    [(uuid.uuid4(), r[1], r[2], json.dumps({"echo": {}})) for r in rows])
            conn.execute("UPDATE automate_executionrun SET status='succeeded', finished_at=now() "
                         "WHERE id = ANY(%s)", [[r[1] for r in rows]])
            conn.execute("UPDATE automate_outboxjob SET status='COMPLETED', updated_at=now() "
                         "WHERE id = ANY(%s)", [[r[0] for r in rows]])
"""
)


# The same loop doing the worker's writes the worker's way (bench/drain.py part 1's limit):
# the claim commits on its own; the RUNNING StepRuns are inserted under the fence (the jobs'
# rows locked) and committed before the steps run; the outcomes are written in a second
# transaction (runs locked, jobs completed, steps and runs updated). RAW_LOOP above skips
# the RUNNING commit and writes each step once: the floor of one commit per batch.
RAW_SAME_WRITES = (
    RAW_PRELUDE
    + r"""
with psycopg.connect(url, autocommit=True) as conn:
    while True:
        rows = conn.execute(CLAIM, [batch]).fetchall()
        if not rows:
            break
        jobs, steps = [r[0] for r in rows], [uuid.uuid4() for _ in rows]
        with conn.transaction():
            conn.execute("SELECT id FROM automate_outboxjob WHERE id = ANY(%s) AND "
                         "status = 'CLAIMED' AND locked_by = 'raw' AND lease_expires_at > now() "
                         "ORDER BY id FOR UPDATE", [jobs]).fetchall()
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO automate_steprun (id, run_id, node_id, attempt, status, inputs, "
                    "outputs, error, error_type, traceback, is_current, created_at, started_at, "
                    "finished_at, duration_ms) VALUES (%s, %s, %s, 1, 'running', '{}', '{}', '', "
                    "'', '', true, now(), now(), NULL, NULL)",
                    [(step, r[1], r[2]) for step, r in zip(steps, rows)])
        with conn.transaction():
            conn.execute("SELECT id FROM automate_executionrun WHERE id = ANY(%s) ORDER BY id "
                         "FOR UPDATE", [[r[1] for r in rows]]).fetchall()
            conn.execute("UPDATE automate_outboxjob SET status='COMPLETED', lease_expires_at=NULL, "
                         "updated_at=now() WHERE id = ANY(%s) AND status = 'CLAIMED' AND "
                         "locked_by = 'raw' RETURNING id", [jobs]).fetchall()
            conn.execute("UPDATE automate_steprun SET status='succeeded', outputs=%s, "
                         "finished_at=now(), duration_ms=0 WHERE id = ANY(%s) AND "
                         "status = 'running'", [json.dumps({"echo": {}}), steps])
            conn.execute("UPDATE automate_executionrun SET status='succeeded', finished_at=now() "
                         "WHERE id = ANY(%s)", [[r[1] for r in rows]])
"""
)

# The peer: procrastinate, each job an async no-op (its cheapest task: no thread hop), the
# connection pool sized so that every job in flight has a connection besides LISTEN.
# PEER_APP is the prelude of each of the child scripts below.
PEER_APP = r"""
import asyncio, logging, sys, time
from procrastinate import App, PsycopgConnector
# The app lives in __main__ on purpose (each child defines the same tasks); no warning.
logging.getLogger("procrastinate.blueprints").setLevel(logging.ERROR)
url, concurrency = sys.argv[1], int(sys.argv[2])
size = concurrency + 2
app = App(connector=PsycopgConnector(conninfo=url, min_size=size, max_size=size))

@app.task(name="noop")
async def noop():
    pass

@app.task(name="stamp")
async def stamp(i, path):
    with open(path, "a") as out:
        out.write(f"{i} {time.time()}\n")
"""

PEER_WORKER = r"""
app.run_worker(concurrency=concurrency, fetch_job_polling_interval=0.05)
"""

# Every job deferred for an hour ahead, so the clock starts when they are made due.
PEER_SEED = r"""
from datetime import datetime, timedelta, timezone
n = int(sys.argv[3])

async def seed():
    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        later = datetime.now(timezone.utc) + timedelta(hours=1)
        deferrer = app.configure_task("noop", schedule_at=later)
        for start in range(0, n, 500):
            await deferrer.batch_defer_async(*[{} for _ in range(start, min(n, start + 500))])

asyncio.run(seed())
"""

PEER_LATENCY = r"""
import json
n, path = int(sys.argv[3]), sys.argv[4]

async def measure():
    samples = []
    async with app.open_async():
        deferrer = app.configure_task("stamp")
        await asyncio.sleep(2.0)
        with open(path) as stamps:
            for i in range(n):
                await deferrer.defer_async(i=i, path=path)
                committed = time.time()
                line = ""
                while not line.endswith("\n"):
                    line += stamps.readline()
                    if not line.endswith("\n"):
                        await asyncio.sleep(0.0005)
                samples.append((float(line.split()[1]) - committed) * 1000)
                await asyncio.sleep(0.02)
    print(json.dumps(samples))

asyncio.run(measure())
"""


def peer_version() -> str | None:
    """procrastinate's version, or None (with a note) when the bench extra is missing."""
    if importlib.util.find_spec("procrastinate") is None:
        print(
            "   procrastinate is not installed: the peer's figures are skipped "
            '(pip install -c requirements/constraints.txt -e ".[bench]", or make install-bench)'
        )
        return None
    from importlib.metadata import version

    return version("procrastinate")


def start_peer_workers(url: str, count: int, concurrency: int) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [sys.executable, "-c", PEER_APP + PEER_WORKER, url, str(concurrency)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def peer_jobs_per_second(jobs: int, concurrency: int) -> float | None:
    """procrastinate draining ``jobs`` no-op jobs with 2 processes; None if it failed."""
    try:
        with scratch_database(migrate=False) as (url, _env):
            subprocess.run(
                [sys.executable, "-c", PEER_APP + PEER_SEED, url, str(concurrency), str(jobs)],
                check=True,
            )
            procs = start_peer_workers(url, 2, concurrency)
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    time.sleep(2.0)  # let the workers finish starting up
                    started = time.perf_counter()
                    conn.execute("UPDATE procrastinate_jobs SET scheduled_at = NULL")
                    while True:
                        done = conn.execute(
                            "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'"
                        ).fetchone()[0]
                        if done >= jobs:
                            return jobs / (time.perf_counter() - started)
                        if any(p.poll() is not None for p in procs):
                            raise RuntimeError("a procrastinate worker died")
                        if time.perf_counter() - started > 600:
                            raise RuntimeError(f"only {done} of {jobs} jobs done in 10 minutes")
                        time.sleep(0.01)
            finally:
                stop(procs)  # SIGTERM: procrastinate's graceful stop too
    except (subprocess.SubprocessError, RuntimeError, psycopg.Error) as error:
        print(f"   procrastinate failed, its figures are skipped: {error}")
        return None


def peer_pickup(samples: int, concurrency: int) -> list[float] | None:
    """procrastinate's defer → task start, in ms, with 1 worker process; None if it failed."""
    try:
        with scratch_database(migrate=False) as (url, _env), tempfile.TemporaryDirectory() as tmp:
            path = str(Path(tmp) / "stamps")
            Path(path).touch()
            subprocess.run(
                [sys.executable, "-c", PEER_APP + PEER_SEED, url, str(concurrency), "0"], check=True
            )
            procs = start_peer_workers(url, 1, concurrency)
            try:
                done = subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        PEER_APP + PEER_LATENCY,
                        url,
                        str(concurrency),
                        str(samples),
                        path,
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=300,
                )
            finally:
                stop(procs)  # SIGTERM: procrastinate's graceful stop too
        return json.loads(done.stdout)
    except (subprocess.SubprocessError, psycopg.Error) as error:
        print(f"   procrastinate failed, its figures are skipped: {error}")
        return None


#: procrastinate's no-op jobs/s measured in this run (part 1), the peer of part 2 too.
PEER_JOBS_PER_SECOND: dict[str, float] = {}


def raw_loop_rate(script: str, runs: int, batch: int) -> float:
    """Jobs/s of 2 processes running ``script`` (a raw loop) over ``runs`` seeded runs."""
    with scratch_database() as (url, env):
        seed(env, runs, events=False)
        with psycopg.connect(url, autocommit=True) as conn:
            release(conn)
        started = time.perf_counter()
        procs = [
            subprocess.Popen([sys.executable, "-c", script, url, str(batch)]) for _ in range(2)
        ]
        for proc in procs:
            proc.wait()
        return runs / (time.perf_counter() - started)


def bench_batches(runs: int, batches: list[int], peer_concurrency: int) -> None:
    print(f"\n1. Step jobs/s, 2 processes, {runs} no-op one-step runs (higher is better)")
    print("   raw loop: the worker's writes (claim; RUNNING rows; outcomes: 3 commits a batch)")
    print("   floor: the one-commit loop (claim and finished rows together, no RUNNING rows)")
    print(
        f"   {'batch':>5}  {'worker':>8}  {'raw loop':>8}  {'ratio':>5}  {'floor':>7}  {'ratio':>5}"
    )
    measured: dict[int, tuple[float, float, float]] = {}
    for batch in batches:
        with scratch_database() as (url, env):
            seed(env, runs, events=False)
            procs = start_workers(env, 2, batch)
            try:
                ours = runs / release_and_time(url, runs, procs)
            finally:
                stop(procs)
        raw = raw_loop_rate(RAW_SAME_WRITES, runs, batch)
        floor = raw_loop_rate(RAW_LOOP, runs, batch)
        measured[batch] = ours, raw, floor
        print(
            f"   {batch:>5}  {ours:>8.0f}  {raw:>8.0f}  {ours / raw:>5.2f}  {floor:>7.0f}"
            f"  {ours / floor:>5.2f}"
        )

    batch = 10 if 10 in measured else batches[0]
    ours, raw, floor = measured[batch]
    print(f"   peer, {runs} no-op jobs, 2 processes x {peer_concurrency} async jobs:")
    version = peer_version()
    peer = peer_jobs_per_second(runs, peer_concurrency) if version else None
    if peer is not None:
        print(f"   procrastinate {version}: {peer:,.0f} jobs/s")
    print(
        f"   ours at batch {batch}: {ours:,.0f} jobs/s = {ours / raw:.2f}x the raw loop "
        f"({ours / floor:.2f}x the floor)",
        end="",
    )
    print(f", {ours / peer:.2f}x procrastinate" if peer else " (no procrastinate figure)")
    figure = f"step jobs/s, batch {batch}, 2 procs"
    SUMMARY.append(
        Row(figure, f"{ours:,.0f}", f"raw loop {raw:,.0f}", f"{ours / raw:.2f}", ">= 0.5")
    )
    SUMMARY.append(Row(figure, f"{ours:,.0f}", f"floor {floor:,.0f}", f"{ours / floor:.2f}"))
    if peer is not None:
        PEER_JOBS_PER_SECOND[f"procrastinate {version}"] = peer
        SUMMARY.append(
            Row(figure, f"{ours:,.0f}", f"procrastinate {peer:,.0f}", f"{ours / peer:.2f}", ">= 2")
        )


def bench_end_to_end(events: int) -> None:
    print(f"\n2. End to end, {events} events → one-step runs completed per second")
    for count in (1, 2):
        with scratch_database() as (url, env):
            seed(env, events, events=True)
            procs = start_workers(env, count, 10)
            try:
                elapsed = release_and_time(url, events, procs)
            finally:
                stop(procs)
        print(
            f"   {count} worker process{'es' if count > 1 else ''}: {events / elapsed:,.0f} runs/s"
        )
    ours = events / elapsed
    peer, ratio = "", ""
    for name, rate in PEER_JOBS_PER_SECOND.items():
        peer, ratio = f"{name} no-op {rate:,.0f}/s", f"{ours / rate:.2f}"
    SUMMARY.append(
        Row("emit_event → runs done/s, 2 procs", f"{ours:,.0f}", peer, ratio, ">= 500/s")
    )


LATENCY = """
import time, json
from datetime import datetime, timezone as tz
from automate.runtime import emit_event
from automate.execution.models import StepRun
from automate.workflows.services import create_workflow, publish_version
wf = create_workflow(name="Lat", slug="lat", trigger_spec={{"event_type": "lat.tick"}}, graph={graph})
publish_version(workflow=wf)
time.sleep(2.0)
samples = []
for i in range({n}):
    event_id = emit_event("lat.tick", {{"i": i}})
    committed = datetime.now(tz.utc)
    while True:
        step = StepRun.objects.filter(run__event_id=event_id, node_id="noop").first()
        if step is not None:
            samples.append((step.started_at - committed).total_seconds() * 1000)
            break
        time.sleep(0.0005)
    time.sleep(0.02)
print(json.dumps(samples))
"""


def bench_latency(samples: int, peer_concurrency: int) -> None:
    with scratch_database() as (_url, env):
        procs = start_workers(env, 1, 10)
        try:
            measured = json.loads(django_call(env, LATENCY.format(graph=repr(GRAPH), n=samples)))
        finally:
            stop(procs)
    p50, p95 = percentiles(measured)
    print(f"\n3. Pickup latency, {samples} samples, 1 worker process, idle system")
    print(f"   ours, emit_event commit → step start:     p50 {p50:5.1f} ms   p95 {p95:5.1f} ms")
    ours = p95
    version = peer_version()
    peer = peer_pickup(samples, peer_concurrency) if version else None
    row = Row("pickup p95, idle (ms)", f"{ours:.1f}", target="<= 10 ms")
    if peer:
        p50, p95 = percentiles(peer)
        print(
            f"   procrastinate {version}, defer → task start: p50 {p50:5.1f} ms   p95 {p95:5.1f} ms"
        )
        row.peer, row.ratio = f"procrastinate {p95:.1f}", f"{ours / p95:.2f}"
    SUMMARY.append(row)


PARTS = ["batches", "e2e", "webhooks", "latency", "fairness", "io", "recovery", "startup"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3000)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--batches", default="1,10,50", help="worker batch sizes to time")
    parser.add_argument(
        "--peer-concurrency", type=int, default=8, help="async jobs per procrastinate process"
    )
    parser.add_argument("--webhooks", type=int, default=2000, help="signed webhooks to send")
    parser.add_argument("--connections", type=int, default=16, help="load generator's")
    parser.add_argument("--fairness-events", type=int, default=10_000)
    parser.add_argument("--io-runs", type=int, default=1000)
    parser.add_argument(
        "--io-concurrency", type=int, help="worker --concurrency for part 5 (default: settings)"
    )
    parser.add_argument(
        "--recovery-timeout", type=float, default=400, help="seconds to wait in part 6"
    )
    parser.add_argument("--only", choices=PARTS)
    args = parser.parse_args()
    print(f"bench/drain.py on {os.cpu_count()} cores, PostgreSQL at {ADMIN_URL.rsplit('/', 1)[0]}")
    if args.only in (None, "batches"):
        batches = [int(b) for b in args.batches.split(",")]
        bench_batches(args.runs, batches, args.peer_concurrency)
    if args.only in (None, "e2e"):
        bench_end_to_end(args.events)
    if args.only in (None, "e2e", "webhooks"):
        bench_webhooks(args.webhooks, args.connections)
    if args.only in (None, "latency"):
        bench_latency(args.samples, args.peer_concurrency)
    if args.only in (None, "fairness"):
        bench_fairness(args.fairness_events)
    if args.only in (None, "io"):
        bench_io(args.io_runs, args.io_concurrency)
    if args.only in (None, "recovery"):
        bench_recovery(args.recovery_timeout)
    if args.only in (None, "startup"):
        bench_startup()
    print_summary()


if __name__ == "__main__":
    main()
