"""Prune batches beside busy workers: run by ``bench/scale.py`` in a child process.

    python bench/prune_load.py EVENTS   # Django set up from the environment (scale.py's child)

Three phases on the loaded data set, printed as one ``RESULTS {json}`` line:

1. workers alone: EVENTS events of a one-step workflow (a ``log.write`` step: no network),
   drained by two worker processes (``Worker``, 2 threads each, ``run(once=True)``): runs
   and jobs (an event job plus a step job per run) per second;
2. the same beside a prune: the prune walks the data set's old runs in batches of 1,000
   (each batch deleted, then rolled back, so the data set stays as it was: the locks are
   held exactly as long as a real batch holds them) while the two workers drain EVENTS more;
3. the prune alone for as many batches.

Batch times are reported as p50/p95 in ms, and the prune's rows per second (runs and the
rows deleted with them, over the batches' time); the load's own runs and events are
deleted at the end.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

import django

django.setup()
logging.disable(logging.CRITICAL)

from django.db import connections, transaction  # noqa: E402

from automate.execution.models import ExecutionRun, OutboxJob  # noqa: E402
from automate.execution.worker import Worker  # noqa: E402
from automate.retention.batches import Pruner, delete_rows  # noqa: E402
from automate.runtime import emit_event  # noqa: E402
from automate.workflows.models import Workflow  # noqa: E402
from automate.workflows.services import create_workflow, publish_version  # noqa: E402

SLUG = "bench-prune-load"
EVENT_TYPE = "bench.prune_load"


class _Rehearsal(Exception):
    pass


class RehearsalPruner(Pruner):
    """A Pruner whose every batch is rolled back at its end; stops when ``stop`` is set."""

    stop: threading.Event | None = None
    times: list[float]

    def _batch(self, stream: Any, cursor: Any, tally: Any) -> Any:
        if self.stop is not None and self.stop.is_set():
            return 0, cursor
        started = time.perf_counter()
        try:
            with transaction.atomic():
                result = super()._batch(stream, cursor, tally)
                raise _Rehearsal(result)
        except _Rehearsal as done:
            self.times.append((time.perf_counter() - started) * 1000)
            return done.args[0]


def load_workflow() -> Workflow:
    workflow = Workflow.objects.filter(slug=SLUG).first()
    if workflow is None:
        workflow = create_workflow(
            name="Bench prune load",
            slug=SLUG,
            trigger_spec={"event_type": EVENT_TYPE},
            graph={
                "nodes": [
                    {"id": "trigger", "type": "trigger"},
                    {
                        "id": "log",
                        "type": "action",
                        "connector": "log",
                        "action": "write",
                        "inputs": {"message": "load", "level": "debug"},
                    },
                ],
                "edges": [{"source": "trigger", "target": "log"}],
            },
        )
        publish_version(workflow=workflow)
    return workflow


def drain(events: int, tag: str) -> tuple[float, float]:
    """Emit ``events`` and drain them with two worker processes; returns (runs per second,
    jobs per second)."""
    with transaction.atomic():
        for i in range(events):
            emit_event(EVENT_TYPE, {"i": i, "tag": tag})
    done_before = OutboxJob.objects.filter(status=OutboxJob.Status.COMPLETED).count()
    started = time.perf_counter()
    workers = [
        subprocess.Popen([sys.executable, __file__, "--work", f"{tag}-{n}"], env=os.environ)
        for n in range(2)
    ]
    for worker in workers:
        if worker.wait() != 0:
            raise SystemExit(f"worker {worker.args!r} failed")
    seconds = time.perf_counter() - started
    jobs = OutboxJob.objects.filter(status=OutboxJob.Status.COMPLETED).count() - done_before
    return events / seconds, jobs / seconds


def work(tag: str) -> None:
    """One worker process: drain until nothing is due."""
    Worker(worker_id=f"bench-{tag}", concurrency=2, fire_schedules=False).run(once=True)
    connections.close_all()


def rows_per_second(pruner: RehearsalPruner) -> float:
    rows = sum(t.rows + sum(t.dependents.values()) for t in pruner.tallies.values())
    return rows / max(sum(pruner.times) / 1000, 1e-9)


def percentiles(times: list[float]) -> dict[str, float]:
    if not times:
        return {"p50": float("nan"), "p95": float("nan"), "batches": 0}
    ordered = sorted(times)
    return {
        "p50": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
        "batches": len(ordered),
    }


def main() -> None:
    if sys.argv[1] == "--work":
        work(sys.argv[2])
        return
    events = int(sys.argv[1])
    workflow = load_workflow()
    alone, jobs_alone = drain(events, "alone")

    stop = threading.Event()
    beside = RehearsalPruner(batch_size=1000)
    beside.stop, beside.times = stop, []

    def prune() -> None:
        try:
            beside.run()
        finally:
            connections.close_all()

    pruning = threading.Thread(target=prune)
    pruning.start()
    with_prune, jobs_beside = drain(events, "beside")
    stop.set()
    pruning.join()

    solo = RehearsalPruner(batch_size=1000, max_batches=max(1, len(beside.times)))
    solo.times = []
    solo.run()

    load_runs = list(
        ExecutionRun.objects.filter(workflow_version__workflow=workflow).values_list(
            "pk", "event_id"
        )
    )
    with transaction.atomic():
        delete_rows(ExecutionRun, [pk for pk, _ in load_runs], {})
        from automate.events.models import Event

        delete_rows(Event, [event for _, event in load_runs], {})
    results = {
        "worker runs/s alone": alone,
        "worker runs/s beside prune": with_prune,
        "worker jobs/s alone": jobs_alone,
        "worker jobs/s beside prune": jobs_beside,
        "prune rows/s beside workers": rows_per_second(beside),
        "prune rows/s alone": rows_per_second(solo),
        "prune batch beside workers": percentiles(beside.times),
        "prune batch alone": percentiles(solo.times),
    }
    print("RESULTS " + json.dumps(results))


if __name__ == "__main__":
    main()
