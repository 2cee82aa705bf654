"""``example_crm``: a CRM's contacts, as one action and one webhook trigger.

* Action ``create_contact``: ``POST <base_url>/contacts`` with ``Authorization: Bearer
  <api_key>``; the CRM answers ``201 {"id": ...}``. ``base_url`` is
  ``DJANGO_AUTOMATE["CONNECTOR_OPTIONS"]["example_crm"]["base_url"]`` (default
  ``https://crm.example.com/api``).
* Trigger ``contact_created`` (scheme ``example_crm.contact_created``): the CRM signs each
  delivery with ``X-CRM-Timestamp: <unix>`` and ``X-CRM-Signature: sha256=<hex
  HMAC-SHA256 of "<timestamp>.<body>">``; deliveries signed more than 5 minutes away
  from now are refused (replays).

Written in the ``Connector`` style (``actions()`` / ``triggers()`` / ``execute_action``);
a ``ConnectorAdapter`` subclass works the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

from automate import conf
from automate.connectors import ActionSpec, Connector, ConnectorError, TriggerSpec
from automate.governance.http import safe_request

__all__ = ["DEFAULT_BASE_URL", "TOLERANCE_SECONDS", "ExampleCRMConnector", "signature_headers"]

DEFAULT_BASE_URL = "https://crm.example.com/api"
TOLERANCE_SECONDS = 300


def _signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def signature_headers(secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The headers the CRM sends with a delivery of ``body`` (for tests and replays)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {"X-CRM-Timestamp": stamp, "X-CRM-Signature": _signature(secret, stamp, body)}


def _header(headers: Mapping[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), "")


class ExampleCRMConnector(Connector):
    """Create contacts in the example CRM; start workflows when one is created there."""

    key = "example_crm"
    display_name = "Example CRM"
    description = "Create CRM contacts; receive contact.created webhooks."
    icon = "contact"

    @classmethod
    def actions(cls) -> list[ActionSpec]:
        return [
            ActionSpec(
                name="create_contact",
                label="Create a contact",
                description="Create a contact (POST /contacts).",
                inputs={
                    "api_key": {
                        "type": "string",
                        "format": "secret",
                        "required": True,
                        "description": "The CRM API key.",
                    },
                    "email": {"type": "string", "format": "email", "required": True},
                    "name": {"type": "string"},
                },
                outputs={"id": {"type": "string"}, "email": {"type": "string"}},
            )
        ]

    @classmethod
    def triggers(cls) -> list[TriggerSpec]:
        return [
            TriggerSpec(
                name="contact_created",
                label="Contact created",
                verification_method="hmac",
                event_type="example_crm.contact_created",
                description="A contact was created in the CRM.",
                sample_payload={
                    "id": "evt_001",
                    "type": "contact.created",
                    "contact": {"id": "c_42", "email": "ada@example.com", "name": "Ada"},
                },
            )
        ]

    def execute_action(self, action: str, input_data: dict[str, Any]) -> Any:
        if action != "create_contact":
            raise ConnectorError(f"Unknown action: {action}", retryable=False)
        options = conf.get("CONNECTOR_OPTIONS").get(self.key, {})
        response = safe_request(
            "POST",
            f"{options.get('base_url', DEFAULT_BASE_URL)}/contacts",
            headers={"Authorization": f"Bearer {input_data['api_key']}"},
            json={"email": input_data["email"], "name": input_data.get("name", "")},
            timeout=self.context.remaining_seconds(),
            trace_id=self.context.trace_id,
            raise_for_status=False,
        )
        if response.status_code >= 400:
            # Never echo the request (it holds the key); the status says enough.
            raise ConnectorError(
                f"The CRM refused the contact (HTTP {response.status_code}).",
                retryable=response.status_code >= 500,
            )
        answer = response.json()
        return {"id": str(answer["id"]), "email": input_data["email"]}

    def verify_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> bool:
        stamp = _header(headers, "X-CRM-Timestamp")
        given = _header(headers, "X-CRM-Signature")
        if not stamp.isdigit() or not given:
            return False
        if abs(self.now - int(stamp)) > TOLERANCE_SECONDS:
            return False  # an old delivery replayed
        expected = _signature(self.signing_secret, stamp, raw_body)
        return hmac.compare_digest(expected.encode(), given.encode("latin-1", "replace"))
