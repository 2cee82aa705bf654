"""Delete events and finished runs older than the retention settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from automate import conf
from automate.events.models import Event
from automate.execution.models import ExecutionRun, OutboxJob


class Command(BaseCommand):
    help = (
        "Delete finished runs older than RETENTION.runs_days and events older than "
        "RETENTION.events_days that no remaining run refers to."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count, delete nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        runs_cutoff = now - timedelta(days=conf.get("RETENTION", "runs_days"))
        events_cutoff = now - timedelta(days=conf.get("RETENTION", "events_days"))
        finished = [
            ExecutionRun.Status.SUCCEEDED,
            ExecutionRun.Status.FAILED,
            ExecutionRun.Status.CANCELLED,
        ]
        runs = ExecutionRun.objects.filter(status__in=finished, finished_at__lt=runs_cutoff)
        events = Event.objects.filter(created_at__lt=events_cutoff, runs__isnull=True).exclude(
            jobs__status__in=[OutboxJob.Status.PENDING, OutboxJob.Status.CLAIMED]
        )
        if options["dry_run"]:
            self.stdout.write(f"Would delete {runs.count()} runs and {events.count()} events.")
            return
        deleted_runs, _ = runs.delete()
        # Events are immutable rows but not eternal: retention removes them in bulk.
        deleted_events, _ = Event.objects.filter(pk__in=events.values("pk")).delete()
        self.stdout.write(f"Deleted {deleted_runs} rows of runs and {deleted_events} of events.")
