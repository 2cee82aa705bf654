"""The webhook connector signs its POST; the receiver here checks it independently."""

import hashlib
import hmac
import json
import time

import pytest

from automate.connectors import ConnectorError
from automate.connectors.builtins.webhook import (
    WebhookConnector,
    signature_header,
    verify_signature,
)

from .http_servers import Reply

SECRET = "whsec-test-0123456789"


def run(params, context):
    return WebhookConnector().run("post", params, context)


def receiver(secret=SECRET, status=200, answer=None):
    """An app that verifies X-Automate-Signature with plain hmac, as a receiver would."""
    verdicts = []

    def app(request):
        header = request.headers["x-automate-signature"]
        fields = dict(part.split("=", 1) for part in header.split(","))
        signed = fields["t"].encode() + b"." + request.body
        expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(expected, fields["v1"])
        fresh = abs(time.time() - int(fields["t"])) < 300
        verdicts.append(valid and fresh)
        return Reply(status if valid else 401, body=answer if answer is not None else {"ok": valid})

    app.verdicts = verdicts
    return app


def test_the_signature_verifies_with_an_independent_hmac(serve, allow_local, step_context):
    app = receiver()
    server = serve(app)
    output = run(
        {
            "url": f"{server.url}/hooks/in",
            "payload": {"event": "invoice.paid", "amount": 12.5},
            "secret": SECRET,
        },
        step_context,
    )
    assert app.verdicts == [True]
    assert output == {"status": 200, "json": {"ok": True}, "text": '{"ok": true}'}
    [request] = server.requests
    assert request.method == "POST"
    assert json.loads(request.body) == {"event": "invoice.paid", "amount": 12.5}
    assert request.body == b'{"event":"invoice.paid","amount":12.5}'
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-automate-idempotency-key"] == "run-1:call"
    assert request.headers["traceparent"] == step_context.traceparent()


def test_a_receiver_with_another_secret_rejects_it(serve, allow_local, step_context):
    app = receiver(secret="some-other-secret")
    server = serve(app)
    with pytest.raises(ConnectorError) as caught:
        run({"url": server.url, "payload": [1, 2], "secret": SECRET}, step_context)
    assert app.verdicts == [False]
    assert (caught.value.retryable, caught.value.details["status"]) == (False, 401)
    assert SECRET not in str(caught.value) + str(caught.value.details)


def test_our_headers_cannot_be_overridden(serve, allow_local, step_context):
    app = receiver()
    server = serve(app)
    run(
        {
            "url": server.url,
            "payload": "text payload",
            "secret": SECRET,
            "headers": {"x-automate-signature": "t=1,v1=forged", "X-Tenant": "acme"},
        },
        step_context,
    )
    assert app.verdicts == [True]
    assert server.requests[0].headers["x-tenant"] == "acme"


def test_a_server_error_is_retried_with_the_same_idempotency_key(serve, allow_local, step_context):
    server = serve(receiver(status=502))
    for _attempt in range(2):
        with pytest.raises(ConnectorError) as caught:
            run({"url": server.url, "payload": {}, "secret": SECRET}, step_context)
        assert caught.value.retryable is True
    keys = {request.headers["x-automate-idempotency-key"] for request in server.requests}
    assert keys == {"run-1:call"}


def test_a_redirecting_receiver_is_not_followed(serve, allow_local, step_context):
    server = serve(lambda request: Reply(308, headers={"Location": "https://example.com/in"}))
    with pytest.raises(ConnectorError) as caught:
        run({"url": server.url, "payload": {}, "secret": SECRET}, step_context)
    assert (caught.value.code, caught.value.retryable) == ("webhook_redirected", False)
    assert len(server.requests) == 1


def test_an_internal_receiver_is_refused(serve, step_context):
    server = serve()
    with pytest.raises(ConnectorError) as caught:
        run({"url": server.url, "payload": {}, "secret": SECRET}, step_context)
    assert caught.value.code == "ssrf_blocked"
    assert server.requests == []


def test_the_secret_is_a_secret_field():
    assert WebhookConnector.actions["post"].secret_fields() == ["secret"]


def test_verify_signature():
    body = b'{"a":1}'
    now = 1_700_000_000
    header = signature_header(SECRET, body, now)
    assert verify_signature(SECRET, body, header, now=now)
    assert verify_signature(SECRET, body, header, now=now + 299)
    assert not verify_signature(SECRET, body, header, now=now + 301)  # replayed later
    assert not verify_signature(SECRET, b'{"a":2}', header, now=now)
    assert not verify_signature("wrong", body, header, now=now)
    assert not verify_signature(SECRET, body, "garbage", now=now)
    rotated = f"{header},v1={'0' * 64}"
    assert verify_signature(SECRET, body, rotated, now=now)
