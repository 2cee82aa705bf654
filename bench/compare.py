"""Step jobs/s and worker CPU per job of two checkouts, side by side (A/B of a change).

    .venv/bin/python bench/compare.py OLD_CHECKOUT NEW_CHECKOUT [--runs 3000] [--batch 10]
        [--rounds 4]

Each round seeds ``--runs`` no-op one-step runs in a scratch database, starts 2 worker
processes of one checkout (``--concurrency 1``, ``--batch-size --batch``), times the drain
(bench/_support ``release_and_time``) and reads the workers' CPU time from /proc; the
checkouts alternate, so both see the same machine. Prints one line per round. Linux only;
never runs in CI.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

ROUND = r"""
import os, sys, time
root, runs, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sys.path.insert(0, os.path.join(root, "bench"))
os.chdir(root)
from _support import release_and_time, scratch_database, seed, start_workers, stop

def cpu(pid):
    fields = open(f"/proc/{pid}/stat").read().split(")")[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

with scratch_database() as (url, env):
    seed(env, runs, events=False)
    procs = start_workers(env, 2, batch)
    time.sleep(2)
    before = sum(cpu(p.pid) for p in procs)
    elapsed = release_and_time(url, runs, procs)
    used = sum(cpu(p.pid) for p in procs) - before
    stop(procs)
print(f"{root}: {runs / elapsed:,.0f} jobs/s, worker CPU {used / runs * 1000:.3f} ms/job")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--runs", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    for _ in range(args.rounds):
        for root in (args.old, args.new):
            root = os.path.abspath(root)
            subprocess.run(
                [sys.executable, "-c", ROUND, root, str(args.runs), str(args.batch)], check=True
            )


if __name__ == "__main__":
    main()
