"""Load the demo: a superuser with a generated password, a published workflow, sample events.

Development only: refuses to run with DEBUG off unless ``--force`` is given, and never uses a
fixed password. The generated one is kept in ``var/demo_credentials`` and set once, when the
demo user is created (or the file is made anew): restarts of ``make run`` leave the user's
password, and so every browser's session, alone.

The demo talks to the site at ``settings.SITE_URL`` (``AUTOMATE_SITE_URL``; ``make run
PORT=8123`` sets it to the port it serves on).
"""

from __future__ import annotations

import json
import os
import secrets
from importlib import resources
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction

from automate.events.services import record_event
from automate.exceptions import AutomateError
from automate.tenants.services import get_default_tenant
from automate.triggers.models import WebhookEndpoint
from automate.workflows.models import Workflow
from automate.workflows.services import create_workflow, publish_version

#: The secrets the demo's workflow and webhook endpoint use (sandbox values, DEBUG only:
#: backend/config/settings.py sets them as AUTOMATE_<NAME> in the environment).
DEMO_SECRETS = ("SLACK_TOKEN", "STRIPE_WEBHOOK_SECRET")

DEMO_USERNAME = "demo"
DEMO_EMAIL = "demo@example.com"


def demo_value(user_model: Any, field_name: str) -> str:
    """A value for the demo user's ``field_name``: an address for an email field."""
    field = user_model._meta.get_field(field_name)
    return DEMO_EMAIL if isinstance(field, models.EmailField) else DEMO_USERNAME


def demo_login(user_model: Any) -> str:
    """What the demo user logs in with: ``demo``, or ``demo@example.com`` when the user
    model's ``USERNAME_FIELD`` is an email field."""
    return demo_value(user_model, user_model.USERNAME_FIELD)


def _credentials_file() -> Path:
    return Path(getattr(settings, "VAR_DIR", Path("var"))) / "demo_credentials"


def _demo_password() -> tuple[str, bool]:
    """The demo password and whether it was generated just now."""
    path = _credentials_file()
    if path.exists():
        return path.read_text().strip(), False
    password = secrets.token_urlsafe(12)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(password)
    path.chmod(0o600)
    return password, True


def site_url() -> str:
    """The running site's own address, without a trailing slash."""
    return str(getattr(settings, "SITE_URL", "http://127.0.0.1:8000")).rstrip("/")


def sample_invoice(number: int, amount_paid: int) -> dict[str, Any]:
    """A Stripe-shaped ``invoice.paid`` event body."""
    return {
        "id": f"evt_demo_{number:04d}",
        "type": "invoice.paid",
        "data": {
            "object": {
                "id": f"in_demo_{number:04d}",
                "customer": f"cus_demo_{number % 3}",
                "customer_email": f"customer{number % 3}@example.com",
                "amount_paid": amount_paid,
                "currency": "usd",
            }
        },
    }


class Command(BaseCommand):
    help = "Create the demo user, the demo workflow (published) and a few sample events."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (not for production)."
        )
        parser.add_argument(
            "--send-invoice",
            type=int,
            metavar="CENTS",
            help="Send a signed Stripe-style invoice.paid webhook of this amount to the running "
            "site (settings.SITE_URL): a fresh event id (the delivery id) and a current "
            "signed timestamp, so it is never taken for a replay. Prints the answer; fails "
            "when the site refuses it.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError("automate_demo is for development; set DJANGO_DEBUG=1 or --force.")
        if options["send_invoice"] is not None:
            self._send_invoice(options["send_invoice"])
            return
        password, generated = _demo_password()
        with transaction.atomic():
            user, password_set = self._ensure_user(password, reset=generated)
            self._ensure_stored_secrets(user)
            workflow = self._ensure_workflow(user)
            WebhookEndpoint.objects.get_or_create(
                slug="stripe",
                defaults={
                    "tenant": get_default_tenant(),
                    "name": "Stripe (demo)",
                    "scheme": WebhookEndpoint.Scheme.STRIPE,
                    "secret_name": "STRIPE_WEBHOOK_SECRET",
                    "source": "stripe",
                },
            )
            new_events = sum(
                record_event(
                    type="invoice.paid",
                    source="stripe",
                    payload=sample_invoice(n, amount),
                    dedupe_key=f"evt_demo_{n:04d}",
                )[1]
                for n, amount in enumerate([2500, 400, 125000, 999, 1800], start=1)
            )
        live = workflow.live_version
        assert live is not None
        self.stdout.write(f"Demo workflow: {workflow.name} (live v{live.version_num})")
        self.stdout.write(f"Sample events added: {new_events}")
        login = demo_login(get_user_model())
        if password_set:
            self.stdout.write(self.style.SUCCESS(f"Log in as  {login} / {password}"))
        else:
            # Changed since (admin, changepassword): theirs stands, and it is not ours to show.
            self.stdout.write(
                self.style.WARNING(
                    f"Log in as  {login}  with the password you set. To go back to a "
                    f"generated one, delete {_credentials_file()} and run the demo again."
                )
            )
        self.stdout.write(f"Site: {site_url()}/")
        self.stdout.write(
            f"Send a test invoice: AUTOMATE_SITE_URL={site_url()} DJANGO_DEBUG=1 "
            "PYTHONPATH=backend .venv/bin/python manage.py automate_demo --send-invoice 4200"
        )

    def _send_invoice(self, cents: int) -> None:
        from automate.governance.http import safe_request
        from automate.secrets import resolve
        from automate.webhooks import stripe_signature_header

        number = secrets.randbelow(9000) + 1000
        body = json.dumps(sample_invoice(number, cents)).encode()
        endpoint = WebhookEndpoint.objects.select_related("tenant").filter(slug="stripe").first()
        if endpoint is None:
            raise CommandError("No demo webhook endpoint: run automate_demo first.")
        try:
            # The endpoint's tenant's signing secret, exactly as the endpoint verifies it.
            secret = resolve({"$secret": endpoint.secret_name}, tenant=endpoint.tenant)
        except AutomateError as exc:
            raise CommandError(exc.message) from exc
        signature = stripe_signature_header(secret, body)
        url = f"{site_url()}/hooks/stripe/"
        try:
            response = safe_request(
                "POST",
                url,
                content=body,
                headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
                raise_for_status=False,
            )
        except AutomateError as exc:
            raise CommandError(
                f"Could not deliver the invoice webhook to {url}: {exc.message} Is the site "
                "running there? The demo posts to AUTOMATE_SITE_URL (now "
                f"{site_url()}); for a site served with `make run PORT=8123`, run this "
                "command with AUTOMATE_SITE_URL=http://127.0.0.1:8123."
            ) from exc
        answer = f"POST {url} -> {response.status_code} {response.text}"
        if response.status_code >= 400:
            # 401: the signing secret differs from the site's, or the clocks are more than
            # the signature tolerance (300 s) apart; see docs/howto/webhooks.md.
            raise CommandError(f"The site refused the invoice webhook: {answer}")
        self.stdout.write(answer)

    def _ensure_user(self, password: str, *, reset: bool) -> tuple[Any, bool]:
        """The demo superuser, and whether its password is ``password``.

        The password is set only for a new user or a new credentials file: setting it
        again (a new salt, a new hash) would sign every browser out on each restart.
        """
        User = get_user_model()
        login = demo_login(User)
        user = User._default_manager.filter(**{User.USERNAME_FIELD: login}).first()
        created = user is None
        if user is None:
            user = User(**{User.USERNAME_FIELD: login})
            for name in User.REQUIRED_FIELDS:  # e.g. auth.User's email
                if not getattr(user, name, None):
                    setattr(user, name, demo_value(User, name))
        # A superuser holds every permission: the studio's (use_studio, change_workflow,
        # publish_workflow, operate_run) and the admin's.
        user.is_staff = True
        user.is_superuser = True
        if created or reset:
            user.set_password(password)
            user.save()
            return user, True
        user.save()
        return user, user.check_password(password)

    def _ensure_stored_secrets(self, user: Any) -> None:
        """With the ``db`` secrets backend, the demo's sandbox secrets (the Slack token and
        the Stripe signing secret, the development values of the settings) are stored as
        the default tenant's secrets, once; the ``env`` backend reads them from the
        environment the settings prepared."""
        from automate.governance.models import StoredSecret
        from automate.governance.secret_store import DatabaseSecretsBackend, create_secret
        from automate.governance.secrets import get_backend

        if not isinstance(get_backend(), DatabaseSecretsBackend):
            return
        tenant = get_default_tenant()
        for name in DEMO_SECRETS:
            value = os.environ.get(f"AUTOMATE_{name}", "")
            if value and not StoredSecret.objects.filter(tenant=tenant, name=name).exists():
                create_secret(name, value, tenant=tenant, actor=user, description="demo sandbox")
                self.stdout.write(f"Stored the demo's {name} as a secret of {tenant.slug!r}.")

    def _ensure_workflow(self, user: Any) -> Workflow:
        definition = json.loads(
            resources.files("automate.demo").joinpath("invoice_paid_to_slack.json").read_text()
        )
        tenant = get_default_tenant()
        existing = Workflow.objects.filter(tenant=tenant, slug=definition["slug"]).first()
        if existing is not None:
            return existing
        workflow = create_workflow(
            name=definition["name"],
            slug=definition["slug"],
            description=definition["description"],
            tenant=tenant,
            trigger_spec=definition["trigger_spec"],
            rule_spec=definition["rule_spec"],
            graph=definition["graph"],
            created_by=user,
        )
        publish_version(workflow=workflow, published_by=user, notes="Demo workflow")
        workflow.refresh_from_db()
        return workflow
