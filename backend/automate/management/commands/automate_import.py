"""``python manage.py automate_import --file workflows/order_flow.json [--publish]``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from automate.exceptions import AutomateError
from automate.workflows.exceptions import WorkflowValidationError
from automate.workflows.files import import_workflow, parse_workflow_file, read_file
from automate.workflows.services import publish_warnings


class Command(BaseCommand):
    help = "Validate a workflow file and load it as the workflow's draft (and publish it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", required=True, help="Path to the workflow JSON file.")
        parser.add_argument("--publish", action="store_true", help="Publish it as a new version.")
        parser.add_argument("--tenant", help="Tenant slug (default: the default tenant).")
        parser.add_argument("--notes", default="", help="Version notes when publishing.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["file"]
        try:
            text = read_file(path)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        try:
            # A draft may still have inputs to fill in; a publish may not.
            data = parse_workflow_file(text, draft=not options["publish"])
            workflow, created, version = import_workflow(
                data, tenant=options["tenant"], publish=options["publish"], notes=options["notes"]
            )
        except WorkflowValidationError as exc:
            lines = "\n".join(
                "  - "
                + " ".join(
                    part
                    for part in (
                        f"node {p['node_id']!r}" if p.get("node_id") else "",
                        p.get("field", ""),
                    )
                    if part
                )
                + f": {p['message']}"
                for p in exc.problems
            )
            raise CommandError(
                f"{path} is not a valid workflow (nothing was changed):\n{lines}"
            ) from None
        except AutomateError as exc:
            raise CommandError(f"{path}: {exc.message}") from None
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} workflow {workflow.slug!r} ({workflow.name}).")
        if version is not None:
            self.stdout.write(self.style.SUCCESS(f"Published version {version.version_num}."))
        else:
            self.stdout.write("Saved as a draft; publish it with --publish or in the studio.")
        for problem in data.get("problems", []):
            node = f"node {problem['node_id']!r} " if problem.get("node_id") else ""
            self.stdout.write(
                self.style.WARNING(
                    f"To fill in before publishing: {node}{problem['field']}: {problem['message']}"
                )
            )
        for warning in publish_warnings(workflow):
            self.stdout.write(
                self.style.WARNING(
                    f"Warning: node {warning['node_id']!r} {warning['field']}: {warning['message']}"
                )
            )
