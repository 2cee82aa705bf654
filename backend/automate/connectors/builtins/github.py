"""The ``github`` connector: GitHub's webhooks as the trigger ``events`` (scheme ``github``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from automate.triggers.signatures import github_signature_header, verify_signature

from ..triggers import MissingDeliveryIdError, TriggerSpec, body_digest, header
from .webhook_triggers import TriggerOnlyConnector, compact_json

__all__ = ["GitHubConnector"]


class GitHubConnector(TriggerOnlyConnector):
    """GitHub's webhooks: ``X-Hub-Signature-256: sha256=<hex>`` over the body; events are
    ``github.<X-GitHub-Event>[.<action>]``. GitHub signs no timestamp and its delivery id
    header is unsigned, so the delivery id is the body's digest (the header is still
    required)."""

    code = "github"
    name = "GitHub"
    description = "Receive GitHub events (push, pull_request, issues, …) as webhooks."
    icon = "git-branch"
    triggers: ClassVar[dict[str, TriggerSpec]] = {
        "events": TriggerSpec(
            name="events",
            scheme="github",
            label="Events",
            verification_method="X-Hub-Signature-256",
            event_type="github.*",
            description="Every event the repository or organisation webhook sends, as "
            "github.<event>[.<action>] (github.issues.opened).",
            sample_payload={
                "action": "opened",
                "issue": {
                    "number": 42,
                    "title": "The export button does nothing",
                    "html_url": "https://github.com/acme/shop/issues/42",
                    "user": {"login": "octocat"},
                    "labels": [{"name": "bug"}],
                },
                "repository": {"full_name": "acme/shop", "private": False},
                "sender": {"login": "octocat"},
            },
        )
    }

    def verify_webhook(
        self, headers: Mapping[str, str], raw_body: bytes, *, secret: str, trigger: str, now: float
    ) -> bool:
        return verify_signature("github", secret, headers, raw_body, now=now)

    def webhook_event_type(
        self, trigger: str, headers: Mapping[str, str], payload: dict[str, Any]
    ) -> str:
        name = header(headers, "X-GitHub-Event") or ""
        action = payload.get("action")
        if name:
            return f"github.{name}.{action}" if isinstance(action, str) else f"github.{name}"
        return "webhook.received"

    def webhook_delivery_id(
        self,
        trigger: str,
        headers: Mapping[str, str],
        raw_body: bytes,
        payload: dict[str, Any],
        *,
        delivery_id_header: str = "",
    ) -> str:
        name = delivery_id_header or "X-GitHub-Delivery"
        if not header(headers, name):
            raise MissingDeliveryIdError(f"the {name} header")
        return body_digest(raw_body)

    def webhook_test_delivery(self, trigger: str, secret: str) -> tuple[dict[str, str], bytes]:
        nonce = uuid.uuid4().hex
        body = compact_json({"zen": "Sent from the studio.", "test_id": nonce})
        return {
            "Content-Type": "application/json",
            "X-GitHub-Event": "ping",
            "X-GitHub-Delivery": str(uuid.UUID(nonce)),
            "X-Hub-Signature-256": github_signature_header(secret, body),
        }, body
