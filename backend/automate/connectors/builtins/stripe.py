"""The ``stripe`` connector: Stripe's webhooks as the trigger ``events`` (scheme ``stripe``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from automate.triggers.signatures import stripe_signature_header, verify_signature

from ..triggers import MissingDeliveryIdError, TriggerSpec
from .webhook_triggers import TriggerOnlyConnector, compact_json

__all__ = ["StripeConnector"]


class StripeConnector(TriggerOnlyConnector):
    """Stripe's webhooks: ``Stripe-Signature: t=<unix>,v1=<hex>``; the event id is the
    delivery id and the event's ``type`` (``invoice.paid``) the event type."""

    code = "stripe"
    name = "Stripe"
    description = "Receive Stripe events (invoice.paid, customer.created, …) as webhooks."
    icon = "credit-card"
    triggers: ClassVar[dict[str, TriggerSpec]] = {
        "events": TriggerSpec(
            name="events",
            scheme="stripe",
            label="Events",
            verification_method="Stripe-Signature",
            event_type="*",
            description="Every event the Stripe webhook endpoint is subscribed to; the "
            "event type is Stripe's (invoice.paid).",
            sample_payload={
                "id": "evt_1NG8Du2eZvKYlo2CUI79vXWy",
                "object": "event",
                "type": "invoice.paid",
                "created": 1686089970,
                "livemode": False,
                "data": {
                    "object": {
                        "id": "in_1NG8Dt2eZvKYlo2C0Yq3xyz9",
                        "object": "invoice",
                        "customer": "cus_NzZ1kqC1f1xq3s",
                        "customer_email": "jenny.rosen@example.com",
                        "amount_paid": 4200,
                        "currency": "eur",
                        "status": "paid",
                    }
                },
            },
        )
    }

    def verify_webhook(
        self, headers: Mapping[str, str], raw_body: bytes, *, secret: str, trigger: str, now: float
    ) -> bool:
        return verify_signature("stripe", secret, headers, raw_body, now=now)

    def webhook_event_type(
        self, trigger: str, headers: Mapping[str, str], payload: dict[str, Any]
    ) -> str:
        kind = payload.get("type")
        return kind if isinstance(kind, str) else "webhook.received"

    def webhook_delivery_id(
        self,
        trigger: str,
        headers: Mapping[str, str],
        raw_body: bytes,
        payload: dict[str, Any],
        *,
        delivery_id_header: str = "",
    ) -> str:
        # Stripe signs the body, which holds the event id.
        value = payload.get("id")
        if not isinstance(value, str) or not value:
            raise MissingDeliveryIdError('the body\'s "id"')
        return value

    def webhook_test_delivery(self, trigger: str, secret: str) -> tuple[dict[str, str], bytes]:
        nonce = uuid.uuid4().hex
        body = compact_json(
            {"id": f"evt_test_{nonce}", "type": "studio.test", "data": {"object": {}}}
        )
        return {
            "Content-Type": "application/json",
            "Stripe-Signature": stripe_signature_header(secret, body),
        }, body
