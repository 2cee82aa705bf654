"""CPU and statements per step job of one worker, in-process (the hot path, without noise
from scheduling): what bench/drain.py's batch figures are made of.

    .venv/bin/python bench/hotpath.py [--runs 3000] [--batch 10] [--profile FILE]
        [--statements]

Seeds ``--runs`` no-op one-step runs in a scratch PostgreSQL database, then one process
claims and runs them batch by batch (``store.claim_batch`` + ``runner.process_batch``, as
a worker thread does) and prints, per job: the process's CPU time (the connector calls'
pooled threads included), the CPU time of its PostgreSQL backend (from /proc, so the
database must run on this machine), and the statements it sent. CPU is also given per
chunk of 200 jobs (minimum and median): on a busy machine the minimum is the steadier
figure. ``--profile`` writes a cProfile of the loop (timer: ``time.thread_time``);
``--statements`` prints how many times a batch sent each statement (by its first words;
Django records no text for a prepared statement: set ``AUTOMATE_BENCH_PREPARE_THRESHOLD=``).
Linux only; never runs in CI.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from _support import ROOT, scratch_database, seed

LOOP = r"""
import cProfile, logging, os, statistics, sys, time
import django
django.setup()
logging.disable(logging.WARNING)
from django.db import connection
from django.test.utils import CaptureQueriesContext
from automate.execution.models import OutboxJob
from automate.execution.runner import process_batch
from automate.execution.store import default_store

batch, profile, show = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
store, worker = default_store(), "hotpath"
OutboxJob.objects.update(next_attempt_at=None)

def backend_cpu(pid):
    fields = open(f"/proc/{pid}/stat").read().split(")")[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

process_batch(store.claim_batch(worker, batch), store=store, worker_id=worker)  # warm up
with connection.cursor() as cursor:
    cursor.execute("SELECT pg_backend_pid()")
    pid = cursor.fetchone()[0]
profiler = cProfile.Profile(time.thread_time) if profile else None
jobs_done, chunk, chunks = 0, 0, []
start_cpu, start_pg = time.process_time(), backend_cpu(pid)
chunk_cpu, chunk_pg = start_cpu, start_pg
with CaptureQueriesContext(connection) as queries:
    if profiler:
        profiler.enable()
    while jobs := store.claim_batch(worker, batch):
        process_batch(jobs, store=store, worker_id=worker)
        jobs_done += len(jobs)
        chunk += len(jobs)
        if chunk >= 200:
            cpu, pg = time.process_time(), backend_cpu(pid)
            chunks.append(((cpu - chunk_cpu) / chunk, (pg - chunk_pg) / chunk))
            chunk_cpu, chunk_pg, chunk = cpu, pg, 0
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
cpu, pg = time.process_time() - start_cpu, backend_cpu(pid) - start_pg
ms = lambda values: f"{min(values) * 1000:.3f} / {statistics.median(values) * 1000:.3f}"
print(f"{jobs_done} step jobs, batch {batch}: worker CPU {cpu / jobs_done * 1000:.3f} ms/job "
      f"(per 200: min / median {ms([c[0] for c in chunks])}), PostgreSQL backend CPU "
      f"{pg / jobs_done * 1000:.3f} ms/job ({ms([c[1] for c in chunks])}), "
      f"statements/job {len(queries) / jobs_done:.2f}")
if show:
    import collections
    heads = collections.Counter(" ".join((q["sql"] or "(prepared: no text)").split())[:70]
                                for q in queries.captured_queries)
    for head, count in heads.most_common():
        print(f"{count / (jobs_done / batch):7.2f} per batch  {head}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--profile", default="")
    parser.add_argument(
        "--statements", action="store_true", help="also print each statement's count per batch"
    )
    args = parser.parse_args()
    with scratch_database() as (_url, env):
        seed(env, args.runs, events=False)
        subprocess.run(
            [
                sys.executable,
                "-c",
                LOOP,
                str(args.batch),
                os.path.abspath(args.profile) if args.profile else "",
                "1" if args.statements else "0",
            ],
            env=env,
            cwd=ROOT,
            check=True,
        )


if __name__ == "__main__":
    main()
