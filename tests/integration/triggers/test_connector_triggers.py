"""Connector triggers at /hooks/<slug>/: Stripe, GitHub and Slack verified by their
connectors with real signatures (good, bad, replayed, outside the tolerance)."""

import json
import time

import pytest

from automate.connectors import all_triggers, find_trigger
from automate.events.models import Event
from automate.triggers.models import WebhookDelivery, WebhookEndpoint
from automate.webhooks import (
    github_signature_header,
    slack_signature_headers,
    stripe_signature_header,
)
from tests.factories import make_tenant

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "whsec_connector_triggers_0123456789"


@pytest.fixture(autouse=True)
def signing_secret(monkeypatch):
    monkeypatch.setenv("AUTOMATE_HOOK_SECRET", SECRET)


def endpoint(scheme):
    return WebhookEndpoint.objects.create(
        tenant=make_tenant(f"t-{scheme}"),
        slug=scheme,
        name=scheme,
        scheme=scheme,
        secret_name="HOOK_SECRET",
    )


def post(client, slug, body, headers):
    return client.post(f"/hooks/{slug}/", body, content_type="application/json", headers=headers)


def results(slug):
    return list(
        WebhookDelivery.objects.filter(endpoint__slug=slug)
        .order_by("id")
        .values_list("result", flat=True)
    )


def test_the_built_in_triggers_are_registered_connector_triggers():
    schemes = {t.scheme: t for t in all_triggers()}
    assert {"stripe", "github", "slack"} <= set(schemes)
    assert schemes["slack"].adapter.code == "slack"
    assert schemes["slack"].spec.verification_method == "Slack signing secret (v0)"
    for scheme in ("stripe", "github", "slack"):
        assert schemes[scheme].spec.sample_payload  # offered as the trigger's sample
    assert find_trigger("generic") is None


# --- Slack ---------------------------------------------------------------------------


SLACK_BODY = json.dumps(
    {"type": "event_callback", "event_id": "Ev01", "event": {"type": "app_mention", "text": "hi"}}
).encode()


def test_slack_good_delivery_is_recorded_as_its_event_type(client):
    endpoint("slack")
    response = post(client, "slack", SLACK_BODY, slack_signature_headers(SECRET, SLACK_BODY))
    assert response.status_code == 202, response.content
    event = Event.objects.get(pk=response.json()["id"])
    assert (event.type, event.source, event.payload["event"]["text"]) == (
        "slack.app_mention",
        "slack",
        "hi",
    )


def test_slack_bad_signature_wrong_secret_and_tampered_body_are_refused(client):
    endpoint("slack")
    wrong = slack_signature_headers("not-the-signing-secret", SLACK_BODY)
    assert post(client, "slack", SLACK_BODY, wrong).status_code == 401
    good = slack_signature_headers(SECRET, SLACK_BODY)
    tampered = SLACK_BODY.replace(b"hi", b"ho")
    assert post(client, "slack", tampered, good).status_code == 401
    no_prefix = {**good, "X-Slack-Signature": good["X-Slack-Signature"][3:]}
    assert post(client, "slack", SLACK_BODY, no_prefix).status_code == 401
    assert post(client, "slack", SLACK_BODY, {}).status_code == 401
    assert not Event.objects.exists()
    assert results("slack") == ["invalid_signature"] * 4


def test_slack_outside_the_five_minute_tolerance_is_refused(client):
    endpoint("slack")
    now = int(time.time())
    old = slack_signature_headers(SECRET, SLACK_BODY, timestamp=now - 301)
    future = slack_signature_headers(SECRET, SLACK_BODY, timestamp=now + 301)
    assert post(client, "slack", SLACK_BODY, old).status_code == 401
    assert post(client, "slack", SLACK_BODY, future).status_code == 401
    within = slack_signature_headers(SECRET, SLACK_BODY, timestamp=now - 240)
    assert post(client, "slack", SLACK_BODY, within).status_code == 202
    assert Event.objects.count() == 1


def test_slack_replayed_delivery_and_slack_retry_start_nothing_new(client):
    endpoint("slack")
    headers = slack_signature_headers(SECRET, SLACK_BODY)
    first = post(client, "slack", SLACK_BODY, headers)
    replay = post(client, "slack", SLACK_BODY, headers)
    # Slack's own retry: a new signature, the same event_id.
    retry = post(
        client,
        "slack",
        SLACK_BODY,
        {
            **slack_signature_headers(SECRET, SLACK_BODY, timestamp=int(time.time()) + 3),
            "X-Slack-Retry-Num": "1",
        },
    )
    assert first.status_code == 202
    assert (replay.status_code, replay.json()["duplicate"]) == (200, True)
    assert (retry.status_code, retry.json()["id"]) == (200, first.json()["id"])
    assert Event.objects.count() == 1


def test_slack_url_verification_is_answered_with_its_challenge(client):
    endpoint("slack")
    body = json.dumps({"type": "url_verification", "challenge": "3eZbrw1aB"}).encode()
    response = post(client, "slack", body, slack_signature_headers(SECRET, body))
    assert (response.status_code, response.json()) == (200, {"challenge": "3eZbrw1aB"})
    assert not Event.objects.exists()
    forged = post(client, "slack", body, slack_signature_headers("nope", body))
    assert forged.status_code == 401


# --- Stripe and GitHub behind the connector interface ----------------------------------


STRIPE_BODY = json.dumps({"id": "evt_77", "type": "invoice.paid", "data": {}}).encode()


def test_stripe_through_its_connector(client):
    endpoint("stripe")
    now = int(time.time())
    good = {"Stripe-Signature": stripe_signature_header(SECRET, STRIPE_BODY, timestamp=now)}
    bad = {"Stripe-Signature": stripe_signature_header("whsec_other", STRIPE_BODY)}
    old = {"Stripe-Signature": stripe_signature_header(SECRET, STRIPE_BODY, timestamp=now - 301)}
    assert post(client, "stripe", STRIPE_BODY, bad).status_code == 401
    assert post(client, "stripe", STRIPE_BODY, old).status_code == 401
    first = post(client, "stripe", STRIPE_BODY, good)
    assert first.status_code == 202, first.content
    assert Event.objects.get().type == "invoice.paid"
    replay = post(client, "stripe", STRIPE_BODY, good)
    assert (replay.status_code, replay.json()["duplicate"]) == (200, True)
    assert results("stripe") == ["invalid_signature", "invalid_signature", "verified", "duplicate"]


def test_github_through_its_connector(client):
    endpoint("github")
    body = json.dumps({"action": "opened", "issue": {"number": 1}}).encode()
    headers = {
        "X-Hub-Signature-256": github_signature_header(SECRET, body),
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": "d-1",
    }
    bad = {**headers, "X-Hub-Signature-256": github_signature_header("other", body)}
    assert post(client, "github", body, bad).status_code == 401
    first = post(client, "github", body, headers)
    assert first.status_code == 202, first.content
    assert Event.objects.get().type == "github.issues.opened"
    # GitHub's delivery id is unsigned: a replay under another id is still the same body.
    replay = post(client, "github", body, {**headers, "X-GitHub-Delivery": "d-2"})
    assert (replay.status_code, replay.json()["id"]) == (200, first.json()["id"])
    no_id = {k: v for k, v in headers.items() if k != "X-GitHub-Delivery"}
    assert post(client, "github", body, no_id).json()["code"] == "missing_delivery_id"


def test_an_endpoint_whose_connector_trigger_is_gone_refuses_deliveries(client, caplog):
    endpoint("slack")
    WebhookEndpoint.objects.filter(slug="slack").update(scheme="gone.events")
    response = post(client, "slack", SLACK_BODY, slack_signature_headers(SECRET, SLACK_BODY))
    assert response.status_code == 401
    assert "no registered connector has the trigger scheme 'gone.events'" in caplog.text
