"""The ``webhook`` connector: POST a signed JSON payload to a receiver's URL.

The receiver checks that the request comes from us, and is fresh, with the shared secret:

.. code-block:: text

    X-Automate-Signature: t=1700000000,v1=5257a869e7…
    v1 = hex(HMAC-SHA256(secret, "<t>.<raw request body>"))

``verify_signature`` does that check (constant-time, with a freshness window) for
receivers written in Python. ``X-Automate-Idempotency-Key`` is the same on every attempt
of a step, so a receiver that remembers it can drop a retried delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from automate.governance.http import safe_request
from automate.guard.parse import is_whole_number

from ..base import ActionSpec, ConnectorAdapter, ExecutionContext
from ..exceptions import ConnectorError
from .http import merge_headers, parse_json_body, step_timeout, truncate_text

__all__ = [
    "IDEMPOTENCY_HEADER",
    "SIGNATURE_HEADER",
    "WebhookConnector",
    "sign",
    "signature_header",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Automate-Signature"
IDEMPOTENCY_HEADER = "X-Automate-Idempotency-Key"
DEFAULT_TOLERANCE_SECONDS = 300


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` keyed with ``secret``."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Automate-Signature`` value: ``t=<timestamp>,v1=<signature>``."""
    return f"t={timestamp},v1={sign(secret, body, timestamp)}"


def verify_signature(
    secret: str,
    body: bytes,
    header: str,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether ``header`` is a valid, fresh ``X-Automate-Signature`` for ``body``.

    ``body`` must be the raw request body, byte for byte. The timestamp must be within
    ``tolerance_seconds`` of ``now`` (replayed deliveries are refused); several ``v1=``
    entries are accepted (any may match), for rotating secrets.
    """
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and is_whole_number(value) and len(value) < 19:
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, body, timestamp)
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)


class WebhookConnector(ConnectorAdapter):
    """``webhook.post``: deliver a JSON payload, signed with a shared secret.

    The body is the compact JSON of ``payload``; headers carry the signature, the step's
    idempotency key and ``traceparent``. Redirects are not followed (a receiver that
    redirects is misconfigured: use its final URL). HTTP 4xx and 3xx fail the step;
    429 and 5xx are retried, and the receiver can recognise the retry by its
    idempotency key.
    """

    code = "webhook"
    name = "Webhook"
    description = "POST a signed JSON payload to another system's webhook endpoint."
    icon = "webhook"
    actions = {
        "post": ActionSpec(
            label="Send a signed webhook",
            description=(
                "POST a JSON payload with an HMAC-SHA256 signature header "
                f"({SIGNATURE_HEADER}) the receiver verifies with the shared secret."
            ),
            inputs={
                "url": {
                    "type": "string",
                    "minLength": 1,
                    "required": True,
                    "description": "The receiver's http:// or https:// URL.",
                },
                "payload": {"required": True, "description": "The JSON to deliver."},
                "secret": {
                    "type": "string",
                    "minLength": 1,
                    "format": "secret",
                    "required": True,
                    "description": "The shared signing secret.",
                },
                "headers": {
                    "type": "object",
                    "additionalProperties": {"type": "string", "pattern": "^[^\\r\\n]*$"},
                    "description": "Extra request headers.",
                },
                "timeout_seconds": {
                    "type": "number",
                    "exclusiveMinimum": 0,
                    "description": "Give up after this many seconds (default 30).",
                },
            },
            outputs={
                "status": {"type": "integer"},
                "json": {"description": "The receiver's JSON answer, or null."},
                "text": {"type": "string", "description": "The answer as text (first 64 KB)."},
            },
            idempotent=False,
        )
    }

    def execute(
        self, action: str, params: dict[str, Any], context: ExecutionContext
    ) -> dict[str, Any]:
        """Sign and POST ``params["payload"]``; return the receiver's answer."""
        body = json.dumps(params["payload"], separators=(",", ":"), ensure_ascii=False).encode()
        timestamp = int(time.time())
        headers = merge_headers(
            params.get("headers"),
            {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature_header(params["secret"], body, timestamp),
                IDEMPOTENCY_HEADER: context.idempotency_key,
                "traceparent": context.traceparent(),
            },
        )
        response = safe_request(
            "POST",
            params["url"],
            headers=headers,
            content=body,
            timeout=step_timeout(context, params.get("timeout_seconds")),
            follow_redirects=False,
        )
        if response.is_redirect:
            raise ConnectorError(
                f"The webhook receiver answered HTTP {response.status_code} (a redirect); "
                "webhooks are not redirected: use the receiver's final URL.",
                code="webhook_redirected",
                details={"status": response.status_code},
            )
        return {
            "status": response.status_code,
            "json": parse_json_body(response),
            "text": truncate_text(response.text),
        }
