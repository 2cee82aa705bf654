"""Delete what is past retention, oldest first, in bounded batches (``automate.retention``).

Each batch is its own short transaction of at most ``--batch-size`` rows of one table (and
the rows that depend on them), so a large backlog never holds long locks and the command
can run while workers run, from several machines at once (PostgreSQL: each batch skips the
rows another prune holds). A prune that is interrupted has committed every batch it
finished.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from automate.retention.batches import Pruner, TableTally, default_batch_size
from automate.retention.plan import TABLES, Cutoffs

DONE_VERB = {"raw bodies": "cleared"}


class Command(BaseCommand):
    help = (
        "Delete finished runs (with their steps and jobs) older than RETENTION.runs_days or "
        "their workflow's own retention, events older than RETENTION.events_days that no "
        "kept run refers to, audit entries older than RETENTION.audit_days, and clear raw "
        "webhook bodies older than RETENTION.raw_body_days; oldest first, --batch-size rows "
        "per transaction. Runs in flight and runs with jobs to do are kept; runs and events "
        "with a dead letter, for RETENTION.dead_letter_days."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would go, delete nothing."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            metavar="N",
            help="Rows of one table per transaction (default: RETENTION.prune_batch_size, "
            f"{default_batch_size()}).",
        )
        parser.add_argument(
            "--sleep",
            type=float,
            default=0.0,
            metavar="SECONDS",
            help="Pause between batches, to leave the database to the workers (default 0).",
        )
        parser.add_argument(
            "--progress-every",
            type=int,
            default=10,
            metavar="N",
            help="Print a progress line every N batches of a table (default 10; 0: only "
            "the totals).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = options["batch_size"] or default_batch_size()
        if options["batch_size"] is not None and options["batch_size"] < 1:
            raise CommandError(f"--batch-size must be at least 1, not {options['batch_size']}.")
        if options["sleep"] < 0:
            raise CommandError(f"--sleep cannot be negative, not {options['sleep']}.")
        every = options["progress_every"]
        if every < 0:
            raise CommandError(f"--progress-every cannot be negative, not {every}.")
        cutoffs = Cutoffs.at()
        pruner = Pruner(
            batch_size=batch_size,
            sleep=options["sleep"],
            cutoffs=cutoffs,
            on_batch=self._progress(every) if every and options["verbosity"] else None,
        )
        self.stdout.write(
            f"Past retention: runs finished before {cutoffs.runs:%Y-%m-%d %H:%M} (or their "
            f"workflow's own retention), events before {cutoffs.events:%Y-%m-%d %H:%M}, raw "
            f"bodies before {cutoffs.raw_bodies:%Y-%m-%d %H:%M}, audit entries before "
            f"{cutoffs.audit:%Y-%m-%d %H:%M}; batches of {batch_size} rows."
        )
        if options["dry_run"]:
            for table, (rows, batches) in pruner.count().items():
                verb = "clear" if table in DONE_VERB else "delete"
                self.stdout.write(f"{table}: would {verb} {rows} ({batches} batches)")
            self.stdout.write("Dry run: nothing was deleted.")
            return
        started = time.perf_counter()
        tallies = pruner.run()
        for table in TABLES:
            self.stdout.write(self._total(table, tallies[table]))
        self.stdout.write(f"Done in {time.perf_counter() - started:.1f} s.")

    def _progress(self, every: int) -> Any:
        def report(table: str, tally: TableTally, seconds: float) -> None:
            if tally.batches % every == 0:
                verb = DONE_VERB.get(table, "deleted")
                self.stdout.write(
                    f"{table}: batch {tally.batches}, {tally.rows} {verb} so far "
                    f"(this batch {seconds * 1000:.0f} ms)"
                )

        return report

    @staticmethod
    def _total(table: str, tally: TableTally) -> str:
        verb = DONE_VERB.get(table, "deleted")
        line = f"{table}: {verb} {tally.rows} in {tally.batches} batches"
        if tally.batches:
            line += f" (slowest {tally.slowest * 1000:.0f} ms)"
        with_rows = ", ".join(f"{n} {label}" for label, n in tally.dependents.items() if n)
        return f"{line}, with {with_rows}" if with_rows else line
