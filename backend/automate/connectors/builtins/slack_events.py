"""The ``slack`` connector's ``events`` trigger: Slack's Events API (scheme ``slack``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from automate.triggers.signatures import slack_signature_headers, verify_signature

from ..triggers import TriggerSpec, body_digest
from .webhook_triggers import compact_json

__all__ = ["SlackEvents"]


class SlackEvents:
    """Slack's Events API as the ``slack`` connector's ``events`` trigger (scheme
    ``slack``): ``X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<t>:<body>">`` with the
    app's signing secret, ``X-Slack-Request-Timestamp`` within 5 minutes (older
    deliveries are refused as replays). Events are ``slack.<event type>``
    (``slack.app_mention``), the delivery id is Slack's ``event_id``, and the
    ``url_verification`` handshake is answered with its challenge."""

    code: ClassVar[str] = "slack"
    triggers: ClassVar[dict[str, TriggerSpec]] = {
        "events": TriggerSpec(
            name="events",
            scheme="slack",
            label="Events API",
            verification_method="Slack signing secret (v0)",
            event_type="slack.*",
            description="Events of the Slack app's Event Subscriptions (app_mention, "
            "message.channels, …), as slack.<event type>.",
            sample_payload={
                "token": "",
                "team_id": "T061EG9R6",
                "api_app_id": "A0PNCHHK2",
                "type": "event_callback",
                "event_id": "Ev0PV52K25",
                "event_time": 1355517523,
                "event": {
                    "type": "app_mention",
                    "user": "U061F7AUR",
                    "text": "<@U0LAN0Z89> is the export working again?",
                    "ts": "1515449522.000016",
                    "channel": "C123ABC456",
                },
            },
        )
    }

    def verify_webhook(
        self, headers: Mapping[str, str], raw_body: bytes, *, secret: str, trigger: str, now: float
    ) -> bool:
        return verify_signature("slack", secret, headers, raw_body, now=now)

    def webhook_event_type(
        self, trigger: str, headers: Mapping[str, str], payload: dict[str, Any]
    ) -> str:
        event = payload.get("event")
        if payload.get("type") == "event_callback" and isinstance(event, dict):
            kind = event.get("type")
            if isinstance(kind, str) and kind:
                return f"slack.{kind}"
        kind = payload.get("type")
        return f"slack.{kind}" if isinstance(kind, str) and kind else "slack.event"

    def webhook_delivery_id(
        self,
        trigger: str,
        headers: Mapping[str, str],
        raw_body: bytes,
        payload: dict[str, Any],
        *,
        delivery_id_header: str = "",
    ) -> str:
        # Slack retries a delivery with the same event_id (and X-Slack-Retry-Num).
        event_id = payload.get("event_id")
        return event_id if isinstance(event_id, str) and event_id else body_digest(raw_body)

    def webhook_reply(self, trigger: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        if payload.get("type") == "url_verification" and isinstance(payload.get("challenge"), str):
            return {"challenge": payload["challenge"]}
        return None

    def webhook_test_delivery(self, trigger: str, secret: str) -> tuple[dict[str, str], bytes]:
        nonce = uuid.uuid4().hex
        body = compact_json(
            {
                "type": "event_callback",
                "event_id": f"EvStudioTest{nonce}",
                "event": {"type": "studio_test", "text": "Sent from the studio."},
            }
        )
        return {"Content-Type": "application/json", **slack_signature_headers(secret, body)}, body
