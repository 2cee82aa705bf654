"""Hidden set-up for the docs' examples: the names an example assumes the reader has.

Pages import what they need in an ``<!-- invisible-code-block: python -->`` comment, so
the set-up stays next to the example it serves and out of the rendered page.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from types import SimpleNamespace
from typing import Any

from automate.tenants.models import Tenant

SLACK_NODE = {
    "id": "notify",
    "type": "action",
    "connector": "slack",
    "action": "post_message",
    "inputs": {
        "channel": "#billing",
        "text": "Paid {{ event.payload.data.object.amount_paid }}",
        "token": {"$secret": "SLACK_TOKEN"},
    },
}


def tenant(slug: str) -> Tenant:
    found, _ = Tenant.objects.get_or_create(slug=slug, defaults={"name": slug.title()})
    return found


def published_invoice_workflow(slug: str = "invoice-paid-to-slack", tenant: Any = None) -> Any:
    """The demo's workflow, reduced to its Slack step (Slack is a local fake)."""
    from automate.workflows.services import create_workflow, publish_version

    workflow = create_workflow(
        name="Big invoice paid → Slack",
        slug=slug,
        tenant=tenant,
        trigger_spec={"event_type": "invoice.paid", "source": "stripe"},
        rule_spec={">": [{"var": "data.object.amount_paid"}, 1000]},
        graph={
            "nodes": [{"id": "trigger", "type": "trigger"}, SLACK_NODE],
            "edges": [{"source": "trigger", "target": "notify"}],
        },
    )
    return publish_version(workflow=workflow)


def staff_request(username: str = "ada", **extra: Any) -> SimpleNamespace:
    """A stand-in for the view's ``request``: a signed-in staff user and headers."""
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"is_staff": True})
    return SimpleNamespace(user=user, headers=extra.pop("headers", {}), **extra)


def stripe_request(secret: str, body: bytes) -> SimpleNamespace:
    t = str(int(time.time()))
    signature = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return SimpleNamespace(headers={"Stripe-Signature": f"t={t},v1={signature}"}, body=body)
