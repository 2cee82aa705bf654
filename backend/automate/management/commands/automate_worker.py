"""Run a worker process: ``python manage.py automate_worker --concurrency 4``."""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from automate.execution.worker import Worker


class Command(BaseCommand):
    help = (
        "Claim and run outbox jobs until stopped. SIGTERM or Ctrl+C stops claiming, lets "
        "running steps finish and hands back claimed jobs that had not started."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--concurrency", type=int, help="Step threads (default: settings).")
        parser.add_argument("--batch-size", type=int, help="Jobs claimed at once.")
        parser.add_argument("--poll-interval", type=float, help="Idle polling, in seconds.")
        parser.add_argument(
            "--reap-interval", type=float, default=15.0, help="Seconds between reaper passes."
        )
        parser.add_argument("--worker-id", help="Name in job leases (default host:pid:random).")
        parser.add_argument(
            "--once", action="store_true", help="Exit when no job is due and all have finished."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["worker_id"] is not None and not 0 < len(options["worker_id"]) <= 100:
            raise CommandError("--worker-id must be 1 to 100 characters.")
        for name in ("concurrency", "batch_size", "poll_interval", "reap_interval"):
            if options[name] is not None and options[name] <= 0:
                raise CommandError(f"--{name.replace('_', '-')} must be greater than 0.")
        worker = Worker(
            worker_id=options["worker_id"],
            concurrency=options["concurrency"],
            batch_size=options["batch_size"],
            poll_interval=options["poll_interval"],
            reap_interval=options["reap_interval"],
        )

        def stop(signum: int, frame: Any) -> None:
            self.stderr.write(f"Stopping worker {worker.worker_id} (signal {signum})…")
            worker.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"Worker {worker.worker_id} running.")
        processed = worker.run(once=options["once"])
        self.stdout.write(f"Worker {worker.worker_id} ran {processed} jobs.")
