"""``automate_demo --send-invoice`` sends a delivery the webhook endpoint accepts (signed,
timestamped, with its delivery id in the signed body).

The command's HTTP call is handed to the test client (the request it builds is sent
as is), so the endpoint under test is the real view with the real checks."""

import json
import re
from io import StringIO
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from automate.events.models import Event
from automate.governance import http
from automate.triggers.models import WebhookEndpoint
from tests.factories import make_tenant

pytestmark = pytest.mark.django_db

SECRET = "whsec_demo_sender_test"


@pytest.fixture
def site(monkeypatch, settings):
    """Route the command's POST to the test client; returns the requests it sent."""
    settings.SITE_URL = "http://testserver"
    sent = []

    def through_test_client(method, url, *, content, headers, raise_for_status):
        assert (method, raise_for_status) == ("POST", False)
        sent.append(headers)
        response = Client().post(
            urlsplit(url).path, content, content_type=headers["Content-Type"], headers=headers
        )
        return SimpleNamespace(status_code=response.status_code, text=response.content.decode())

    monkeypatch.setattr(http, "safe_request", through_test_client)
    return sent


@pytest.fixture
def endpoint(monkeypatch):
    monkeypatch.setenv("AUTOMATE_STRIPE_WEBHOOK_SECRET", SECRET)
    return WebhookEndpoint.objects.create(
        tenant=make_tenant("demo"),
        slug="stripe",
        name="Stripe (demo)",
        scheme="stripe",
        secret_name="STRIPE_WEBHOOK_SECRET",
        source="stripe",
    )


def send(cents):
    out = StringIO()
    call_command("automate_demo", "--send-invoice", str(cents), "--force", stdout=out)
    [(status, body)] = re.findall(r"-> (\d{3}) (\{.*\})", out.getvalue())
    return int(status), json.loads(body)


def test_demo_invoices_are_accepted_and_a_refusal_fails_the_command(site, endpoint, monkeypatch):
    first, second = send(4321), send(999)
    assert (first[0], second[0]) == (202, 202)
    assert first[1]["duplicate"] is False
    assert first[1]["id"] != second[1]["id"]
    amounts = sorted(e.payload["data"]["object"]["amount_paid"] for e in Event.objects.all())
    assert amounts == [999, 4321]
    assert all(e.dedupe_key.startswith("hook:stripe:evt_demo_") for e in Event.objects.all())
    assert all(re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", h["Stripe-Signature"]) for h in site)

    # Sender and site share one environment here, so the site is made to disagree.
    # (Stripe deliveries are verified by the stripe connector's trigger.)
    monkeypatch.setattr(
        "automate.connectors.builtins.stripe.StripeConnector.verify_webhook",
        lambda *args, **kwargs: False,
    )
    with pytest.raises(CommandError, match=r"refused the invoice webhook.*-> 401.*invalid_sig"):
        call_command("automate_demo", "--send-invoice", "100", "--force", stdout=StringIO())
    assert Event.objects.count() == 2
