"""The cases seen in issue 9, at their real sizes and with the default settings."""

import json

import pytest
from channels.db import database_sync_to_async

from automate.events.models import Event
from automate.triggers.models import WebhookEndpoint
from automate.webhooks import stripe_signature_header
from tests.factories import make_studio_user, make_tenant, make_user

SECRET = "whsec_seen_0123456789"


def error_shape(response):
    body = response.json()
    assert set(body) == {"code", "message", "details", "trace_id"}
    return body


@pytest.fixture
def api_client(client, db):
    user = make_user(superuser=True)
    client.force_login(user)
    return client


@pytest.fixture
def stripe(db, monkeypatch):
    monkeypatch.setenv("AUTOMATE_STRIPE_WEBHOOK_SECRET", SECRET)
    return WebhookEndpoint.objects.create(
        tenant=make_tenant("acme"),
        slug="stripe",
        name="Stripe",
        scheme="stripe",
        secret_name="STRIPE_WEBHOOK_SECRET",
        source="stripe",
    )


def post_signed(client, body: bytes):
    return client.post(
        "/hooks/stripe/",
        body,
        content_type="application/json",
        headers={"Stripe-Signature": stripe_signature_header(SECRET, body)},
    )


@pytest.mark.parametrize("megabytes", [2.1, 11])
def test_a_large_body_on_the_events_api_is_a_413_in_the_error_shape(api_client, megabytes):
    padding = "a" * int(megabytes * 1_000_000)
    body = json.dumps({"type": "x.y", "payload": {"pad": padding}})
    response = api_client.post("/api/v1/events/", body, content_type="application/json")
    assert response.status_code == 413
    error = error_shape(response)
    assert error["code"] == "payload_too_large"
    assert error["details"]["limit"] == 2_000_000
    assert "max_body_bytes" in error["message"]
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "key",
    [chr(0xD800), f"a{chr(0xDFFF)}b", chr(0xDBFF), "x\x00"],
    ids=["high", "low-inside", "high-end", "nul"],
)
def test_a_payload_key_with_a_lone_surrogate_or_nul_is_a_400_not_a_500(api_client, key):
    body = json.dumps({"type": "x.y", "payload": {key: 1, "nested": {key: [key]}}})
    response = api_client.post("/api/v1/events/", body, content_type="application/json")
    assert response.status_code == 400
    error = error_shape(response)
    assert error["code"] == "invalid_text"
    assert not Event.objects.exists()


@pytest.mark.parametrize("megabytes", [2.6, 3])
def test_a_signed_webhook_over_the_limit_is_a_413_in_the_error_shape(client, stripe, megabytes):
    body = json.dumps({"id": "evt_1", "pad": "a" * int(megabytes * 1_000_000)}).encode()
    response = post_signed(client, body)
    assert response.status_code == 413
    assert error_shape(response)["code"] == "payload_too_large"
    assert not Event.objects.exists()


@pytest.mark.parametrize("digits", [4_301, 10_000, 1_001])
def test_a_validly_signed_webhook_with_a_huge_integer_is_a_400(client, stripe, digits):
    body = ('{"id": "evt_1", "type": "invoice.paid", "amount": ' + "9" * digits + "}").encode()
    response = post_signed(client, body)
    assert response.status_code == 400
    error = error_shape(response)
    assert error["code"] == "number_too_large"
    assert "1000 digits" in error["message"]
    assert not Event.objects.exists()


def test_integers_up_to_the_limit_are_still_accepted(client, stripe):
    body = ('{"id": "evt_1", "type": "invoice.paid", "amount": ' + "9" * 78 + "}").encode()
    response = post_signed(client, body)
    assert response.status_code == 202
    assert Event.objects.get().payload["amount"] == int("9" * 78)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize(
    "message",
    [
        "[" * 10_000 + "]" * 10_000,
        '{"type": "resync", "n": ' + "9" * 5_000 + "}",
        '{"type": "\\ud800"}',
        "x" * 10_000,
        "{oops",
    ],
    ids=["deep", "huge-int", "surrogate", "large", "not-json"],
)
async def test_hostile_websocket_messages_get_an_error_frame_and_the_socket_lives_on(message):
    from tests.integration.realtime.conftest import open_socket

    user = await database_sync_to_async(make_studio_user)()
    socket = await open_socket("/ws/runs/", user)
    snapshot = await socket.receive_json_from(timeout=3)
    assert snapshot["type"] == "runs"
    await socket.send_to(text_data=message)
    error = await socket.receive_json_from(timeout=3)
    assert error["type"] == "error"
    assert {"code", "message", "details", "trace_id"} <= set(error)
    await socket.send_json_to({"type": "resync"})
    again = await socket.receive_json_from(timeout=3)
    assert again["type"] == "runs"
    await socket.disconnect()
