"""Connector triggers in the studio: the webhook trigger's scheme choices and samples.

Every registered connector trigger (``automate.connectors.triggers``) is a scheme the
webhook trigger can use; each comes with the event type it produces and a sample payload
the trigger's "Pinned event" section offers to pin.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext

from automate.connectors.triggers import (
    GENERIC_SCHEME,
    ConnectorTrigger,
    all_triggers,
    find_trigger,
)
from automate.workflows.models import Workflow

__all__ = ["connector_trigger_of", "scheme_options"]


def connector_trigger_of(workflow: Workflow) -> ConnectorTrigger | None:
    """The connector trigger the draft's webhook trigger uses, or ``None`` (generic)."""
    spec = workflow.draft_trigger_spec if isinstance(workflow.draft_trigger_spec, dict) else {}
    webhook = spec.get("webhook")
    scheme = webhook.get("scheme") if isinstance(webhook, dict) else None
    if not isinstance(scheme, str) or scheme == GENERIC_SCHEME:
        return None
    return find_trigger(scheme)


def scheme_options() -> list[dict[str, Any]]:
    """``[{"value", "label", "method", "event_type", "sample"}]``: ``generic`` first, then
    every connector trigger by scheme (``sample`` is its sample payload as pretty JSON)."""
    options: list[dict[str, Any]] = [
        {
            "value": GENERIC_SCHEME,
            "label": gettext("Generic (X-Signature: t=…,v1=…, over t, delivery id and body)"),
            "connector": "",
            "event_type": "",
            "sample": "",
        }
    ]
    for trigger in all_triggers():
        options.append(
            {
                "value": trigger.scheme,
                "label": trigger.label,
                "connector": trigger.adapter.code,
                "event_type": trigger.event_type,
                "sample": json.dumps(trigger.spec.sample_payload, indent=2, ensure_ascii=False),
            }
        )
    return options
