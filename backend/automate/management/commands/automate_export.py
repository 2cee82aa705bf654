"""``python manage.py automate_export --workflow order-flow [--file out.json] [--draft]``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from automate.exceptions import AutomateError
from automate.workflows.files import export_text
from automate.workflows.queries import get_workflow


class Command(BaseCommand):
    help = "Write a workflow as a JSON file that automate_import reads back."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workflow", required=True, help="The workflow's slug.")
        parser.add_argument("--file", help="Where to write (default: standard output).")
        parser.add_argument("--tenant", help="Tenant slug (default: the default tenant).")
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--draft", action="store_true", help="Export the draft.")
        which.add_argument("--version-number", type=int, help="Export this version number.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            workflow = get_workflow(options["workflow"], tenant=options["tenant"])
        except AutomateError as exc:
            raise CommandError(exc.message) from None
        version = None
        if options["version_number"] is not None:
            version = workflow.versions.filter(version_num=options["version_number"]).first()
            if version is None:
                raise CommandError(f"{workflow.slug!r} has no version {options['version_number']}.")
        elif not options["draft"]:
            version = workflow.live_version
        text = export_text(workflow, version=version)
        if options["file"]:
            Path(options["file"]).write_text(text + "\n", encoding="utf-8")
            which = f"version {version.version_num}" if version else "the draft"
            self.stdout.write(f"Wrote {which} of {workflow.slug!r} to {options['file']}.")
        else:
            self.stdout.write(text)
