"""Workflows over the API: drafts with the revision check, import, publish, versions,
diff, rollback, switch on/off, archive; scopes and permissions."""

from __future__ import annotations

import pytest

from automate.workflows.models import Workflow, WorkflowVersion
from tests.factories import make_tenant
from tests.integration.api.conftest import GRAPH
from tests.integration.api.helpers import assert_error, token_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/workflows/"
TRIGGER = {"event_type": "invoice.paid"}


@pytest.fixture
def client():
    return token_client(make_tenant("acme"))


def create(client, **extra):
    body = {"name": "Paid", "trigger_spec": TRIGGER, "graph": GRAPH, **extra}
    response = client.post(URL, body)
    assert response.status_code == 201, response.content
    return response.json()


def test_create_edit_publish_diff_rollback(client):
    made = create(client, slug="paid")
    assert made["tenant"] == "acme"
    assert made["draft_revision"] == 0
    assert made["problems"] == []
    url = f"{URL}{made['id']}/"

    graph = {**GRAPH, "nodes": [*GRAPH["nodes"][:1], {**GRAPH["nodes"][1], "label": "Reshape"}]}
    saved = client.put(url, {"revision": 0, "graph": graph, "name": "Paid v2"})
    assert saved.status_code == 200, saved.content
    assert saved.json()["draft_revision"] == 1
    assert saved.json()["name"] == "Paid v2"
    # A save from the old revision is refused and writes nothing.
    stale = assert_error(client.patch(url, {"revision": 0, "name": "lost"}), 409, "stale_draft")
    assert stale["details"]["revision"] == 1
    assert Workflow.objects.get().name == "Paid v2"

    first = client.post(f"{url}publish/", {"notes": "first"})
    assert first.status_code == 201, first.content
    assert first.json()["version_num"] == 1
    client.patch(url, {"revision": 1, "graph": GRAPH})
    assert client.post(f"{url}publish/", {}).json()["version_num"] == 2

    versions = client.get(f"{url}versions/").json()["results"]
    assert [v["version_num"] for v in versions] == [2, 1]
    one = client.get(f"{url}versions/1/").json()
    assert one["graph"]["nodes"][1]["label"] == "Reshape"
    diff = client.get(f"{url}versions/diff/", {"a": "1", "b": "2"}).json()
    assert [n["id"] for n in diff["nodes_changed"]] == ["shape"]
    assert client.get(f"{url}versions/diff/", {"a": "2", "b": "draft"}).json()["empty"] is True
    assert_error(client.get(f"{url}versions/diff/", {"a": "9"}), 404)

    back = client.post(f"{url}rollback/", {"version": 1})
    assert back.status_code == 201
    assert back.json()["version_num"] == 3
    assert client.get(url).json()["live_version"] == 3
    assert_error(client.post(f"{url}rollback/", {"version": 42}), 404)


def test_bad_drafts_are_400_and_change_nothing(client):
    made = create(client)
    url = f"{URL}{made['id']}/"
    assert_error(client.put(url, {"graph": GRAPH}), 400, "invalid_request")
    assert_error(client.put(url, {"revision": 0, "graph": {"nodes": 1}}), 400, "invalid_request")
    assert_error(client.put(url, {"revision": 0, "name": ""}), 400)
    assert Workflow.objects.get().draft_revision == 0
    bad_rule = client.post(URL, {"name": "R", "trigger_spec": TRIGGER, "rule_spec": {"nope": 1}})
    assert bad_rule.status_code in (201, 400)  # drafts may hold problems; publish refuses
    assert_error(client.post(URL, {"name": "Paid", "slug": made["slug"]}), 409, "workflow_exists")


def test_publish_refuses_a_draft_with_problems(client):
    made = create(client, graph={"nodes": [], "edges": []})
    body = assert_error(client.post(f"{URL}{made['id']}/publish/", {}), 400, "invalid_workflow")
    assert body["details"]["problems"]
    assert WorkflowVersion.objects.count() == 0


def test_switch_off_on_archive_restore(client):
    made = create(client)
    url = f"{URL}{made['id']}/"
    assert client.post(f"{url}deactivate/").json()["is_active"] is False
    assert client.post(f"{url}activate/").json()["is_active"] is True
    assert client.delete(url).status_code == 204
    assert Workflow.objects.get().archived_at is not None
    assert client.get(URL).json()["results"] == []
    archived = client.get(URL, {"archived": "1"}).json()["results"]
    assert [w["id"] for w in archived] == [made["id"]]
    assert_error(client.post(f"{url}activate/"), 409, "workflow_archived")
    assert client.post(f"{url}restore/").json()["archived_at"] is None


def test_import_a_workflow_file_and_publish_it(client):
    from automate.workflows.files import export_workflow

    made = create(client, slug="paid")
    document = export_workflow(Workflow.objects.get())
    document["name"] = "Paid (from git)"
    response = client.post(f"{URL}import/?publish=1", document)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["created"] is False
    assert body["workflow"]["id"] == made["id"]
    assert body["version"]["version_num"] == 1
    new = client.post(f"{URL}import/", {**document, "slug": "paid-copy"})
    assert new.status_code == 201
    assert new.json()["version"] is None
    bad = client.post(f"{URL}import/", {"slug": "x"})
    assert_error(bad, 400, "invalid_workflow")


def test_scopes_guard_writes_and_publishing():
    acme = make_tenant("acme")
    writer = token_client(acme, scopes=["read", "write"])
    made = create(writer)
    url = f"{URL}{made['id']}/"
    body = assert_error(writer.post(f"{url}publish/", {}), 403, "permission_denied")
    assert "publish" in body["message"]
    assert_error(writer.post(f"{URL}import/?publish=1", {}), 403, "permission_denied")
    reader = token_client(acme, scopes=["read"])
    assert reader.get(url).status_code == 200
    assert_error(reader.put(url, {"revision": 0, "name": "x"}), 403)
    assert_error(reader.post(URL, {"name": "x"}), 403)
    publisher_without_perm = token_client(acme, perms=["automate.change_workflow"])
    assert_error(publisher_without_perm.post(f"{url}publish/", {}), 403)
    assert WorkflowVersion.objects.count() == 0


LIFECYCLE = [
    ("post", "activate/"),
    ("post", "deactivate/"),
    ("delete", ""),
    ("post", "restore/"),
]


def _lifecycle_target(owner, action):
    made = create(owner, slug=f"life-{action.strip('/') or 'archive'}")
    workflow = Workflow.objects.get(pk=made["id"])
    if action == "restore/":
        from django.utils import timezone

        Workflow.objects.filter(pk=workflow.pk).update(archived_at=timezone.now())
    if action == "activate/":
        Workflow.objects.filter(pk=workflow.pk).update(is_active=False)
    return workflow


def _snapshot(workflow):
    return Workflow.objects.filter(pk=workflow.pk).values("is_active", "archived_at").get()


@pytest.mark.parametrize(
    ("method", "action"), LIFECYCLE, ids=[a or "archive" for _, a in LIFECYCLE]
)
def test_lifecycle_needs_the_publish_permission_like_the_studio(client, method, action):
    """A user with change_workflow but not publish_workflow cannot switch, archive or
    restore, even with a token holding every scope (the studio refuses them too)."""
    workflow = _lifecycle_target(client, action)
    editor = token_client(
        client.tenant, perms=["automate.change_workflow", "automate.view_workflow"]
    )
    before = _snapshot(workflow)
    body = assert_error(
        getattr(editor, method)(f"{URL}{workflow.pk}/{action}"), 403, "permission_denied"
    )
    assert "automate.publish_workflow" in body["message"]
    assert _snapshot(workflow) == before


@pytest.mark.parametrize(
    ("method", "action"), LIFECYCLE, ids=[a or "archive" for _, a in LIFECYCLE]
)
def test_lifecycle_needs_the_publish_scope(client, method, action):
    workflow = _lifecycle_target(client, action)
    writer = token_client(client.tenant, scopes=["read", "write"])
    before = _snapshot(workflow)
    body = assert_error(
        getattr(writer, method)(f"{URL}{workflow.pk}/{action}"), 403, "permission_denied"
    )
    assert "publish" in body["message"]
    assert _snapshot(workflow) == before


@pytest.mark.parametrize(
    ("method", "action"), LIFECYCLE, ids=[a or "archive" for _, a in LIFECYCLE]
)
def test_lifecycle_with_the_publish_scope_and_permission_works(client, method, action):
    workflow = _lifecycle_target(client, action)
    publisher = token_client(client.tenant, scopes=["read", "publish"])
    response = getattr(publisher, method)(f"{URL}{workflow.pk}/{action}")
    assert response.status_code in (200, 204), response.content
    after = _snapshot(workflow)
    expected = {
        "activate/": lambda s: s["is_active"] is True,
        "deactivate/": lambda s: s["is_active"] is False,
        "": lambda s: s["archived_at"] is not None,
        "restore/": lambda s: s["archived_at"] is None,
    }[action]
    assert expected(after), after


def test_a_write_token_still_edits_drafts(client):
    made = create(client, slug="drafty")
    writer = token_client(
        client.tenant, scopes=["read", "write"], perms=["automate.change_workflow"]
    )
    saved = writer.patch(f"{URL}{made['id']}/", {"revision": 0, "name": "Renamed"})
    assert saved.status_code == 200, saved.content
