"""A token whose user left its tenant is refused (401) on every route, writes first, and
nothing is written: no event, run, workflow, version, secret, token or audit row."""

from __future__ import annotations

import pytest

from automate.api.models import ApiToken
from automate.events.models import Event
from automate.execution.models import ExecutionRun, OutboxJob
from automate.governance.models import AuditLogEntry, StoredSecret
from automate.workflows.models import Workflow, WorkflowVersion
from tests.integration.api.helpers import assert_error

pytestmark = pytest.mark.django_db

IMPORT = {
    "format": "django-automate/workflow",
    "version": 1,
    "workflow": {"slug": "acme-flow", "name": "Overwritten", "graph": {"nodes": [], "edges": []}},
}

# (method, URL in the token's own tenant, body): every route that writes something.
WRITES = [
    ("post", "/api/v1/events/", {"type": "invoice.paid", "payload": {}}),
    ("post", "/api/v1/workflows/", {"slug": "new-flow", "name": "New"}),
    ("post", "/api/v1/workflows/import/", IMPORT),
    ("post", "/api/v1/workflows/import/?publish=1", IMPORT),
    ("put", "/api/v1/workflows/{a.workflow.pk}/", {"revision": 0, "name": "x"}),
    ("patch", "/api/v1/workflows/{a.workflow.pk}/", {"revision": 0, "name": "x"}),
    ("delete", "/api/v1/workflows/{a.workflow.pk}/", None),
    ("post", "/api/v1/workflows/{a.workflow.pk}/activate/", None),
    ("post", "/api/v1/workflows/{a.workflow.pk}/deactivate/", None),
    ("post", "/api/v1/workflows/{a.workflow.pk}/restore/", None),
    ("post", "/api/v1/workflows/{a.workflow.pk}/publish/", {}),
    ("post", "/api/v1/workflows/{a.workflow.pk}/rollback/", {"version": 1}),
    ("post", "/api/v1/workflows/{a.workflow.pk}/copilot/", {"prompt": "add a log step"}),
    ("post", "/api/v1/copilot/drafts/", {"prompt": "log every paid invoice"}),
    ("post", "/api/v1/runs/{a.run.pk}/cancel/", None),
    ("post", "/api/v1/runs/{a.run.pk}/rerun/", None),
    ("post", "/api/v1/runs/{a.run.pk}/resume/", {"from_node": "shape"}),
    ("post", "/api/v1/runs/{a.run.pk}/steps/shape/retry/", None),
    ("post", "/api/v1/dead-letters/{a.dead.pk}/replay/", None),
    ("post", "/api/v1/secrets/", {"name": "NEW_KEY", "value": "a-new-value-123"}),
    ("post", "/api/v1/secrets/{a.secret.name}/rotate/", {"value": "new-value-123"}),
    ("post", "/api/v1/tokens/", {"name": "more", "scopes": ["read"]}),
    ("delete", "/api/v1/tokens/{a.client.token.pk}/", None),
]
READS = [
    "/api/v1/events/",
    "/api/v1/workflows/{a.workflow.pk}/",
    "/api/v1/tokens/",
    "/api/v1/secrets/",
]


def state():
    models = (
        Workflow, WorkflowVersion, Event, ExecutionRun, OutboxJob, StoredSecret, ApiToken,
        AuditLogEntry,
    )  # fmt: skip
    return [list(model.objects.order_by("pk").values()) for model in models]


def _send(client, method, path, body):
    return getattr(client, method)(path) if body is None else getattr(client, method)(path, body)


@pytest.mark.parametrize(("method", "url", "body"), WRITES, ids=[f"{m} {u}" for m, u, _ in WRITES])
def test_a_token_of_a_removed_member_writes_nothing(sides, method, url, body):
    a, _ = sides
    a.tenant.members.remove(a.client.user)
    ApiToken.objects.filter(pk=a.client.token.pk).update(last_used_at=None)
    before = state()
    response = _send(a.client, method, url.format(a=a), body)
    assert_error(response, 401, "authentication_failed")
    assert state() == before


@pytest.mark.parametrize("url", READS)
def test_a_token_of_a_removed_member_reads_nothing(sides, url):
    a, _ = sides
    a.tenant.members.remove(a.client.user)
    assert_error(a.client.get(url.format(a=a)), 401, "authentication_failed")


def test_the_token_works_again_when_the_user_is_added_back(sides):
    a, _ = sides
    a.tenant.members.remove(a.client.user)
    assert a.client.get("/api/v1/events/").status_code == 401
    a.tenant.members.add(a.client.user)
    response = a.client.post("/api/v1/events/", {"type": "invoice.paid", "payload": {}})
    assert response.status_code == 201, response.content


def test_a_member_of_another_tenant_only_is_refused_too(sides):
    """Moved from acme to globex: the acme token does not follow the user."""
    a, b = sides
    a.tenant.members.remove(a.client.user)
    b.tenant.members.add(a.client.user)
    before = state()
    response = a.client.post("/api/v1/events/", {"type": "invoice.paid", "payload": {}})
    assert_error(response, 401, "authentication_failed")
    assert state() == before


def test_a_superusers_token_keeps_working_outside_the_tenant(sides):
    a, _ = sides
    user = a.client.user
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    a.tenant.members.remove(user)
    response = a.client.post("/api/v1/events/", {"type": "invoice.paid", "payload": {}})
    assert response.status_code == 201, response.content
    assert Event.objects.get(pk=response.json()["id"]).tenant_id == a.tenant.pk
