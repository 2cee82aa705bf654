"""Chaos drain: SIGKILLed workers and terminated connections must lose and double nothing.

Not a test and not in CI: it takes minutes and prints a report. On a machine with the
PostgreSQL service (127.0.0.1:5432, user postgres, trust), from the repository root:

    .venv/bin/python bench/chaos.py [--events 10000] [--workers 3] [--kills 100]
                                    [--terminations 10] [--seed 1] [--timeout 1800]
                                    [--lease-seconds S]

In a scratch database (``automate_bench_<random>``, dropped at the end) it publishes a
3-step workflow: ``a`` (http POST to a local sink) → ``mid`` (transform) → ``c`` (http POST
to the sink). Each POST carries the step's ``Idempotency-Key`` (the http connector adds
it to unsafe methods) and a body naming the event and the step, ``{"i": …, "step": …}``.
The sink runs in this process and records every request; 5% of them are held 300 ms.

``--events`` events are queued, then ``--workers`` worker processes drain them while this
process, as the drain progresses (kill k at (k + ½)/kills of the runs finished):

- sends ``--kills`` SIGKILLs, one worker each, and starts a replacement at once. Every
  other kill targets the worker that is in an HTTP call the sink is holding (the sink
  knows the call's idempotency key, hence its run; the run's CLAIMED job names the
  worker, started with ``--worker-id chaos-<n>``); the report counts the kills that
  landed while that call was still in flight;
- runs ``--terminations`` rounds of ``pg_terminate_backend`` on the workers' connections
  only: workers connect with ``application_name`` ``automate-chaos-worker`` (through
  ``AUTOMATE_BENCH_DB_APP_NAME``, bench/settings_bench.py), this process's own
  connection has another name.

Then it waits for the drain (no PENDING or CLAIMED job, no run pending or running) and
prints: runs per event (exactly 1 expected: events with 0 and with more than 1 runs),
lost side effects (a succeeded run without its sink requests: 0 expected), duplicated
side effects (the same event and step received more than once) and whether every
duplicate carried the same idempotency key, runs and jobs stuck, dead letters, the total
drain time and the time from the last kill or termination to drained. ``--lease-seconds``
shortens the job lease (``AUTOMATE_TEST_LEASE_SECONDS``) for an engine without worker
liveness; by default the engine's settings apply. Worker logs stay in the folder printed.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import psycopg
from _support import (
    RecordingServer,
    django_call,
    scratch_database,
    start_worker,
    stop,
)

WORKER_APP_NAME = "automate-chaos-worker"
SLOW_SHARE, SLOW_SECONDS = 0.05, 0.3

SEED = """
from django.db import transaction
from automate.runtime import emit_event
from automate.workflows.services import create_workflow, publish_version
wf = create_workflow(name="Chaos", slug="chaos", trigger_spec={{"event_type": "chaos.tick"}}, graph={graph})
publish_version(workflow=wf)
for start in range(0, {n}, 500):
    with transaction.atomic():
        for i in range(start, min({n}, start + 500)):
            emit_event("chaos.tick", {{"i": i}})
"""


def workflow(sink: str) -> dict[str, Any]:
    def post(node: str, i: str) -> dict[str, Any]:
        return {
            "id": node,
            "type": "action",
            "connector": "http",
            "action": "request",
            "inputs": {"url": f"{sink}/{node}", "method": "POST", "json": {"i": i, "step": node}},
        }

    return {
        "nodes": [
            {"id": "trigger", "type": "trigger"},
            post("a", "{{ event.payload.i }}"),
            {"id": "mid", "type": "transform", "inputs": {"i": "{{ event.payload.i }}"}},
            post("c", "{{ steps.mid.output.i }}"),
        ],
        "edges": [
            {"source": "trigger", "target": "a"},
            {"source": "a", "target": "mid"},
            {"source": "mid", "target": "c"},
        ],
    }


class Workers:
    """The worker processes, named ``chaos-<n>``; ``kill`` replaces a worker at once."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.alive: dict[str, subprocess.Popen[bytes]] = {}
        self.dead: list[subprocess.Popen[bytes]] = []
        self.spawned = 0

    def spawn(self) -> None:
        self.spawned += 1
        name = f"chaos-{self.spawned}"
        with open(self.logs / f"{name}.log", "wb") as log:
            self.alive[name] = start_worker(self.env, concurrency=None, worker_id=name, log=log)

    def kill(self, name: str) -> None:
        proc = self.alive.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.dead.append(proc)
        self.spawn()

    def exited(self) -> list[str]:
        return [name for name, proc in self.alive.items() if proc.poll() is not None]


class Chaos:
    """Drives the kills and terminations from a monitoring connection."""

    def __init__(self, conn: psycopg.Connection[Any], sink: RecordingServer, workers: Workers):
        self.conn, self.sink, self.workers = conn, sink, workers
        self.kills_done = self.kills_in_call = 0
        self.rounds_done = self.connections_terminated = 0
        self.last_blow = 0.0

    def finished_runs(self) -> int:
        row = self.conn.execute(
            "SELECT count(*) FROM automate_executionrun "
            "WHERE status IN ('succeeded', 'failed', 'cancelled')"
        ).fetchone()
        return int(row[0]) if row else 0

    def drained(self) -> bool:
        row = self.conn.execute(
            "SELECT (SELECT count(*) FROM automate_outboxjob WHERE status IN ('PENDING', 'CLAIMED'))"
            " + (SELECT count(*) FROM automate_executionrun WHERE status IN ('pending', 'running'))"
        ).fetchone()
        return bool(row and row[0] == 0)

    def holder_of(self, key: str) -> str | None:
        """The worker holding the CLAIMED job of the run an idempotency key names."""
        run_id = key.split(":", 1)[0]
        try:
            row = self.conn.execute(
                "SELECT locked_by FROM automate_outboxjob WHERE run_id = %s AND status = 'CLAIMED'",
                [run_id],
            ).fetchone()
        except psycopg.errors.DataError:
            return None  # not a run id: the key format changed
        owner = str(row[0]) if row else ""
        # The worker id as given, or with a suffix the engine might add ("chaos-3:…").
        return next((n for n in self.workers.alive if owner.split(":")[0] == n), None)

    def kill_in_call(self, rng: random.Random) -> None:
        """SIGKILL the worker whose HTTP call the sink holds (waits up to 2 s for one)."""
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            with self.sink.recorder.lock:
                held = [
                    h
                    for h in self.sink.recorder.in_flight.values()
                    if time.time() - h.started > 0.02
                ]
            for hit in held:
                name = self.holder_of(hit.idempotency_key)
                if name is None:
                    continue
                self.workers.kill(name)
                with self.sink.recorder.lock:
                    self.kills_in_call += id(hit) in self.sink.recorder.in_flight
                return
            time.sleep(0.005)
        self.workers.kill(rng.choice(sorted(self.workers.alive)))

    def terminate(self) -> int:
        row = self.conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s "
            "AND pid <> pg_backend_pid()",
            [WORKER_APP_NAME],
        ).fetchone()
        return int(row[0]) if row else 0

    def drive(self, events: int, kills: int, rounds: int, timeout: float, seed: int) -> float:
        """Blow things up as the drain progresses; seconds until drained (raises on timeout)."""
        rng = random.Random(seed)
        started = time.monotonic()
        calm_since: float | None = None
        while True:
            progress = self.finished_runs() / events
            if self.kills_done < kills and progress >= (self.kills_done + 0.5) / kills:
                if self.kills_done % 2 == 0:
                    self.kill_in_call(rng)
                else:
                    self.workers.kill(rng.choice(sorted(self.workers.alive)))
                self.kills_done += 1
                self.last_blow = time.monotonic()
            if self.rounds_done < rounds and progress >= (self.rounds_done + 0.25) / rounds:
                self.connections_terminated += self.terminate()
                self.rounds_done += 1
                self.last_blow = time.monotonic()
            for name in self.workers.exited():
                print(f"   worker {name} exited by itself (code {self.workers.alive[name].poll()})")
                self.workers.dead.append(self.workers.alive.pop(name))
                self.workers.spawn()
            if self.drained():
                calm_since = calm_since or time.monotonic()
                if time.monotonic() - calm_since >= 1.0:  # stays drained: nothing in flight
                    return calm_since - started
            else:
                calm_since = None
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"not drained within {timeout:.0f} s")
            time.sleep(0.05)


def side_effects(conn: psycopg.Connection[Any], sink: RecordingServer) -> tuple[int, int, int, int]:
    """``(lost, duplicated, duplicates with one key, requests)`` at the sink."""
    keys: dict[tuple[str, str], list[str]] = defaultdict(list)
    for hit in list(sink.recorder.hits):
        try:
            body = json.loads(hit.body)
            keys[(str(body["i"]), str(body["step"]))].append(hit.idempotency_key)
        except (ValueError, KeyError, TypeError):
            keys[("?", hit.path)].append(hit.idempotency_key)  # not ours: counted, not matched
    succeeded = conn.execute(
        "SELECT e.payload->>'i' FROM automate_executionrun r "
        "JOIN automate_event e ON e.id = r.event_id WHERE r.status = 'succeeded'"
    ).fetchall()
    lost = sum((i, step) not in keys for (i,) in succeeded for step in ("a", "c"))
    # Requests that are not ours (or were cut off mid-body by a kill) share one bucket per
    # path: they are counted as requests, never as duplicates of each other.
    doubled = [sent for key, sent in keys.items() if len(sent) > 1 and key[0] != "?"]
    same_key = sum(len(set(sent)) == 1 for sent in doubled)
    return lost, len(doubled), same_key, sum(len(sent) for sent in keys.values())


def report(conn: psycopg.Connection[Any], sink: RecordingServer) -> None:
    def one(sql: str) -> Any:
        row = conn.execute(sql).fetchone()
        return row[0] if row else None

    per_event = conn.execute(
        "SELECT count(*) FILTER (WHERE n = 0), count(*) FILTER (WHERE n > 1), count(*) FROM "
        "(SELECT e.id, count(r.id) AS n FROM automate_event e "
        "LEFT JOIN automate_executionrun r ON r.event_id = e.id GROUP BY e.id) per"
    ).fetchone()
    assert per_event is not None
    runs = dict(conn.execute("SELECT status, count(*) FROM automate_executionrun GROUP BY 1"))
    jobs = dict(conn.execute("SELECT status, count(*) FROM automate_outboxjob GROUP BY 1"))
    lost, doubled, same_key, requests = side_effects(conn, sink)
    print(f"   events: {per_event[2]}; with 0 runs: {per_event[0]}; with >1 runs: {per_event[1]}")
    print(f"   runs by status: {runs}")
    print(f"   jobs by status: {jobs}")
    print(f"   sink requests: {requests}; lost side effects: {lost}")
    print(
        f"   duplicated side effects: {doubled}; with one idempotency key each: {same_key}"
        f"{'' if same_key == doubled else '  <-- DIFFERENT KEYS'}"
    )
    stuck_runs = one(
        "SELECT count(*) FROM automate_executionrun WHERE status IN ('pending', 'running')"
    )
    stuck_jobs = jobs.get("PENDING", 0) + jobs.get("CLAIMED", 0)
    dead = jobs.get("FAILED", 0) + jobs.get("DEAD", 0)
    print(f"   stuck: runs {stuck_runs}, jobs {stuck_jobs}; dead letters: {dead}")
    # Enough to trace each dead letter after the scratch database is dropped.
    for row in conn.execute(
        "SELECT id, kind, node_id, status, attempts, max_attempts, lost_claims, last_error "
        "FROM automate_outboxjob WHERE status IN ('FAILED', 'DEAD') ORDER BY id LIMIT 20"
    ):
        pk, kind, node, status, attempts, most, lost, error = row
        print(
            f"     #{pk} {kind} {node or '-'} {status}: attempts {attempts}/{most}, "
            f"lost claims {lost}: {error[:200]!r}"
        )
    broken = [
        f"{per_event[0]} events without a run" if per_event[0] else "",
        f"{per_event[1]} events with several runs" if per_event[1] else "",
        f"{lost} side effects lost" if lost else "",
        f"{doubled - same_key} duplicates with different keys" if doubled - same_key else "",
        f"{stuck_runs} runs and {stuck_jobs} jobs stuck" if stuck_runs or stuck_jobs else "",
        f"{dead} dead letters" if dead else "",
    ]
    problems = "; ".join(b for b in broken if b)
    print(f"   verdict: {'BROKEN: ' + problems if problems else 'every promise kept'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--terminations", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds for the drain")
    parser.add_argument("--lease-seconds", type=float, help="job lease (default: settings)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    sink = RecordingServer(lambda path, body: SLOW_SECONDS if rng.random() < SLOW_SHARE else 0)
    sink.serve()
    extra = {
        "AUTOMATE_BENCH_HTTP_ALLOWLIST": f"127.0.0.1:{sink.port}",
        "AUTOMATE_BENCH_DB_APP_NAME": WORKER_APP_NAME,
    }
    if args.lease_seconds:
        extra["AUTOMATE_TEST_LEASE_SECONDS"] = str(args.lease_seconds)
    logs = Path(tempfile.mkdtemp(prefix="automate-chaos-"))
    print(
        f"bench/chaos.py: {args.events} events, {args.workers} workers, {args.kills} kills, "
        f"{args.terminations} connection terminations, seed {args.seed}; worker logs in {logs}"
    )
    with scratch_database(extra_env=extra) as (url, env):
        seeding = {k: v for k, v in env.items() if k != "AUTOMATE_BENCH_DB_APP_NAME"}
        django_call(
            seeding,
            SEED.format(graph=repr(workflow(f"http://127.0.0.1:{sink.port}")), n=args.events),
        )
        workers = Workers(env, logs)
        with psycopg.connect(
            url, autocommit=True, application_name="automate-chaos-monitor"
        ) as conn:
            chaos = Chaos(conn, sink, workers)
            started = time.monotonic()
            for _ in range(args.workers):
                workers.spawn()
            try:
                drain = chaos.drive(
                    args.events, args.kills, args.terminations, args.timeout, args.seed
                )
                after = started + drain - chaos.last_blow if chaos.last_blow else drain
                print(f"   drained in {drain:.1f} s; {after:.1f} s after the last kill/termination")
            except TimeoutError as error:
                print(f"   {error}")
            finally:
                stop(list(workers.alive.values()))
            print(
                f"   kills: {chaos.kills_done} ({chaos.kills_in_call} during an HTTP call the "
                f"sink was holding); termination rounds: {chaos.rounds_done} "
                f"({chaos.connections_terminated} connections)"
            )
            report(conn, sink)
    sink.shutdown()


if __name__ == "__main__":
    main()
