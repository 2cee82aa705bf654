"""``POST /hooks/<slug>/``: verify, rate-limit, deduplicate and record an inbound webhook;
every answer to a known endpoint goes in its bounded delivery log (no body, no secret).

Endpoints on a connector trigger's scheme (``stripe``, ``github``, ``slack``, a plug-in's)
are verified and read by that connector (``automate.connectors.triggers``); ``generic``
endpoints here.

Order matters: an unknown endpoint, a misconfigured one and a bad signature get the same
401 before anything is stored (so outsiders cannot list endpoint names); the rate limit
counts per tenant; every verified delivery needs a delivery id, taken from signed content,
and a delivery seen before returns the first event.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from automate import conf
from automate.api.errors import json_error
from automate.connectors.triggers import (
    GENERIC_SCHEME,
    ConnectorTrigger,
    MissingDeliveryIdError,
    find_trigger,
)
from automate.events.exceptions import InvalidEventError
from automate.events.services import record_event
from automate.exceptions import AutomateError
from automate.governance.ratelimit import hit
from automate.guard.http import guarded, json_body
from automate.guard.parse import InputRejected
from automate.triggers.models import WebhookEndpoint
from automate.triggers.signatures import (
    GENERIC_DELIVERY_ID_HEADER,
    GENERIC_SIGNATURE_HEADER,
    verify_signature,
)

logger = logging.getLogger("automate.webhooks")


def _event_type(
    endpoint: WebhookEndpoint,
    request: HttpRequest,
    payload: dict[str, Any],
    trigger: ConnectorTrigger | None,
) -> str:
    if endpoint.event_type:
        return endpoint.event_type
    if trigger is not None:
        return trigger.adapter.webhook_event_type(trigger.spec.name, request.headers, payload)
    return "webhook.received"


def _dedupe_key(
    endpoint: WebhookEndpoint,
    request: HttpRequest,
    payload: dict[str, Any],
    trigger: ConnectorTrigger | None,
) -> str:
    """The event's dedupe key, always derived from content the signature covers.

    A connector trigger says which (Stripe: the event id in the signed body; GitHub: the
    body's digest, its delivery id header being required but unsigned; Slack: the
    ``event_id`` in the signed body). The generic scheme signs the delivery id header.
    """
    if trigger is not None:
        value = trigger.adapter.webhook_delivery_id(
            trigger.spec.name,
            request.headers,
            request.body,
            payload,
            delivery_id_header=endpoint.delivery_id_header,
        )
        if not isinstance(value, str) or not value:
            raise MissingDeliveryIdError("a delivery id")
    else:
        header = endpoint.delivery_id_header or GENERIC_DELIVERY_ID_HEADER
        value = request.headers.get(header, "")
        if not value:
            raise MissingDeliveryIdError(f"the {header} header")
    key = f"hook:{endpoint.slug}:{value}"
    # Hash long ids instead of cutting them, so two long ids never collide.
    return (
        key
        if len(key) <= 255
        else f"hook:{endpoint.slug}:sha256:" + hashlib.sha256(value.encode()).hexdigest()
    )


def _guess_scheme(headers: dict[str, str]) -> str:
    lowered = {name.lower() for name in headers}
    if "stripe-signature" in lowered:
        return "stripe"
    if "x-hub-signature-256" in lowered:
        return "github"
    if "x-slack-signature" in lowered:
        return "slack"
    return "generic"


# Looked up for unknown slugs so they cost the same secrets-backend work as known ones;
# its value, if anyone ever stores one, is never used.
_DECOY_SECRET_NAME = "WEBHOOK_ENDPOINT_DECOY"  # noqa: S105 (a name, not a value)


def _signing_secret(endpoint: WebhookEndpoint | None, slug: str) -> str | None:
    from automate.secrets import resolve

    name = endpoint.secret_name if endpoint is not None else _DECOY_SECRET_NAME
    try:
        # The endpoint's tenant's secret: one tenant can never verify (or forge) another's.
        secret = resolve({"$secret": name}, tenant=endpoint.tenant if endpoint else None)
    except AutomateError as exc:
        if endpoint is not None:
            logger.error(
                "Webhook %s: its signing secret %r cannot be resolved for tenant %r: %s; "
                "deliveries are refused",
                slug,
                name,
                endpoint.tenant.slug,
                exc.message,
            )
        return None
    if endpoint is None:
        return None
    if endpoint.scheme != GENERIC_SCHEME and find_trigger(endpoint.scheme) is None:
        logger.error(
            "Webhook %s: no registered connector has the trigger scheme %r; deliveries are refused",
            slug,
            endpoint.scheme,
        )
        return None
    return secret or None


def _verified(endpoint: WebhookEndpoint | None, slug: str, request: HttpRequest) -> bool:
    """Whether the delivery is signed for an active, correctly configured endpoint.

    A connector trigger's scheme is verified by its connector (``verify_webhook``), the
    ``generic`` scheme here. An unknown slug and an endpoint whose secret cannot be
    resolved still look a secret up and verify against a random decoy secret, so the
    answer *and* the work done are the same as for a bad signature: an outsider cannot
    tell which endpoint names exist.
    """
    headers = dict(request.headers)
    secret = _signing_secret(endpoint, slug)
    if endpoint is not None and secret and endpoint.scheme != GENERIC_SCHEME:
        trigger = find_trigger(endpoint.scheme)
        assert trigger is not None  # _signing_secret checked it
        try:
            return (
                trigger.adapter.verify_webhook(
                    headers, request.body, secret=secret, trigger=trigger.spec.name, now=time.time()
                )
                is True
            )
        except Exception as exc:  # the connector's own code: a failure is "not verified"
            # Its type only: the text of an exception raised next to a secret may hold it.
            logger.error(
                "Webhook %s: the %s trigger's verification raised %s; the delivery is refused",
                slug,
                trigger.scheme,
                type(exc).__name__,
            )
            return False
    scheme = endpoint.scheme if endpoint is not None and secret else _guess_scheme(headers)
    valid = verify_signature(
        scheme,
        secret or secrets.token_hex(32),
        headers,
        request.body,
        header_name=endpoint.signature_header if endpoint else GENERIC_SIGNATURE_HEADER,
        delivery_id_header=(endpoint.delivery_id_header if endpoint else "")
        or GENERIC_DELIVERY_ID_HEADER,
    )
    return valid and secret is not None


def _not_verified(request: HttpRequest) -> JsonResponse:
    # One answer for an unknown or inactive slug, a misconfigured endpoint and a bad
    # signature: same status, code and message (only the trace id differs).
    return json_error(
        request,
        401,
        "invalid_signature",
        "The delivery could not be verified: check the URL, the signing secret, the "
        "signature and delivery id headers and the clock (see the webhook documentation).",
    )


@guarded("json")
@csrf_exempt
@require_POST
def receive(request: HttpRequest, slug: str) -> JsonResponse:
    """Receive one webhook delivery; a known endpoint's answer goes in its delivery log."""
    # Looked up before anything else, the same way for every slug (known or not).
    endpoint = (
        WebhookEndpoint.objects.select_related("tenant").filter(slug=slug, is_active=True).first()
    )
    try:
        response = _answer(request, slug, endpoint)
    except InputRejected as exc:
        _log_delivery(endpoint, exc.http_status, exc.code)
        raise
    _log_delivery(endpoint, response.status_code, *_result_of(response))
    return response


def _result_of(response: JsonResponse) -> tuple[str, str | None]:
    """The answer's result code (``verified``, ``duplicate`` or the error code) and event."""
    answer = json.loads(response.content)
    if response.status_code < 300:
        return ("duplicate" if answer.get("duplicate") else "verified"), answer.get("id")
    return str(answer.get("code") or "unknown"), None


def _log_delivery(
    endpoint: WebhookEndpoint | None, status_code: int, result: str, event_id: str | None = None
) -> None:
    from automate.observability.metrics import WEBHOOK_DELIVERIES

    # Counted for every delivery; an unknown slug under one label, never its text.
    WEBHOOK_DELIVERIES.labels(result if endpoint is not None else "unknown_endpoint").inc()
    if endpoint is None:
        return  # an unknown slug has no log; nothing is stored for strangers
    from automate.triggers.services import record_delivery

    record_delivery(endpoint=endpoint, status_code=status_code, result=result, event_id=event_id)


def _answer(request: HttpRequest, slug: str, endpoint: WebhookEndpoint | None) -> JsonResponse:
    body = request.body
    max_bytes = conf.get("RETENTION", "max_payload_bytes")
    if len(body) > max_bytes:
        return json_error(request, 413, "payload_too_large", f"The body is over {max_bytes} bytes.")
    if not _verified(endpoint, slug, request):
        return _not_verified(request)
    assert endpoint is not None

    # Counted only for verified deliveries: strangers cannot use up a tenant's quota.
    limit = conf.get("POLICY", "webhook_rate_limit_per_minute")
    decision = hit(f"webhook:tenant:{endpoint.tenant_id}", limit=limit)
    if not decision.allowed:
        response = json_error(
            request,
            429,
            "rate_limited",
            f"More than {limit} webhooks this minute for this tenant; retry later.",
            {"retry_after": decision.retry_after},
        )
        response["Retry-After"] = str(decision.retry_after)
        return response

    payload = json_body(request)  # size, depth, number size, valid text: 4xx, nothing stored
    if not isinstance(payload, dict):
        return json_error(request, 400, "invalid_event", "The body must be a JSON object.")
    trigger = find_trigger(endpoint.scheme) if endpoint.scheme != GENERIC_SCHEME else None
    if trigger is not None:
        reply = trigger.adapter.webhook_reply(trigger.spec.name, payload)
        if reply is not None:  # a handshake (Slack's url_verification): nothing recorded
            return JsonResponse(reply)
    try:
        dedupe_key = _dedupe_key(endpoint, request, payload, trigger)
    except MissingDeliveryIdError as exc:
        return json_error(
            request,
            400,
            "missing_delivery_id",
            f"The delivery has no delivery id ({exc.where}); it is needed to recognise "
            "redeliveries and replays.",
            {"expected": exc.where},
        )
    try:
        event, created = record_event(
            type=_event_type(endpoint, request, payload, trigger),
            payload=payload,
            dedupe_key=dedupe_key,
            source=endpoint.source or endpoint.slug,
            tenant=endpoint.tenant,
            traceparent=request.headers.get("traceparent"),
            raw_body=body,
        )
    except InvalidEventError as exc:
        return json_error(request, 400, exc.code, exc.message, exc.details)
    return JsonResponse(
        {
            "id": str(event.pk),
            "type": event.type,
            "duplicate": not created,
            "trace_id": event.trace_id,
        },
        status=202 if created else 200,
    )
