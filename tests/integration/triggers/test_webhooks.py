import json
import time

import pytest
from django.test import override_settings

from automate.events.models import Event
from automate.execution.models import ExecutionRun
from automate.governance.models import RateLimitWindow
from automate.triggers.models import WebhookEndpoint
from automate.webhooks import github_signature_header, stripe_signature_header
from tests.factories import make_published, make_tenant

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "whsec_0123456789abcdef"
INVOICE = {
    "id": "evt_1NqLyj",
    "type": "invoice.paid",
    "data": {"object": {"id": "in_1", "amount_paid": 125000, "currency": "usd"}},
}


@pytest.fixture(autouse=True)
def signing_secret(monkeypatch):
    monkeypatch.setenv("AUTOMATE_STRIPE_WEBHOOK_SECRET", SECRET)


@pytest.fixture
def stripe_endpoint():
    return WebhookEndpoint.objects.create(
        tenant=make_tenant("acme"),
        slug="stripe",
        name="Stripe",
        scheme="stripe",
        secret_name="STRIPE_WEBHOOK_SECRET",
        source="stripe",
    )


def post_stripe(client, payload, *, secret=SECRET, timestamp=None, slug="stripe", headers=None):
    body = json.dumps(payload).encode()
    signature = stripe_signature_header(secret, body, timestamp=timestamp)
    return client.post(
        f"/hooks/{slug}/",
        body,
        content_type="application/json",
        headers={"Stripe-Signature": signature, **(headers or {})},
    )


def test_a_signed_stripe_webhook_becomes_an_event_and_starts_the_workflow(client, stripe_endpoint):
    make_published(
        slug="big-invoices",
        tenant=stripe_endpoint.tenant,
        trigger_spec={"event_type": "invoice.paid", "source": "stripe"},
        rule_spec={">": [{"var": "data.object.amount_paid"}, 1000]},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {"id": "log", "type": "action", "connector": "testkit", "action": "echo"},
            ],
            "edges": [{"source": "trigger", "target": "log"}],
        },
    )
    response = post_stripe(
        client,
        INVOICE,
        headers={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
    )

    assert response.status_code == 202
    body = response.json()
    assert body["type"] == "invoice.paid"
    assert body["duplicate"] is False
    event = Event.objects.get(pk=body["id"])
    assert (event.source, event.tenant.slug, event.payload) == ("stripe", "acme", INVOICE)
    assert event.raw_body is None  # raw bodies are unredacted: kept only when asked for
    assert event.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    run = ExecutionRun.objects.get()
    assert run.status == "succeeded"
    assert run.trace_id == event.trace_id


@override_settings(DJANGO_AUTOMATE={"EVENTS": {"keep_raw_body": True}})
def test_the_raw_body_is_kept_when_the_setting_asks_for_it(client, stripe_endpoint):
    response = post_stripe(client, INVOICE)
    event = Event.objects.get(pk=response.json()["id"])
    assert bytes(event.raw_body) == json.dumps(INVOICE).encode()


def test_a_redelivery_is_deduplicated(client, stripe_endpoint):
    first = post_stripe(client, INVOICE)
    again = post_stripe(client, INVOICE)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["id"] == first.json()["id"]
    assert Event.objects.count() == 1


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"secret": "whsec_wrong"}, "wrong secret"),
        ({"timestamp": int(time.time()) - 301}, "too old"),
    ],
)
def test_a_bad_signature_gets_401_and_stores_nothing(client, stripe_endpoint, kwargs, reason):
    response = post_stripe(client, INVOICE, **kwargs)
    assert response.status_code == 401, reason
    assert response.json()["code"] == "invalid_signature"
    assert Event.objects.count() == 0


def test_unsigned_and_unknown_and_malformed(client, stripe_endpoint):
    unsigned = client.post("/hooks/stripe/", json.dumps(INVOICE), content_type="application/json")
    assert unsigned.status_code == 401
    assert client.post("/hooks/nope/", "{}", content_type="application/json").status_code == 401
    assert client.get("/hooks/stripe/").status_code == 405
    body = b"{not json"
    bad = client.post(
        "/hooks/stripe/",
        body,
        content_type="application/json",
        headers={"Stripe-Signature": stripe_signature_header(SECRET, body)},
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "malformed_request"
    assert Event.objects.count() == 0


def test_github_deliveries_use_the_event_header_and_delivery_id(client):
    WebhookEndpoint.objects.create(
        tenant=make_tenant(),
        slug="gh",
        name="GitHub",
        scheme="github",
        secret_name="STRIPE_WEBHOOK_SECRET",
    )
    body = json.dumps({"action": "opened", "number": 7}).encode()
    headers = {
        "X-Hub-Signature-256": github_signature_header(SECRET, body),
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": "d-1",
    }
    response = client.post("/hooks/gh/", body, content_type="application/json", headers=headers)
    assert response.status_code == 202
    assert response.json()["type"] == "github.pull_request.opened"
    assert (
        client.post("/hooks/gh/", body, content_type="application/json", headers=headers).json()[
            "duplicate"
        ]
        is True
    )


def test_a_misconfigured_endpoint_answers_like_a_bad_signature(
    client, stripe_endpoint, monkeypatch, caplog
):
    monkeypatch.delenv("AUTOMATE_STRIPE_WEBHOOK_SECRET")
    response = post_stripe(client, INVOICE)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_signature"
    assert Event.objects.count() == 0
    # The operator still learns why, from the log (never the secret's value).
    assert "STRIPE_WEBHOOK_SECRET" in caplog.text
    assert "cannot be resolved" in caplog.text


@override_settings(
    DJANGO_AUTOMATE={"WORKER_MODE": "process", "POLICY": {"webhook_rate_limit_per_minute": 3}}
)
def test_the_rate_limit_answers_429_with_retry_after(client, stripe_endpoint):
    statuses = [post_stripe(client, {**INVOICE, "id": f"evt_{i}"}).status_code for i in range(5)]
    assert statuses == [202, 202, 202, 429, 429]
    limited = post_stripe(client, {**INVOICE, "id": "evt_9"})
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert limited.json()["code"] == "rate_limited"
    assert Event.objects.count() == 3
    assert RateLimitWindow.objects.get().count == 6


@override_settings(
    DJANGO_AUTOMATE={"WORKER_MODE": "process", "POLICY": {"webhook_rate_limit_per_minute": 2}}
)
def test_unsigned_requests_do_not_use_up_the_tenants_quota(client, stripe_endpoint):
    for _ in range(5):
        forged = client.post(
            "/hooks/stripe/",
            json.dumps(INVOICE),
            content_type="application/json",
            headers={"Stripe-Signature": "t=1,v1=" + "0" * 64},
        )
        assert forged.status_code == 401
    assert post_stripe(client, INVOICE).status_code == 202
