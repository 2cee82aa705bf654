"""Manage stored secrets (the ``db`` backend): ``python manage.py automate_secrets set NAME``.

Values are read from standard input or typed at a hidden prompt, never taken as
arguments: arguments end up in shell history and in ``ps`` output for every local user.

Every secret belongs to a tenant. ``--tenant SLUG`` names it; without it, the site's only
tenant is meant (a site with several tenants must say which).

    printf %s "$SLACK_TOKEN" | python manage.py automate_secrets set SLACK_TOKEN
    python manage.py automate_secrets set SLACK_TOKEN --tenant acme  # prompts, without echo
    python manage.py automate_secrets rotate SLACK_TOKEN --tenant acme
    python manage.py automate_secrets delete SLACK_TOKEN --tenant acme
    python manage.py automate_secrets list                     # every tenant's names
    python manage.py automate_secrets list --tenant acme
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
from automate.governance.secret_grants import secret_owner
from automate.tenants.models import Tenant
from automate.tenants.services import resolve_tenant

_TENANT_HELP = "The slug of the tenant that owns the secret (default: the site's only tenant)."


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
        listing = actions.add_parser(
            "list", help="List the stored secrets' names and tenants (never values)."
        )
        for sub in (create, rotate, delete):
            sub.add_argument("--tenant", metavar="SLUG", help=_TENANT_HELP)
        listing.add_argument(
            "--tenant", metavar="SLUG", help="Only this tenant's secrets (default: every tenant)."
        )
        actions.add_parser(
            "rotate-key", help="Re-encrypt every secret with the first key in the list."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdin: TextIO = options.get("stdin") or sys.stdin
        action: str = options["action"]
        try:
            if action == "set":
                self._set(options["name"], options["description"], options["tenant"])
            elif action == "rotate":
                self._rotate(options["name"], options["tenant"])
            elif action == "delete":
                self._delete(options["name"], options["tenant"], assume_yes=options["yes"])
            elif action == "list":
                self._list(options["tenant"])
            else:
                count = secret_store.rotate_encryption_key()
                self.stdout.write(f"Re-encrypted {count} secret(s) with the newest key.")
        except AutomateError as exc:
            raise CommandError(exc.message) from exc

    # -- actions -------------------------------------------------------------------------

    def _set(self, name: str, description: str, tenant_slug: str | None) -> None:
        name = secret_store.validate_secret_name(name)
        tenant = secret_owner(tenant_slug, name=name)
        secret_store.encryption()  # a missing key fails before anyone types a value
        if StoredSecret.objects.filter(tenant=tenant, name=name).exists():
            raise CommandError(
                f'Tenant "{tenant.slug}" already has a secret named "{name}"; change its '
                f"value with: automate_secrets rotate {name} --tenant {tenant.slug}"
            )
        value = self._read_value(f"Value for {name} ({tenant.slug}): ")
        secret_store.create_secret(name, value, tenant=tenant, description=description)
        self.stdout.write(
            f'Created secret "{name}" for tenant "{tenant.slug}". Its workflows reference it '
            f'as {{"$secret": "{name}"}}.'
        )

    def _rotate(self, name: str, tenant_slug: str | None) -> None:
        name = secret_store.validate_secret_name(name)
        tenant = secret_owner(tenant_slug, name=name)
        secret_store.encryption()
        if not StoredSecret.objects.filter(tenant=tenant, name=name).exists():
            raise CommandError(
                f'Tenant "{tenant.slug}" has no stored secret named "{name}"; create it '
                f"with: automate_secrets set {name} --tenant {tenant.slug}"
            )
        value = self._read_value(f"New value for {name} ({tenant.slug}): ")
        secret_store.rotate_secret(name, value, tenant=tenant)
        self.stdout.write(f'Rotated secret "{name}" of tenant "{tenant.slug}".')

    def _delete(self, name: str, tenant_slug: str | None, *, assume_yes: bool) -> None:
        name = secret_store.validate_secret_name(name)
        tenant = secret_owner(tenant_slug, name=name)
        if not assume_yes and self._interactive():
            self.stdout.write(
                f'Workflows of tenant "{tenant.slug}" that reference "{name}" will fail until '
                "it is created again."
            )
            self.stdout.write(f"Type the name ({name}) to delete it: ", ending="")
            self.stdout.flush()
            if self.stdin.readline().strip() != name:
                raise CommandError("Not deleted: the name typed did not match.")
        secret_store.delete_secret(name, tenant=tenant)
        self.stdout.write(f'Deleted secret "{name}" of tenant "{tenant.slug}".')

    def _list(self, tenant_slug: str | None) -> None:
        secrets = StoredSecret.objects.select_related("tenant").order_by("tenant__slug", "name")
        if tenant_slug is not None:
            tenant: Tenant = resolve_tenant(tenant_slug)
            secrets = secrets.filter(tenant=tenant)
        count = 0
        for secret in secrets.only(
            "name", "description", "created_at", "rotated_at", "tenant__slug"
        ):
            count += 1
            changed = secret.rotated_at or secret.created_at
            verb = "rotated" if secret.rotated_at else "created"
            line = f"{secret.tenant.slug}\t{secret.name}\t{verb} {changed:%Y-%m-%d %H:%M}"
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
