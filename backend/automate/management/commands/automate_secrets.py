"""Manage stored secrets (the ``db`` backend): ``python manage.py automate_secrets set NAME``.

Values are read from standard input or typed at a hidden prompt, never taken as
arguments: arguments end up in shell history and in ``ps`` output for every local user.

    printf %s "$SLACK_TOKEN" | python manage.py automate_secrets set SLACK_TOKEN
    python manage.py automate_secrets set SLACK_TOKEN          # prompts, without echo
    python manage.py automate_secrets rotate SLACK_TOKEN
    python manage.py automate_secrets delete SLACK_TOKEN
    python manage.py automate_secrets list
    python manage.py automate_secrets rotate-key               # after adding a new key first
"""

from __future__ import annotations

import getpass
import sys
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from automate.exceptions import AutomateError
from automate.governance import secret_store
from automate.governance.models import StoredSecret


class Command(BaseCommand):
    help = (
        "Create, rotate, delete and list stored secrets, and re-encrypt them all with the "
        "newest key in AUTOMATE_SECRETS_KEYS. Values come from standard input or a prompt."
    )
    # Tests pass a file-like object as stdin, as with createsuperuser.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser(
            "set", help="Create a secret; its value is read from stdin or a hidden prompt."
        )
        create.add_argument("name", help="The secret's name, e.g. SLACK_TOKEN.")
        create.add_argument("--description", default="", help="What the secret is for.")
        rotate = actions.add_parser(
            "rotate", help="Give a secret a new value (stdin or a hidden prompt), same name."
        )
        rotate.add_argument("name")
        delete = actions.add_parser("delete", help="Delete a secret.")
        delete.add_argument("name")
        delete.add_argument(
            "--yes", action="store_true", help="Do not ask for confirmation at a terminal."
        )
        actions.add_parser("list", help="List the stored secrets' names (never values).")
        actions.add_parser(
            "rotate-key", help="Re-encrypt every secret with the first key in the list."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdin: TextIO = options.get("stdin") or sys.stdin
        action: str = options["action"]
        try:
            if action == "set":
                self._set(options["name"], options["description"])
            elif action == "rotate":
                self._rotate(options["name"])
            elif action == "delete":
                self._delete(options["name"], assume_yes=options["yes"])
            elif action == "list":
                self._list()
            else:
                count = secret_store.rotate_encryption_key()
                self.stdout.write(f"Re-encrypted {count} secret(s) with the newest key.")
        except AutomateError as exc:
            raise CommandError(exc.message) from exc

    # -- actions -------------------------------------------------------------------------

    def _set(self, name: str, description: str) -> None:
        name = secret_store.validate_secret_name(name)
        secret_store.encryption()  # a missing key fails before anyone types a value
        if StoredSecret.objects.filter(name=name).exists():
            raise CommandError(
                f'A secret named "{name}" already exists; change its value with: '
                f"automate_secrets rotate {name}"
            )
        value = self._read_value(f"Value for {name}: ")
        secret_store.create_secret(name, value, description=description)
        self.stdout.write(f'Created secret "{name}". Reference it as {{"$secret": "{name}"}}.')

    def _rotate(self, name: str) -> None:
        name = secret_store.validate_secret_name(name)
        secret_store.encryption()
        if not StoredSecret.objects.filter(name=name).exists():
            raise CommandError(
                f'No stored secret is named "{name}"; create it with: automate_secrets set {name}'
            )
        value = self._read_value(f"New value for {name}: ")
        secret_store.rotate_secret(name, value)
        self.stdout.write(f'Rotated secret "{name}".')

    def _delete(self, name: str, *, assume_yes: bool) -> None:
        name = secret_store.validate_secret_name(name)
        if not assume_yes and self._interactive():
            self.stdout.write(
                f'Workflows that reference "{name}" will fail until it is created again.'
            )
            self.stdout.write(f"Type the name ({name}) to delete it: ", ending="")
            self.stdout.flush()
            if self.stdin.readline().strip() != name:
                raise CommandError("Not deleted: the name typed did not match.")
        secret_store.delete_secret(name)
        self.stdout.write(f'Deleted secret "{name}".')

    def _list(self) -> None:
        secrets = StoredSecret.objects.order_by("name").only(
            "name", "description", "created_at", "rotated_at"
        )
        count = 0
        for secret in secrets:
            count += 1
            changed = secret.rotated_at or secret.created_at
            verb = "rotated" if secret.rotated_at else "created"
            line = f"{secret.name}\t{verb} {changed:%Y-%m-%d %H:%M}"
            if secret.description:
                line += f"\t{secret.description}"
            self.stdout.write(line)
        if not count:
            self.stdout.write("No stored secrets.")

    # -- input ---------------------------------------------------------------------------

    def _interactive(self) -> bool:
        isatty = getattr(self.stdin, "isatty", None)
        return bool(isatty and isatty())

    def _read_value(self, prompt: str) -> str:
        if self._interactive():
            # Hidden input, so typed twice: a typo would otherwise go unnoticed until a run
            # fails to authenticate.
            value = getpass.getpass(prompt)
            if value and getpass.getpass("Again, to confirm: ") != value:
                raise CommandError("The two values did not match; nothing was changed.")
        else:
            # One trailing newline is what `echo` adds; anything else is part of the value.
            value = self.stdin.read()
            if value.endswith("\r\n"):
                value = value[:-2]
            elif value.endswith("\n"):
                value = value[:-1]
        if not value:
            raise CommandError(
                'No value given: pipe it in (printf %s "$VALUE" | manage.py '
                "automate_secrets …) or run the command at a terminal to be prompted."
            )
        return value
