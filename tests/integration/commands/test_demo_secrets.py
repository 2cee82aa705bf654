"""The demo signs its sample webhook with the stripe endpoint's tenant's secret."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from automate.governance import http
from automate.webhooks import stripe_signature_header
from tests.factories import make_tenant

pytestmark = pytest.mark.django_db

SECRET = "whsec_demo_test_secret_1234"


@pytest.fixture
def demo(tmp_path, settings, monkeypatch):
    settings.VAR_DIR = tmp_path
    monkeypatch.setenv("AUTOMATE_STRIPE_WEBHOOK_SECRET", SECRET)
    # DJANGO_DEBUG=1 sets it in the site's settings; publishing checks the secret exists.
    monkeypatch.setenv("AUTOMATE_SLACK_TOKEN", "xoxb-demo-sandbox-not-a-real-token")
    sent = []

    class Answer:
        status_code = 202
        text = "{}"

    def fake_request(method, url, *, content, headers, **kwargs):
        sent.append((url, content, headers))
        return Answer()

    monkeypatch.setattr(http, "safe_request", fake_request)
    with override_settings(DEBUG=True):
        call_command("automate_demo", stdout=StringIO())
        yield sent


def test_the_demo_signs_with_the_endpoint_tenant_secret(demo):
    with override_settings(DEBUG=True):
        call_command("automate_demo", "--send-invoice", "2500", stdout=StringIO())
    [(url, body, headers)] = demo
    assert url.endswith("/hooks/stripe/")
    timestamp = headers["Stripe-Signature"].split(",")[0].removeprefix("t=")
    assert headers["Stripe-Signature"] == stripe_signature_header(
        SECRET, body, timestamp=int(timestamp)
    )


def test_a_second_tenant_needs_the_grant_for_the_demo_secret(demo):
    make_tenant("other")
    with override_settings(DEBUG=True), pytest.raises(CommandError, match="env_grants"):
        call_command("automate_demo", "--send-invoice", "2500", stdout=StringIO())
    assert demo == []
    granted = {"SECRETS": {"env_grants": {"default": ["STRIPE_WEBHOOK_SECRET"]}}}
    with override_settings(DEBUG=True, DJANGO_AUTOMATE=granted):
        call_command("automate_demo", "--send-invoice", "2500", stdout=StringIO())
    assert len(demo) == 1


def test_with_the_db_backend_the_demo_stores_its_sandbox_secrets_once(
    tmp_path, settings, monkeypatch
):
    """A site on the ``db`` secrets backend gets a working demo: its workflow publishes
    (its Slack token resolves) and its sample invoice is signed with the stored secret."""
    from cryptography.fernet import Fernet

    from automate.governance.models import AuditLogEntry, StoredSecret
    from automate.secrets import resolve
    from automate.workflows.models import Workflow

    settings.VAR_DIR = tmp_path
    monkeypatch.setenv("AUTOMATE_SECRETS_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("AUTOMATE_STRIPE_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("AUTOMATE_SLACK_TOKEN", "xoxb-demo-sandbox-not-a-real-token")
    db_backend = {"SECRETS": {"backend": "db"}}
    with override_settings(DEBUG=True, DJANGO_AUTOMATE=db_backend):
        out = StringIO()
        call_command("automate_demo", stdout=out)
        call_command("automate_demo", stdout=StringIO())  # again: nothing stored twice
        assert Workflow.objects.get(slug="invoice-paid-to-slack").live_version is not None
        assert resolve({"$secret": "STRIPE_WEBHOOK_SECRET"}) == SECRET
    assert sorted(StoredSecret.objects.values_list("name", flat=True)) == [
        "SLACK_TOKEN",
        "STRIPE_WEBHOOK_SECRET",
    ]
    assert "Stored the demo's SLACK_TOKEN" in out.getvalue()
    assert SECRET not in out.getvalue()
    created = AuditLogEntry.objects.filter(action="secret.create")
    assert created.count() == 2
    assert SECRET not in str(list(created.values()))
