"""Deleting what ``plan`` says is past retention: oldest first, in bounded batches.

Each batch is one short transaction: it picks at most ``batch_size`` rows of one stream
(``SELECT … ORDER BY created_at, id LIMIT n``, ``FOR UPDATE SKIP LOCKED`` but on SQLite),
deletes the rows that depend on them (steps, jobs, live-frame counters: every relation that
cascades, found from the models, so a new table that points at runs is pruned with them),
then the rows themselves. Locks last one batch; a prune that is stopped has committed every
batch it finished. A keyset cursor (the last row's ``created_at, id``) starts each batch
where the previous one ended, so rows kept (a run still in flight) are read once per prune,
not once per batch.

Several prunes at once (cron on two machines, a worker's periodic prune): on PostgreSQL
each batch skips the rows another prune has locked, so every row is deleted once and each
prune finishes; MySQL and MariaDB do the same, and a batch InnoDB aborts as a deadlock
victim is run again (``DEADLOCK_RETRIES``); on SQLite writes are serialized and a row
already gone counts nowhere.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import OperationalError, models, transaction
from django.db.models import Q, QuerySet
from django.db.models.deletion import CASCADE, SET_NULL, get_candidate_relations_to_delete

from automate import conf
from automate.events import partitioning
from automate.retention.plan import TABLES, Cutoffs, Stream, events_freed_by, streams


@dataclass
class TableTally:
    """What a prune did to one table: rows deleted (or cleared), batches, dependent rows."""

    rows: int = 0
    batches: int = 0
    seconds: float = 0.0
    dependents: dict[str, int] = field(default_factory=dict)
    #: The slowest batch, in seconds (the longest any lock was held).
    slowest: float = 0.0


#: The dependents label of the event partitions a prune dropped whole.
PARTITIONS = "monthly partitions dropped"

#: Called after each batch: (table, its tally so far, this batch's seconds).
OnBatch = Callable[[str, TableTally, float], None]


@dataclass
class Pruner:
    """One prune: ``run()`` deletes, ``count()`` only counts (a dry run).

    ``batch_size`` rows per transaction (>= 1); ``sleep`` seconds between batches (>= 0);
    ``max_batches`` per table stops early (the worker's bounded pass; None: to the end);
    ``on_batch`` reports progress. Raises ``ValueError`` for a bad size or pause.
    """

    batch_size: int = 1000
    sleep: float = 0.0
    max_batches: int | None = None
    on_batch: OnBatch | None = None
    cutoffs: Cutoffs = field(default_factory=Cutoffs.at)
    tallies: dict[str, TableTally] = field(
        default_factory=lambda: {t: TableTally() for t in TABLES}
    )

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("the batch size must be at least 1")
        if self.sleep < 0:
            raise ValueError("the pause between batches cannot be negative")

    def run(self) -> dict[str, TableTally]:
        """Prune every stream in turn; returns the tally per table (in ``TABLES`` order)."""
        for stream in streams(self.cutoffs):
            if stream.table == "events":
                self._drop_partitions()
            self._walk(stream)
        return self.tallies

    def _drop_partitions(self) -> None:
        """With ``EVENTS["partitioning"] = "monthly"`` on a partitioned event table: drop
        each month whose events are all past retention (one statement, not a delete per
        row); the batches below delete the rest."""
        if not partitioning.enabled() or not partitioning.is_partitioned():
            return
        started = time.perf_counter()
        dropped, rows = partitioning.drop_expired(self.cutoffs.events, self.cutoffs.dead_letters)
        if dropped:
            tally = self.tallies["events"]
            tally.rows += rows
            tally.seconds += time.perf_counter() - started
            tally.dependents[PARTITIONS] = tally.dependents.get(PARTITIONS, 0) + dropped

    def count(self) -> dict[str, tuple[int, int]]:
        """What ``run()`` would do now: table -> (rows, batches), deleting nothing."""
        counts = dict.fromkeys(TABLES, (0, 0))
        every = streams(self.cutoffs)
        runs = [stream for stream in every if stream.table == "runs"]
        for stream in every:
            rows = (
                events_freed_by(runs, stream.cutoff, self.cutoffs.dead_letters).count()
                if stream.table == "events"
                else stream.rows.count()
            )
            before = counts[stream.table]
            counts[stream.table] = (
                before[0] + rows,
                before[1] + math.ceil(rows / self.batch_size),
            )
        return counts

    def _walk(self, stream: Stream) -> None:
        tally = self.tallies[stream.table]
        cursor: tuple[datetime, Any] | None = None
        while self.max_batches is None or tally.batches < self.max_batches:
            if tally.batches and self.sleep:
                time.sleep(self.sleep)
            started = time.perf_counter()
            picked, cursor = self._batch(stream, cursor, tally)
            if picked == 0:
                return
            seconds = time.perf_counter() - started
            tally.batches += 1
            tally.seconds += seconds
            tally.slowest = max(tally.slowest, seconds)
            if self.on_batch is not None:
                self.on_batch(stream.table, tally, seconds)
            if picked < self.batch_size:
                return

    def _batch(
        self, stream: Stream, cursor: tuple[datetime, Any] | None, tally: TableTally
    ) -> tuple[int, tuple[datetime, Any] | None]:
        """One transaction: pick the next rows after ``cursor``, remove them; returns how
        many were picked and the new cursor."""
        rows = stream.rows
        if cursor is not None:
            at, pk = cursor
            # created_at >= at bounds the index range; the OR skips the rows already seen.
            rows = rows.filter(created_at__gte=at).filter(
                Q(created_at__gt=at) | Q(created_at=at, pk__gt=pk)
            )
        for attempt in range(DEADLOCK_RETRIES + 1):
            dependents: dict[str, int] = {}
            try:
                with transaction.atomic():
                    picked = list(
                        rows.order_by("created_at", "pk")
                        .select_for_update(skip_locked=True)
                        .values_list("created_at", "pk")[: self.batch_size]
                    )
                    if not picked:
                        return 0, cursor
                    ids = [pk for _, pk in picked]
                    model = stream.rows.model
                    # The batch's time span too: on a partitioned event table it names the
                    # months to look in (by id alone, every month's index is probed).
                    span = (picked[0][0], picked[-1][0])
                    if stream.clear:
                        done = model._base_manager.filter(
                            pk__in=ids, created_at__range=span
                        ).update(raw_body=None)
                    else:
                        done = delete_rows(model, ids, dependents, span=span)
            except OperationalError as exc:
                if not _deadlock(exc) or attempt == DEADLOCK_RETRIES:
                    raise
                continue  # the database rolled the batch back whole: try it again
            tally.rows += done
            for label, count in dependents.items():
                tally.dependents[label] = tally.dependents.get(label, 0) + count
            return len(picked), picked[-1]
        raise AssertionError("unreachable: the last attempt returns or raises")


#: Times a batch the database chose as a deadlock victim is tried again (MySQL/MariaDB:
#: InnoDB aborts one of two prunes whose cascading deletes lock rows in crossed order).
DEADLOCK_RETRIES = 5


def _deadlock(exc: OperationalError) -> bool:
    """Whether ``exc`` is MySQL/MariaDB's "deadlock found" (1213), which rolls back the
    whole transaction and asks for it to be run again."""
    return bool(exc.args) and exc.args[0] == 1213


def delete_rows(
    model: type[models.Model],
    ids: list[Any],
    dependents: dict[str, int],
    span: tuple[datetime, datetime] | None = None,
) -> int:
    """Delete ``model`` rows ``ids`` and, first, the rows whose foreign keys cascade from
    them (one DELETE per table, no signals, nothing loaded into memory); a SET_NULL key is
    cleared. Adds each dependent table's count to ``dependents``; returns the rows deleted.
    ``span`` (first, last ``created_at`` of the rows, inclusive) narrows the final DELETE.

    A PROTECT key that still points at a row makes the database refuse (IntegrityError):
    ``plan`` keeps such rows, so it means a row was written meanwhile, and the batch rolls
    back whole.
    """
    for relation in get_candidate_relations_to_delete(model._meta):
        # A reverse relation (ForeignObjectRel): the model and key that point at ``model``.
        rel: Any = relation
        child: type[models.Model] = rel.related_model
        key = rel.field.name
        on_delete = rel.on_delete
        children = child._base_manager.filter(**{f"{key}__in": ids})
        if on_delete is SET_NULL:
            children.update(**{key: None})
        elif on_delete is CASCADE:
            if any(True for _ in get_candidate_relations_to_delete(child._meta)):
                grandchildren = list(children.values_list("pk", flat=True))
                count = delete_rows(child, grandchildren, dependents) if grandchildren else 0
            else:
                count = _raw_delete(children)
            label = str(child._meta.verbose_name_plural)
            dependents[label] = dependents.get(label, 0) + count
    rows = model._base_manager.filter(pk__in=ids)
    return _raw_delete(rows if span is None else rows.filter(created_at__range=span))


def _raw_delete(queryset: QuerySet[Any]) -> int:
    # One DELETE statement: Django's delete() would load the rows to send signals.
    return queryset._raw_delete(queryset.db)


def default_batch_size() -> int:
    return int(conf.get("RETENTION", "prune_batch_size"))
