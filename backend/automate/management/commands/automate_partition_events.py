"""Partition the event table by month on PostgreSQL (``automate.events.partitioning``).

``--plan`` prints the SQL and changes nothing; ``--apply`` converts the table (needs
``EVENTS["partitioning"] = "monthly"``); ``--ensure-ahead N`` creates the next N months'
partitions; ``--revert`` (with ``--plan`` or ``--apply``) goes back to one plain table.
See docs/howto/partitioning.md.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from automate import conf
from automate.events import partitioning


class Command(BaseCommand):
    help = (
        "Turn automate_event into a table partitioned by month (PostgreSQL): --plan prints "
        "the SQL, --apply runs it, --ensure-ahead N creates the next N months, --revert "
        "goes back to one plain table."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--plan", action="store_true", help="Print the SQL; change nothing.")
        action.add_argument("--apply", action="store_true", help="Run the SQL.")
        action.add_argument(
            "--ensure-ahead",
            type=int,
            metavar="N",
            help="Create the partitions of this month and the N after it that are missing.",
        )
        action.add_argument(
            "--status", action="store_true", help="List the partitions and their rows."
        )
        parser.add_argument(
            "--revert",
            action="store_true",
            help="With --plan or --apply: back to one plain table (copies every row).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        partitioning.require_postgresql()
        if options["revert"] and not (options["plan"] or options["apply"]):
            raise CommandError("--revert goes with --plan or --apply.")
        if options["status"]:
            self._status()
            return
        if options["ensure_ahead"] is not None:
            months = options["ensure_ahead"]
            if months < 0:
                raise CommandError(f"--ensure-ahead cannot be negative, not {months}.")
            created = partitioning.ensure_ahead(months)
            self.stdout.write(
                "Created " + ", ".join(created) if created else "Every month is there already."
            )
            return
        if options["revert"]:
            plan = partitioning.revert_plan()
        else:
            if options["apply"] and conf.get("EVENTS", "partitioning") != "monthly":
                raise CommandError(
                    'Set DJANGO_AUTOMATE["EVENTS"]["partitioning"] = "monthly" first, so that '
                    "workers keep months created ahead and prune drops expired ones."
                )
            plan = partitioning.conversion_plan()
        if options["plan"]:
            self.stdout.write(plan.sql())
            return
        partitioning.apply(plan)
        if options["revert"]:
            self.stdout.write("The event table is one plain table again.")
            return
        created = partitioning.ensure_ahead(int(conf.get("EVENTS", "partitions_ahead")))
        self.stdout.write(f"The event table is partitioned by month; created {', '.join(created)}.")

    def _status(self) -> None:
        if not partitioning.is_partitioned():
            self.stdout.write("The event table is not partitioned.")
            for name in partitioning.leftover_bounds():
                self.stdout.write(
                    f"WARNING: {name} is left from a failed --apply: every event insert fails "
                    "from its month on. Drop it: ALTER TABLE automate_event DROP CONSTRAINT "
                    f"IF EXISTS {name}"
                )
            return
        for partition in partitioning.partitions():
            span = (
                "DEFAULT"
                if partition.default
                else f"{partition.start or 'MINVALUE'} .. {partition.end}"
            )
            self.stdout.write(f"{partition.name}: {span}, {partitioning.rows_in(partition)} rows")
