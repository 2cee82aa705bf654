"""Replay dead-lettered outbox jobs: ``python manage.py automate_replay_dead --all``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from automate.exceptions import AutomateError
from automate.execution.models import OutboxJob
from automate.execution.services import replay_job


class Command(BaseCommand):
    help = "Put DEAD (retries exhausted) and/or FAILED (permanent error) jobs back in the queue."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="*", type=int, help="Job ids to replay.")
        parser.add_argument("--all", action="store_true", help="Every job in the chosen status.")
        parser.add_argument(
            "--status",
            choices=["dead", "failed", "both"],
            default="dead",
            help="Which dead letters --all replays (default: dead).",
        )
        parser.add_argument("--dry-run", action="store_true", help="List, replay nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        ids: list[int] = options["ids"]
        if bool(ids) == bool(options["all"]):
            raise CommandError("Give job ids or --all (not both).")
        statuses = {
            "dead": [OutboxJob.Status.DEAD],
            "failed": [OutboxJob.Status.FAILED],
            "both": [OutboxJob.Status.DEAD, OutboxJob.Status.FAILED],
        }[options["status"]]
        if ids:
            jobs = list(OutboxJob.objects.filter(pk__in=ids).order_by("pk"))
            missing = sorted(set(ids) - {job.pk for job in jobs})
            if missing:
                raise CommandError(f"No outbox job with id {', '.join(map(str, missing))}.")
        else:
            jobs = list(OutboxJob.objects.filter(status__in=statuses).order_by("pk"))
        replayed = 0
        for job in jobs:
            if options["dry_run"]:
                self.stdout.write(f"would replay job {job.pk} ({job.status}): {job.last_error}")
                continue
            try:
                replay_job(job)
            except AutomateError as exc:
                self.stderr.write(f"job {job.pk}: {exc.message}")
                continue
            replayed += 1
        if not options["dry_run"]:
            self.stdout.write(f"Replayed {replayed} of {len(jobs)} jobs.")
