"""Two tenants with one of everything, and token clients of each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from automate.events.models import Event
from automate.execution.models import OutboxJob
from automate.execution.services import start_run
from automate.governance import audit
from automate.governance.secret_store import create_secret
from automate.triggers.models import WebhookEndpoint
from tests.factories import make_published, make_tenant
from tests.integration.api.helpers import token_client
from tests.integration.governance.helpers import new_key, use_db_backend

GRAPH = {
    "nodes": [
        {"id": "trigger", "type": "trigger", "label": "Paid"},
        {"id": "shape", "type": "transform", "label": "Shape", "inputs": {"total": 1}},
    ],
    "edges": [{"source": "trigger", "target": "shape"}],
}
ADMIN_PERMS = [
    "automate.view_storedsecret",
    "automate.add_storedsecret",
    "automate.change_storedsecret",
    "automate.view_auditlogentry",
]


@dataclass
class Side:
    """One tenant's objects and a client with every scope of a member of it."""

    client: Any
    tenant: Any
    workflow: Any
    version: Any
    event: Any
    run: Any
    dead: Any
    secret: Any
    entry: Any
    endpoint: Any


def make_side(slug: str) -> Side:
    from tests.integration.api.helpers import ALL_PERMS

    tenant = make_tenant(slug)
    version = make_published(
        slug=f"{slug}-flow",
        tenant=tenant,
        trigger_spec={"event_type": "invoice.paid"},
        rule_spec={},
        graph=GRAPH,
    )
    schedule = make_published(
        slug=f"{slug}-nightly",
        tenant=tenant,
        trigger_spec={
            "event_type": "report.tick",
            "schedule": {"cron": "0 3 * * *", "timezone": "UTC"},
        },
        rule_spec={},
        graph=GRAPH,
    )
    event = Event.objects.create(tenant=tenant, type="invoice.paid", source="api", payload={})
    run, _ = start_run(event=event, version=version)
    dead = OutboxJob.objects.create(
        tenant=tenant,
        kind=OutboxJob.Kind.EVENT,
        event=event,
        status=OutboxJob.Status.DEAD,
        last_error="boom",
    )
    secret = create_secret(f"{slug.upper()}_KEY", "s3cr3t-value-123456", tenant=tenant)
    entry = audit.record(action="test.entry", resource_type="test", tenant=tenant)
    endpoint = WebhookEndpoint.objects.create(
        tenant=tenant, slug=f"{slug}-hook", name="Hook", scheme="generic", secret_name="X"
    )
    client = token_client(tenant, perms=[*ALL_PERMS, *ADMIN_PERMS])
    side = Side(
        client, tenant, version.workflow, version, event, run, dead, secret, entry, endpoint
    )
    side.schedule = schedule.workflow  # type: ignore[attr-defined]
    return side


@pytest.fixture
def sides(db, monkeypatch, settings):
    use_db_backend(monkeypatch, settings, new_key())
    return make_side("acme"), make_side("globex")
