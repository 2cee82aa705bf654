"""Delete events and finished runs older than the retention settings, in bounded batches.

Each batch is its own short transaction of at most ``--batch-size`` rows of each kind (and
their steps and outbox jobs), so pruning a large backlog never holds long locks or builds
one huge transaction; a prune that is interrupted has committed every batch it finished.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from automate import conf
from automate.events.models import Event
from automate.execution.models import ExecutionRun, OutboxJob, StepRun

BATCH_SIZE = 5000
FINISHED = [
    ExecutionRun.Status.SUCCEEDED,
    ExecutionRun.Status.FAILED,
    ExecutionRun.Status.CANCELLED,
]


@dataclass
class Pruned:
    runs: int = 0
    events: int = 0
    raw_bodies: int = 0

    def add(self, other: Pruned) -> None:
        self.runs += other.runs
        self.events += other.events
        self.raw_bodies += other.raw_bodies


@dataclass(frozen=True)
class Cutoffs:
    runs: datetime
    events: datetime
    raw_bodies: datetime

    @classmethod
    def now(cls) -> Cutoffs:
        now = timezone.now()
        return cls(
            runs=now - timedelta(days=conf.get("RETENTION", "runs_days")),
            events=now - timedelta(days=conf.get("RETENTION", "events_days")),
            raw_bodies=now - timedelta(days=conf.get("RETENTION", "raw_body_days")),
        )


def old_runs(cutoffs: Cutoffs) -> QuerySet[ExecutionRun]:
    """Finished runs past retention, oldest first.

    A run finishes after it is created, so ``created_at`` bounds it too: the query walks
    the (created_at, id) index from the oldest run instead of reading the whole table.
    """
    return ExecutionRun.objects.filter(
        created_at__lt=cutoffs.runs, finished_at__lt=cutoffs.runs, status__in=FINISHED
    ).order_by("created_at", "id")


def old_events(cutoffs: Cutoffs) -> QuerySet[Event]:
    """Events past retention that no run refers to and no waiting job still needs."""
    waiting = OutboxJob.objects.filter(
        event=OuterRef("pk"), status__in=[OutboxJob.Status.PENDING, OutboxJob.Status.CLAIMED]
    )
    return (
        Event.objects.filter(created_at__lt=cutoffs.events)
        .exclude(Exists(ExecutionRun.objects.filter(event=OuterRef("pk"))))
        .exclude(Exists(waiting))
        .order_by("created_at", "id")
    )


def old_raw_bodies(cutoffs: Cutoffs) -> QuerySet[Event]:
    """Events still holding a raw body past ``RETENTION["raw_body_days"]``."""
    return Event.objects.filter(raw_body__isnull=False, created_at__lt=cutoffs.raw_bodies).order_by(
        "created_at", "id"
    )


def _delete(queryset: QuerySet[Any]) -> int:
    """Delete the rows in one statement (no signals, no cascade: callers delete children)."""
    return queryset._raw_delete(queryset.db)


def prune_batch(cutoffs: Cutoffs | None = None, batch_size: int = BATCH_SIZE) -> Pruned:
    """Delete at most ``batch_size`` runs and events and clear as many raw bodies.

    Each kind is one transaction; returns how many of each went.
    """
    cutoffs = cutoffs or Cutoffs.now()
    done = Pruned()
    # One DELETE per table, children first: Django's cascading delete() would load every
    # run into memory and delete them 100 at a time.
    with transaction.atomic():
        ids = list(old_runs(cutoffs).values_list("pk", flat=True)[:batch_size])
        if ids:
            _delete(StepRun.objects.filter(run_id__in=ids))
            _delete(OutboxJob.objects.filter(run_id__in=ids))
            done.runs = _delete(ExecutionRun.objects.filter(pk__in=ids))
    with transaction.atomic():
        ids = list(old_events(cutoffs).values_list("pk", flat=True)[:batch_size])
        if ids:
            # Events are immutable rows but not eternal: retention removes them.
            _delete(OutboxJob.objects.filter(event_id__in=ids))
            done.events = _delete(Event.objects.filter(pk__in=ids))
    with transaction.atomic():
        ids = list(old_raw_bodies(cutoffs).values_list("pk", flat=True)[:batch_size])
        if ids:
            done.raw_bodies = Event.objects.filter(pk__in=ids).update(raw_body=None)
    return done


def prune(batch_size: int = BATCH_SIZE) -> Pruned:
    """Prune everything past retention, one bounded batch after another."""
    cutoffs = Cutoffs.now()
    total = Pruned()
    while True:
        batch = prune_batch(cutoffs, batch_size)
        total.add(batch)
        if max(batch.runs, batch.events, batch.raw_bodies) < batch_size:
            return total


class Command(BaseCommand):
    help = (
        "Delete finished runs older than RETENTION.runs_days, events older than "
        "RETENTION.events_days that no remaining run refers to, and clear raw webhook bodies "
        "older than RETENTION.raw_body_days; in batches of --batch-size rows per transaction."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count, delete nothing.")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"Rows of each kind per transaction (default {BATCH_SIZE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if options["dry_run"]:
            cutoffs = Cutoffs.now()
            self.stdout.write(
                f"Would delete {old_runs(cutoffs).count()} runs and "
                f"{old_events(cutoffs).count()} events, and clear "
                f"{old_raw_bodies(cutoffs).count()} raw bodies."
            )
            return
        done = prune(batch_size)
        self.stdout.write(
            f"Deleted {done.runs} runs (with their steps and jobs) and {done.events} events; "
            f"cleared {done.raw_bodies} raw bodies."
        )
