"""A token of tenant A gets 404 for tenant B's objects on every route that names one."""

from __future__ import annotations

import pytest

from automate.events.models import Event
from automate.execution.models import ExecutionRun, OutboxJob
from automate.governance.models import StoredSecret
from automate.workflows.models import Workflow, WorkflowVersion
from tests.integration.api.helpers import assert_error

pytestmark = pytest.mark.django_db

# (method, URL of B's object, body)
ROUTES = [
    ("get", "/api/v1/events/{b.event.pk}/", None),
    ("get", "/api/v1/workflows/{b.workflow.pk}/", None),
    ("put", "/api/v1/workflows/{b.workflow.pk}/", {"revision": 0, "name": "x"}),
    ("patch", "/api/v1/workflows/{b.workflow.pk}/", {"revision": 0, "name": "x"}),
    ("delete", "/api/v1/workflows/{b.workflow.pk}/", None),
    ("post", "/api/v1/workflows/{b.workflow.pk}/activate/", None),
    ("post", "/api/v1/workflows/{b.workflow.pk}/deactivate/", None),
    ("post", "/api/v1/workflows/{b.workflow.pk}/restore/", None),
    ("post", "/api/v1/workflows/{b.workflow.pk}/publish/", {}),
    ("post", "/api/v1/workflows/{b.workflow.pk}/rollback/", {"version": 1}),
    ("get", "/api/v1/workflows/{b.workflow.pk}/versions/", None),
    ("get", "/api/v1/workflows/{b.workflow.pk}/versions/1/", None),
    ("get", "/api/v1/workflows/{b.workflow.pk}/versions/diff/", None),
    ("post", "/api/v1/workflows/{b.workflow.pk}/rules/test/", {"payload": {}}),
    ("post", "/api/v1/workflows/{b.workflow.pk}/rules/backtest/", {}),
    ("post", "/api/v1/workflows/{b.workflow.pk}/copilot/", {"prompt": "add a log step"}),
    ("get", "/api/v1/runs/{b.run.pk}/", None),
    ("post", "/api/v1/runs/{b.run.pk}/cancel/", None),
    ("post", "/api/v1/runs/{b.run.pk}/rerun/", None),
    ("post", "/api/v1/runs/{b.run.pk}/resume/", {"from_node": "shape"}),
    ("post", "/api/v1/runs/{b.run.pk}/steps/shape/retry/", None),
    ("get", "/api/v1/dead-letters/{b.dead.pk}/", None),
    ("post", "/api/v1/dead-letters/{b.dead.pk}/replay/", None),
    ("get", "/api/v1/secrets/{b.secret.name}/", None),
    ("post", "/api/v1/secrets/{b.secret.name}/rotate/", {"value": "new-value-123"}),
    ("get", "/api/v1/audit/{b.entry.pk}/", None),
    ("get", "/api/v1/webhook-endpoints/{b.endpoint.pk}/", None),
    ("get", "/api/v1/schedules/{b.schedule.pk}/", None),
    ("get", "/api/v1/tokens/{b.client.token.pk}/", None),
    ("delete", "/api/v1/tokens/{b.client.token.pk}/", None),
]


def state():
    return [
        list(model.objects.order_by("pk").values())
        for model in (Workflow, WorkflowVersion, Event, ExecutionRun, OutboxJob, StoredSecret)
    ]


@pytest.mark.parametrize(("method", "url", "body"), ROUTES, ids=[f"{m} {u}" for m, u, _ in ROUTES])
def test_another_tenants_object_is_a_404_and_nothing_changes(sides, method, url, body):
    a, b = sides
    before = state()
    client = a.client
    path = url.format(b=b)
    response = (
        getattr(client, method)(path) if body is None else getattr(client, method)(path, body)
    )
    assert_error(response, 404, "resource_not_found")
    assert state() == before


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/events/",
        "/api/v1/workflows/",
        "/api/v1/runs/",
        "/api/v1/dead-letters/",
        "/api/v1/secrets/",
        "/api/v1/audit/",
        "/api/v1/webhook-endpoints/",
        "/api/v1/schedules/",
        "/api/v1/tokens/",
    ],
)
def test_lists_show_only_the_tokens_tenant(sides, url):
    a, _ = sides
    rows = a.client.get(url).json()
    rows = rows["results"] if isinstance(rows, dict) else rows
    assert rows, url
    text = str(rows)
    assert "globex" not in text
    assert "acme" in text or url.endswith("/tokens/")
