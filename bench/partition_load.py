"""Emit, match and prune on the plain event table and on one partitioned by month: run by
``bench/scale.py`` in a child process, once per database.

    python bench/partition_load.py --spread          # turn this database's event table into
                                                     # monthly partitions, rows spread over them
    python bench/partition_load.py plain|monthly EVENTS

``--spread`` is how a site that converted before its data arrived looks: the events are set
aside, the empty table converted as if months ago (``automate.events.partitioning``), the
months created, and the events put back (each into its month, each dedupe key into the side
table), then ``VACUUM ANALYZE``.

The measure prints one ``RESULTS {json}`` line:

* emits/s: EVENTS ``emit_event`` calls, each its own transaction, each with a new dedupe key;
* duplicates/s: a quarter of those keys again (the first event comes back);
* match + run jobs/s: one in-process worker (4 threads) drains them (an event job and a step
  job per run);
* prune batch: 10 batches of 1,000 per table of the usual batched prune, each rolled back:
  rows/s and p50;
* one month of events: the runs of the events of the oldest whole month are deleted first
  (timed apart), then the events: a batched delete of 1,000 at a time on the plain table,
  ``partitioning.drop_expired`` (one DROP) on the partitioned one; all rolled back.

The run's own events and runs are deleted at the end.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta
from typing import Any

import prune_load  # django.setup() happens there
from django.conf import settings
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from automate.events import partitioning
from automate.events.models import Event
from automate.execution.models import ExecutionRun, OutboxJob
from automate.execution.worker import Worker
from automate.retention.batches import delete_rows
from automate.runtime import emit_event

MONTHLY = {**settings.DJANGO_AUTOMATE, "EVENTS": {"partitioning": "monthly"}}


class _Rollback(Exception):
    pass


def spread() -> None:
    """Convert this database's event table into monthly partitions holding its rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint "
            "WHERE contype = 'f' AND confrelid = 'automate_event'::regclass"
        )
        for table, name in cursor.fetchall():
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        cursor.execute("CREATE TABLE bench_event_rows AS SELECT * FROM automate_event")
        cursor.execute("TRUNCATE automate_event")
        cursor.execute("SELECT min(created_at) FROM bench_event_rows")
        oldest = cursor.fetchone()[0] or timezone.now()
    since = oldest - timedelta(days=31)
    partitioning.apply(partitioning.conversion_plan(now=since))
    now = timezone.now()
    months = (now.year * 12 + now.month) - (since.year * 12 + since.month) + 3
    partitioning.ensure_ahead(months, now=since)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO automate_event SELECT * FROM bench_event_rows")
        cursor.execute("DROP TABLE bench_event_rows")
        cursor.execute("VACUUM ANALYZE automate_event")
        cursor.execute("VACUUM ANALYZE automate_event_dedupe")


def completed() -> int:
    return OutboxJob.objects.filter(status=OutboxJob.Status.COMPLETED).count()


def oldest_month() -> tuple[Any, Any]:
    first = Event.objects.order_by("created_at").values_list("created_at", flat=True).first()
    assert first is not None, "the data set has no events"
    start = partitioning.month_start(first, 1)
    return start, partitioning.month_start(start, 1)


def month_removal(mode: str) -> dict[str, float]:
    """Seconds to delete the oldest whole month's runs, then its events; rolled back."""
    start, end = oldest_month()
    figures: dict[str, float] = {}
    try:
        with transaction.atomic():
            span = {"created_at__gte": start, "created_at__lt": end}
            runs = list(
                ExecutionRun.objects.filter(
                    **{f"event__{k}": v for k, v in span.items()}
                ).values_list("pk", flat=True)
            )
            started = time.perf_counter()
            for n in range(0, len(runs), 1000):
                delete_rows(ExecutionRun, runs[n : n + 1000], {})
            figures["month runs s"] = time.perf_counter() - started
            started = time.perf_counter()
            if mode == "monthly":
                _, rows = partitioning.drop_expired(end, end)
            else:
                ids = list(Event.objects.filter(**span).values_list("pk", flat=True))
                for n in range(0, len(ids), 1000):
                    delete_rows(Event, ids[n : n + 1000], {})
                rows = len(ids)
            figures["month events s"] = time.perf_counter() - started
            figures["month events"] = rows
            raise _Rollback
    except _Rollback:
        pass
    return figures


def measure(mode: str, events: int) -> dict[str, Any]:
    workflow = prune_load.load_workflow()
    stamp = f"{mode}-{time.time():.0f}"
    started = time.perf_counter()
    ids = [
        emit_event(prune_load.EVENT_TYPE, {"i": i}, dedupe_key=f"{stamp}-{i}")
        for i in range(events)
    ]
    emits = events / (time.perf_counter() - started)
    started = time.perf_counter()
    for i in range(0, events, 4):
        emit_event(prune_load.EVENT_TYPE, {"i": i}, dedupe_key=f"{stamp}-{i}")
    duplicates = len(range(0, events, 4)) / (time.perf_counter() - started)
    before = completed()
    started = time.perf_counter()
    Worker(worker_id=f"bench-{stamp}", concurrency=4, fire_schedules=False).run(once=True)
    jobs = (completed() - before) / (time.perf_counter() - started)

    pruner = prune_load.RehearsalPruner(batch_size=1000, max_batches=10)
    pruner.times = []
    pruner.run()
    batches = prune_load.percentiles(pruner.times)
    month = month_removal(mode)

    runs = list(
        ExecutionRun.objects.filter(workflow_version__workflow=workflow).values_list(
            "pk", flat=True
        )
    )
    with transaction.atomic():
        delete_rows(ExecutionRun, runs, {})
        delete_rows(Event, ids, {})
    return {
        "emits/s": emits,
        "duplicates/s": duplicates,
        "match + run jobs/s": jobs,
        "prune rows/s": prune_load.rows_per_second(pruner),
        "prune batch p50 ms": batches["p50"],
        **month,
    }


def main() -> None:
    if sys.argv[1] == "--spread":
        with override_settings(DJANGO_AUTOMATE=MONTHLY):
            spread()
        return
    mode, events = sys.argv[1], int(sys.argv[2])
    if mode == "monthly":
        with override_settings(DJANGO_AUTOMATE=MONTHLY):
            results = measure(mode, events)
    else:
        results = measure(mode, events)
    print("RESULTS " + json.dumps(results))


if __name__ == "__main__":
    main()
