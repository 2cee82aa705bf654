"""Replayed deliveries are recognised on every scheme, and outsiders cannot list endpoints."""

import json
import time

import pytest

from automate.events.models import Event
from automate.execution.models import ExecutionRun
from automate.triggers import signatures
from automate.triggers.models import WebhookEndpoint
from automate.webhooks import (
    generic_signature_header,
    github_signature_header,
    stripe_signature_header,
)
from tests.factories import make_published, make_tenant

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "whsec_replay_0123456789"
BODY = json.dumps({"order": "A-1001", "total": 250}).encode()
ECHO_GRAPH = {
    "nodes": [
        {"id": "trigger", "type": "trigger"},
        {"id": "log", "type": "action", "connector": "testkit", "action": "echo"},
    ],
    "edges": [{"source": "trigger", "target": "log"}],
}


@pytest.fixture(autouse=True)
def signing_secret(monkeypatch):
    monkeypatch.setenv("AUTOMATE_HOOK_SECRET", SECRET)


def endpoint(slug, scheme, **kwargs):
    return WebhookEndpoint.objects.create(
        tenant=kwargs.pop("tenant", None) or make_tenant(f"t-{slug}"),
        slug=slug,
        name=slug,
        scheme=scheme,
        secret_name=kwargs.pop("secret_name", "HOOK_SECRET"),
        **kwargs,
    )


def post(client, slug, body=BODY, **headers):
    return client.post(f"/hooks/{slug}/", body, content_type="application/json", headers=headers)


def generic_headers(delivery_id, *, body=BODY, timestamp=None, secret=SECRET):
    return {
        "X-Signature": generic_signature_header(secret, body, delivery_id, timestamp=timestamp),
        "X-Delivery-Id": delivery_id,
    }


# --------------------------------------------------------------------------------------
# Generic scheme: the delivery id and a timestamp are signed
# --------------------------------------------------------------------------------------


def test_a_generic_delivery_and_its_redelivery(client):
    shop = endpoint("shop", "generic", event_type="order.created")
    make_published(
        tenant=shop.tenant,
        trigger_spec={"event_type": "order.created", "source": "shop"},
        graph=ECHO_GRAPH,
        rule_spec={},
    )
    headers = generic_headers("delivery-1")
    first = post(client, "shop", **headers)
    assert first.status_code == 202, first.json()
    again = post(client, "shop", **headers)
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    assert again.json()["id"] == first.json()["id"]
    # The sender's own retry signs again with a fresh timestamp: still one delivery.
    retry = post(client, "shop", **generic_headers("delivery-1", timestamp=int(time.time()) + 5))
    assert (retry.status_code, retry.json()["id"]) == (200, first.json()["id"])
    assert Event.objects.count() == 1
    assert ExecutionRun.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"X-Delivery-Id": "delivery-2"}, "a changed delivery id"),
        ({"X-Delivery-Id": "delivery-1 "}, "a padded delivery id"),
        ({"X-Delivery-Id": None}, "a dropped delivery id"),
        ({"X-Delivery-Id": ""}, "an empty delivery id"),
        ({"X-Signature": None}, "a dropped signature"),
    ],
)
def test_a_captured_generic_delivery_cannot_be_replayed_with_other_headers(client, change, why):
    endpoint("shop", "generic")
    captured = generic_headers("delivery-1")
    assert post(client, "shop", **captured).status_code == 202
    replay = {k: v for k, v in {**captured, **change}.items() if v is not None}
    response = post(client, "shop", **replay)
    assert response.status_code == 401, why
    assert response.json()["code"] == "invalid_signature"
    assert Event.objects.count() == 1


@pytest.mark.parametrize("age", [305, 3600, -305])  # a margin: timestamps are whole seconds
def test_a_generic_delivery_outside_the_tolerance_is_refused(client, age):
    endpoint("shop", "generic")
    old = generic_headers("delivery-9", timestamp=int(time.time()) - age)
    response = post(client, "shop", **old)
    assert response.status_code == 401
    assert Event.objects.count() == 0


def test_generic_endpoint_with_its_own_header_names(client):
    endpoint(
        "erp", "generic", signature_header="X-Erp-Signature", delivery_id_header="X-Erp-Message"
    )
    signature = generic_signature_header(SECRET, BODY, "m-77")
    ok = post(client, "erp", **{"X-Erp-Signature": signature, "X-Erp-Message": "m-77"})
    assert ok.status_code == 202
    changed = post(client, "erp", **{"X-Erp-Signature": signature, "X-Erp-Message": "m-78"})
    assert changed.status_code == 401
    # The default delivery id header does not stand in for the configured one.
    default = post(client, "erp", **{"X-Erp-Signature": signature, "X-Delivery-Id": "m-77"})
    assert default.status_code == 401
    assert Event.objects.count() == 1


# --------------------------------------------------------------------------------------
# GitHub: the delivery id is required, and dedupe uses the signed body
# --------------------------------------------------------------------------------------


def github_headers(delivery_id, body=BODY):
    headers = {
        "X-Hub-Signature-256": github_signature_header(SECRET, body),
        "X-GitHub-Event": "push",
    }
    if delivery_id is not None:
        headers["X-GitHub-Delivery"] = delivery_id
    return headers


@pytest.mark.parametrize("delivery_id", [None, ""])
def test_a_github_delivery_without_a_delivery_id_is_a_400(client, delivery_id):
    endpoint("gh", "github")
    response = post(client, "gh", **github_headers(delivery_id))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "missing_delivery_id"
    assert "X-GitHub-Delivery" in body["message"]
    assert set(body) == {"code", "message", "details", "trace_id"}
    assert Event.objects.count() == 0


@pytest.mark.parametrize("replayed_id", ["d-2", "d-1-replayed", "x" * 400])
def test_a_github_delivery_replayed_under_another_delivery_id_is_a_duplicate(client, replayed_id):
    gh = endpoint("gh", "github")
    make_published(
        tenant=gh.tenant, trigger_spec={"event_type": "github.push"}, graph=ECHO_GRAPH, rule_spec={}
    )
    first = post(client, "gh", **github_headers("d-1"))
    assert first.status_code == 202
    replay = post(client, "gh", **github_headers(replayed_id))
    assert (replay.status_code, replay.json()["duplicate"]) == (200, True)
    assert replay.json()["id"] == first.json()["id"]
    assert ExecutionRun.objects.count() == 1
    # A different delivery (another body) is a new event.
    other = json.dumps({"order": "A-1002"}).encode()
    assert post(client, "gh", other, **github_headers("d-3", other)).status_code == 202
    assert Event.objects.count() == 2


def test_a_github_endpoint_can_name_its_delivery_header(client):
    endpoint("gh", "github", delivery_id_header="X-Proxy-Delivery")
    headers = github_headers(None)
    missing = post(client, "gh", **{**headers, "X-GitHub-Delivery": "d-1"})
    assert missing.status_code == 400
    assert "X-Proxy-Delivery" in missing.json()["message"]
    assert post(client, "gh", **{**headers, "X-Proxy-Delivery": "d-1"}).status_code == 202


# --------------------------------------------------------------------------------------
# Stripe: the event id in the signed body is the delivery id
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "invoice.paid"},
        {"id": "", "type": "invoice.paid"},
        {"id": 42, "type": "invoice.paid"},
        {"id": None, "type": "invoice.paid"},
    ],
)
def test_a_stripe_event_without_an_id_is_a_400(client, payload):
    endpoint("stripe", "stripe")
    body = json.dumps(payload).encode()
    response = post(
        client, "stripe", body, **{"Stripe-Signature": stripe_signature_header(SECRET, body)}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "missing_delivery_id"
    assert "id" in response.json()["message"]
    assert Event.objects.count() == 0


def test_a_stripe_header_cannot_override_the_signed_event_id(client):
    endpoint("stripe", "stripe", delivery_id_header="X-Delivery-Id")
    body = json.dumps({"id": "evt_1", "type": "invoice.paid"}).encode()
    signed = {"Stripe-Signature": stripe_signature_header(SECRET, body)}
    assert post(client, "stripe", body, **signed, **{"X-Delivery-Id": "a"}).status_code == 202
    replay = post(client, "stripe", body, **signed, **{"X-Delivery-Id": "b"})
    assert replay.json()["duplicate"] is True
    assert Event.objects.count() == 1


# --------------------------------------------------------------------------------------
# Unknown, inactive, misconfigured and badly signed: one answer
# --------------------------------------------------------------------------------------


def _setups(monkeypatch):
    # One tenant: the site stays single-tenant, so the env signing secret needs no grant.
    tenant = make_tenant("probed")
    endpoint("known-stripe", "stripe", tenant=tenant)
    endpoint("known-github", "github", tenant=tenant)
    endpoint("known-generic", "generic", tenant=tenant)
    endpoint("inactive", "generic", is_active=False, tenant=tenant)
    endpoint("no-secret", "generic", secret_name="NOT_SET_ANYWHERE", tenant=tenant)
    endpoint("bad-scheme", "md5", tenant=tenant)
    monkeypatch.delenv("AUTOMATE_NOT_SET_ANYWHERE", raising=False)


ATTEMPTS = {
    "stripe-style": {"Stripe-Signature": stripe_signature_header("guess", BODY)},
    "github-style": {
        "X-Hub-Signature-256": github_signature_header("guess", BODY),
        "X-GitHub-Delivery": "d",
    },
    "generic-style": generic_headers("d", secret="guess"),
    "unsigned": {},
}
SLUGS = [
    "never-created",
    "inactive",
    "no-secret",
    "bad-scheme",
    "known-stripe",
    "known-github",
    "known-generic",
]


def test_outsiders_get_the_same_answer_whatever_the_endpoint(client, monkeypatch):
    _setups(monkeypatch)
    answers = set()
    for slug in SLUGS:
        for style, headers in ATTEMPTS.items():
            response = post(client, slug, **headers)
            body = response.json()
            assert set(body) == {"code", "message", "details", "trace_id"}, (slug, style)
            answers.add(
                (response.status_code, body["code"], body["message"], json.dumps(body["details"]))
            )
    assert len(answers) == 1, answers
    assert answers.pop()[:2] == (401, "invalid_signature")
    assert Event.objects.count() == 0


def test_an_oversized_body_gets_the_same_answer_for_known_and_unknown_names(client, monkeypatch):
    _setups(monkeypatch)
    big = b'{"x": "' + b"a" * 300_000 + b'"}'
    statuses = {post(client, slug, big).status_code for slug in SLUGS}
    assert statuses == {413}


@pytest.mark.parametrize("style", list(ATTEMPTS))
def test_unknown_names_cost_the_same_signature_work_as_known_ones(client, monkeypatch, style):
    _setups(monkeypatch)
    calls = []
    real = signatures._hex_hmac
    monkeypatch.setattr(
        signatures,
        "_hex_hmac",
        lambda secret, message: calls.append(len(message)) or real(secret, message),
    )
    known = {"stripe-style": "known-stripe", "github-style": "known-github"}.get(
        style, "known-generic"
    )
    work = {}
    for slug in [known, "never-created", "inactive", "no-secret"]:
        calls.clear()
        post(client, slug, **ATTEMPTS[style])
        work[slug] = list(calls)
    assert len({json.dumps(w) for w in work.values()}) == 1, work


def test_a_real_sender_still_gets_through_after_the_probing(client, monkeypatch):
    _setups(monkeypatch)
    for slug in SLUGS:
        post(client, slug, **ATTEMPTS["generic-style"])
    assert post(client, "known-generic", **generic_headers("fresh")).status_code == 202


def test_unknown_names_cost_the_same_secret_lookup_as_known_ones(client, monkeypatch):
    _setups(monkeypatch)
    from automate.governance import secrets as secrets_module

    looked_up = []
    real = secrets_module.get_backend

    def counting_backend():
        backend = real()
        looked_up.append(type(backend).__name__)
        return backend

    monkeypatch.setattr(secrets_module, "get_backend", counting_backend)
    for slug in ["known-generic", "never-created", "inactive"]:
        looked_up.clear()
        post(client, slug, **ATTEMPTS["generic-style"])
        assert len(looked_up) == 1, slug
