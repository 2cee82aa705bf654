"""bench/drain.py, part 2b: signed webhooks through the front door (daphne) → completed runs.

daphne serves the standalone site (``config.asgi:application``, as ``make run`` does)
on the scratch database with ``WORKER_MODE`` ``process`` (no worker threads in the server),
2 ``automate_worker`` processes drain, and a load generator (a child process: threads with
keep-alive connections) sends ``n`` deliveries signed with the generic scheme
(``X-Signature: t=…,v1=HMAC(secret, "<t>.<delivery id>.<body>")``, docs/howto/webhooks.md)
to ``/hooks/bench/``. Each body is ``{"k": <n>}``; the generator records when it sent each
``k``, the run's ``finished_at`` says when it completed (same machine, same clock).

The webhook rate limit (``POLICY.webhook_rate_limit_per_minute``, 100 by default) is
raised for the bench through ``AUTOMATE_BENCH_WEBHOOK_RATE`` (bench/settings_bench.py).
The generator's own ceiling is measured in the same run against a local no-op server,
with its CPU use, so a generator-bound figure shows as one.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
from _support import (
    ONE_STEP,
    ROOT,
    SUMMARY,
    RecordingServer,
    Row,
    count_runs,
    django_call,
    free_port,
    percentiles,
    scratch_database,
    start_workers,
    stop,
    wait_until,
)

SECRET = "whsec_bench_not_a_secret_0123456789"

SETUP = """
from automate.tenants.services import get_default_tenant
from automate.triggers.models import WebhookEndpoint
from automate.workflows.services import create_workflow, publish_version
wf = create_workflow(name="Hook", slug="hook", trigger_spec={{"event_type": "bench.hook"}}, graph={graph})
publish_version(workflow=wf)
WebhookEndpoint.objects.create(
    tenant=get_default_tenant(), slug="bench", name="Bench", scheme="generic",
    secret_name="BENCH_WEBHOOK_SECRET", event_type="bench.hook",
)
"""

# argv: port, path, secret, n, connections. Prints {"sent": {k: epoch}, "statuses": {...},
# "elapsed": s, "answer_ms": [p50, p95], "cpu": share of one core}.
GENERATOR = r"""
import hashlib, hmac, http.client, json, os, sys, threading, time
port, path, secret, n, conns = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
sent, statuses, answers, lock = {}, {}, [], threading.Lock()

def connect():
    return http.client.HTTPConnection("127.0.0.1", port, timeout=120)

def send(keys):
    conn = connect()
    for k in keys:
        body = json.dumps({"k": k}).encode()
        delivery, stamp = f"bench-{k}", int(time.time())
        mac = hmac.new(secret.encode(), f"{stamp}.{delivery}.".encode() + body, hashlib.sha256)
        headers = {"Content-Type": "application/json", "X-Delivery-Id": delivery,
                   "X-Signature": f"t={stamp},v1={mac.hexdigest()}"}
        started = time.time()
        conn.request("POST", path, body, headers)
        response = conn.getresponse()
        response.read()
        with lock:
            sent[k] = started
            answers.append((time.time() - started) * 1000)
            statuses[response.status] = statuses.get(response.status, 0) + 1
        if response.will_close:
            conn.close()
            conn = connect()
    conn.close()

cpu, began = os.times(), time.perf_counter()
threads = [threading.Thread(target=send, args=(range(i, n, conns),)) for i in range(conns)]
for t in threads: t.start()
for t in threads: t.join()
elapsed, end = time.perf_counter() - began, os.times()
answers.sort()
print(json.dumps({"sent": sent, "statuses": statuses, "elapsed": elapsed,
                  "answer_ms": [answers[len(answers) // 2], answers[max(0, int(len(answers) * .95) - 1)]],
                  "cpu": (end.user + end.system - cpu.user - cpu.system) / elapsed}))
"""


def generate(port: int, path: str, n: int, connections: int) -> dict[str, Any]:
    """Run the load generator to completion; its JSON report."""
    done = subprocess.run(
        [sys.executable, "-c", GENERATOR, str(port), path, SECRET, str(n), str(connections)],
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def start_daphne(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    daphne = Path(sys.executable).parent / "daphne"
    proc = subprocess.Popen(
        [str(daphne), "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
        env={**env, "AUTOMATE_LOG_LEVEL": "WARNING"},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def listening() -> bool:
        if proc.poll() is not None:
            raise RuntimeError("daphne exited at start-up")
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    wait_until(listening, timeout=60, what="daphne listening", interval=0.1)
    return proc


def bench_webhooks(n: int, connections: int) -> None:
    print(f"\n2b. Front door: {n} signed webhooks → daphne → one-step runs, 2 worker processes")
    ceiling_server = RecordingServer().serve()
    try:
        ceiling = generate(ceiling_server.port, "/", n, connections)
    finally:
        ceiling_server.shutdown()
    limit = n / ceiling["elapsed"]
    print(
        f"   load generator alone ({connections} keep-alive connections) against a no-op "
        f"local server: {limit:,.0f} req/s, {ceiling['cpu']:.0%} of a core"
    )
    extra = {"AUTOMATE_BENCH_WEBHOOK_RATE": str(10**9), "AUTOMATE_BENCH_WEBHOOK_SECRET": SECRET}
    with scratch_database(extra_env=extra) as (url, env):
        django_call(env, SETUP.format(graph=repr(ONE_STEP)))
        port = free_port()
        server = start_daphne(env, port)
        procs = start_workers(env, 2, 10)
        try:
            time.sleep(2.0)  # let the workers finish starting up
            sent = generate(port, "/hooks/bench/", n, connections)
            with psycopg.connect(url, autocommit=True) as conn:
                accepted = sent["statuses"].get("202", 0)
                wait_until(
                    lambda: count_runs(conn) >= accepted,
                    timeout=1800,
                    what=f"{accepted} runs completed",
                    interval=0.05,
                )
                rows = conn.execute(
                    "SELECT e.payload->>'k', extract(epoch FROM r.finished_at) "
                    "FROM automate_executionrun r JOIN automate_event e ON e.id = r.event_id "
                    "WHERE r.status = 'succeeded'"
                ).fetchall()
        finally:
            stop(procs)
            stop([server])
    finished = {k: float(t) for k, t in rows}
    latencies = [(finished[k] - t) * 1000 for k, t in sent["sent"].items() if k in finished]
    first_sent = min(sent["sent"].values())
    rate = len(finished) / (max(finished.values()) - first_sent)
    send_rate = n / sent["elapsed"]
    p50, p95 = percentiles(latencies)
    a50, a95 = sent["answer_ms"]
    print(
        f"   generator: {send_rate:,.0f} req/s sent ({sent['cpu']:.0%} of a core), "
        f"answers {sent['statuses']}, answer time p50 {a50:.1f} ms p95 {a95:.1f} ms"
    )
    print(f"   completed runs: {rate:,.0f}/s (first request sent → last run finished)")
    print(f"   request sent → run completed: p50 {p50:,.0f} ms   p95 {p95:,.0f} ms")
    SUMMARY.append(
        Row(
            "webhooks → runs done/s, 2 procs",
            f"{rate:,.0f}",
            f"generator limit {limit:,.0f}",
            f"{rate / limit:.2f}",
            "report",
        )
    )
    SUMMARY.append(Row("webhook sent → run done p50/p95 (ms)", f"{p50:,.0f} / {p95:,.0f}"))
