"""Helpers of the built-in webhook triggers (Stripe, GitHub, Slack).

Each verifies with ``automate.triggers.signatures`` (constant-time HMAC-SHA256, signed
timestamps within 5 minutes for Stripe and Slack) and says how a verified delivery is
recorded: its event type and its delivery id. Stripe's and Slack's come from the signed
body, so a delivery replayed within the tolerance is answered as a duplicate. GitHub signs
no timestamp and sends the event name in an unsigned header (``X-GitHub-Event``): its
deliveries are deduplicated by a digest of the signed body, which holds while the first
delivery's event is kept (``RETENTION.events_days``); a captured delivery replayed after
that, with any event name, is accepted again. Keep GitHub secrets rotated accordingly.
``stripe`` and ``github`` are trigger-only connectors (no actions, so the studio's palette
does not list them); Slack's trigger belongs to the ``slack`` connector.
"""

from __future__ import annotations

import json
from typing import Any

from ..base import ConnectorAdapter, ExecutionContext

__all__ = ["TriggerOnlyConnector", "compact_json"]


def compact_json(data: dict[str, Any]) -> bytes:
    """``data`` as compact JSON bytes (a test delivery's body)."""
    return json.dumps(data, separators=(",", ":")).encode()


class TriggerOnlyConnector(ConnectorAdapter):
    """A connector with triggers and no actions (``stripe``, ``github``)."""

    def execute(
        self, action: str, params: dict[str, Any], context: ExecutionContext
    ) -> dict[str, Any]:
        raise AssertionError("unreachable: a connector without actions")  # pragma: no cover
