"""``POST /hooks/<slug>/``: verify, rate-limit, deduplicate and record an inbound webhook.

Order matters: an unknown endpoint and a bad signature are refused before anything is
stored; the rate limit counts per tenant; a delivery seen before returns the first event.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from automate import conf
from automate.api.errors import json_error
from automate.events.exceptions import InvalidEventError
from automate.events.services import record_event
from automate.exceptions import AutomateError
from automate.governance.ratelimit import hit
from automate.triggers.models import WebhookEndpoint
from automate.triggers.signatures import verify_signature

logger = logging.getLogger("automate.webhooks")


def _event_type(endpoint: WebhookEndpoint, request: HttpRequest, payload: dict[str, Any]) -> str:
    if endpoint.event_type:
        return endpoint.event_type
    if endpoint.scheme == WebhookEndpoint.Scheme.STRIPE and isinstance(payload.get("type"), str):
        return str(payload["type"])
    if endpoint.scheme == WebhookEndpoint.Scheme.GITHUB:
        name = request.headers.get("X-GitHub-Event", "")
        action = payload.get("action")
        if name:
            return f"github.{name}.{action}" if isinstance(action, str) else f"github.{name}"
    return "webhook.received"


def _delivery_id(
    endpoint: WebhookEndpoint, request: HttpRequest, payload: dict[str, Any]
) -> str | None:
    if endpoint.delivery_id_header:
        value = request.headers.get(endpoint.delivery_id_header)
    elif endpoint.scheme == WebhookEndpoint.Scheme.STRIPE:
        value = payload.get("id") if isinstance(payload.get("id"), str) else None
    elif endpoint.scheme == WebhookEndpoint.Scheme.GITHUB:
        value = request.headers.get("X-GitHub-Delivery")
    else:
        value = request.headers.get("X-Delivery-Id") or request.headers.get("Idempotency-Key")
    if not value:
        return None
    key = f"hook:{endpoint.slug}:{value}"
    # Hash long ids instead of cutting them, so two long ids never collide.
    return (
        key
        if len(key) <= 255
        else f"hook:{endpoint.slug}:sha256:" + hashlib.sha256(value.encode()).hexdigest()
    )


@csrf_exempt
@require_POST
def receive(request: HttpRequest, slug: str) -> JsonResponse:
    """Receive one webhook delivery."""
    endpoint = (
        WebhookEndpoint.objects.select_related("tenant").filter(slug=slug, is_active=True).first()
    )
    if endpoint is None:
        return json_error(request, 404, "resource_not_found", f"No webhook endpoint {slug!r}.")

    body = request.body
    max_bytes = conf.get("RETENTION", "max_payload_bytes")
    if len(body) > max_bytes:
        return json_error(request, 413, "payload_too_large", f"The body is over {max_bytes} bytes.")
    try:
        from automate.secrets import resolve

        # The endpoint's tenant's secret: one tenant can never verify (or forge) another's.
        secret = resolve({"$secret": endpoint.secret_name}, tenant=endpoint.tenant)
    except AutomateError as exc:
        logger.error(
            "Webhook %s: its signing secret %r cannot be resolved for tenant %r: %s",
            slug,
            endpoint.secret_name,
            endpoint.tenant.slug,
            exc.message,
        )
        return json_error(
            request, 503, "webhook_misconfigured", "This endpoint's signing secret is not set."
        )
    headers = dict(request.headers)
    if not verify_signature(
        endpoint.scheme, secret, headers, body, header_name=endpoint.signature_header
    ):
        return json_error(request, 401, "invalid_signature", "The signature does not verify.")

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

    try:
        payload = json.loads(body)
    except RecursionError:
        return json_error(request, 400, "malformed_request", "The body is nested too deeply.")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return json_error(request, 400, "malformed_request", f"The body is not JSON: {exc}.")
    if not isinstance(payload, dict):
        return json_error(request, 400, "invalid_event", "The body must be a JSON object.")
    try:
        event, created = record_event(
            type=_event_type(endpoint, request, payload),
            payload=payload,
            dedupe_key=_delivery_id(endpoint, request, payload),
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
