"""Publish, history, diff and rollback from the studio."""

import html
import json

import pytest
from django.test import Client

from automate.governance.models import AuditLogEntry
from automate.workflows.models import Workflow, WorkflowVersion
from studio.services import diff_definitions
from tests.factories import make_studio_user, make_tenant, make_user, make_workflow

pytestmark = pytest.mark.django_db

CANARY = "canary-value-5d2b9e11"

GRAPH_V1 = {
    "nodes": [
        {"id": "trigger", "type": "trigger"},
        {
            "id": "log",
            "type": "action",
            "label": "Log",
            "connector": "log",
            "action": "write",
            "inputs": {"message": "v1"},
            "position": {"x": 1, "y": 1},
        },
        {"id": "shape", "type": "transform", "inputs": {"a": 1}},
    ],
    "edges": [{"source": "trigger", "target": "log"}, {"source": "trigger", "target": "shape"}],
}


@pytest.fixture
def tenant():
    return make_tenant("acme")


@pytest.fixture
def user(tenant):
    user = make_studio_user("ana")
    tenant.members.add(user)
    return user


@pytest.fixture
def client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def workflow(tenant):
    return make_workflow(slug="flow", tenant=tenant, graph=json.loads(json.dumps(GRAPH_V1)))


def call(client, method, path, data=None):
    response = getattr(client, method)(path, data or {}, HTTP_HX_REQUEST="true")
    response.content = html.unescape(response.content.decode()).encode()
    return response


def set_draft(workflow, **fields):
    Workflow.objects.filter(pk=workflow.pk).update(**fields)
    workflow.refresh_from_db()


def test_publish_creates_a_version_and_tells_the_canvas(client, workflow, user):
    response = call(client, "post", f"/studio/workflows/{workflow.pk}/publish/", {"notes": "first"})
    assert "Published v1" in response.content.decode()
    assert json.loads(response["HX-Trigger"]) == {
        "automate:published": {"version": 1},
        "automate:problems": {},
    }
    version = WorkflowVersion.objects.get(workflow=workflow)
    assert version.published_by == user
    assert version.notes == "first"


def test_publish_lists_problems_per_node_and_publishes_nothing(client, workflow):
    graph = json.loads(json.dumps(GRAPH_V1))
    graph["nodes"].append({"id": "late", "type": "delay", "seconds": -1})
    set_draft(workflow, draft_graph=graph)
    response = call(client, "post", f"/studio/workflows/{workflow.pk}/publish/")
    page = response.content.decode()
    assert "Not published" in page
    assert "late" in page
    problems = json.loads(response["HX-Trigger"])["automate:problems"]
    assert any("seconds" in message for message in problems["late"])
    assert not WorkflowVersion.objects.filter(workflow=workflow).exists()


def test_publish_refuses_literal_secrets(client, workflow, monkeypatch):
    monkeypatch.setenv("AUTOMATE_X", CANARY)
    graph = json.loads(json.dumps(GRAPH_V1))
    graph["nodes"].append(
        {
            "id": "slack",
            "type": "action",
            "connector": "slack",
            "action": "post_message",
            "inputs": {"token": CANARY, "channel": "#c", "text": "t"},
        }
    )
    graph["edges"].append({"source": "trigger", "target": "slack"})
    set_draft(workflow, draft_graph=graph)
    response = call(client, "post", f"/studio/workflows/{workflow.pk}/publish/")
    page = response.content.decode()
    assert "literal value" in page
    assert CANARY not in page
    assert "slack" in json.loads(response["HX-Trigger"])["automate:problems"]
    assert not WorkflowVersion.objects.filter(workflow=workflow).exists()
    graph["nodes"][-1]["inputs"]["token"] = {"$secret": "X"}
    set_draft(workflow, draft_graph=graph)
    assert (
        "Published v1"
        in call(client, "post", f"/studio/workflows/{workflow.pk}/publish/").content.decode()
    )


def test_history_lists_versions_with_the_live_marker(client, workflow):
    for _ in range(2):
        call(client, "post", f"/studio/workflows/{workflow.pk}/publish/", {"notes": "n"})
    page = call(client, "get", f"/studio/workflows/{workflow.pk}/history/").content.decode()
    assert page.index('data-version="2"') < page.index('data-version="1"')
    assert page.count(">live</span>") == 1
    assert "ana" in page
    assert "Roll back to this" in page


def test_diff_between_versions_and_against_the_draft(client, workflow):
    call(client, "post", f"/studio/workflows/{workflow.pk}/publish/")
    graph = json.loads(json.dumps(GRAPH_V1))
    graph["nodes"][1]["inputs"]["message"] = "v2"
    graph["nodes"][1]["retry"] = {"max_retries": 1}
    graph["nodes"] = [n for n in graph["nodes"] if n["id"] != "shape"]
    graph["nodes"].append({"id": "wait", "type": "delay", "seconds": 3})
    graph["edges"] = [{"source": "trigger", "target": "log"}, {"source": "log", "target": "wait"}]
    set_draft(
        workflow,
        draft_graph=graph,
        draft_rule_spec={"==": [1, 1]},
        draft_trigger_spec={"event_type": "invoice.paid"},
    )
    page = call(
        client, "get", f"/studio/workflows/{workflow.pk}/diff/?a=live&b=draft"
    ).content.decode()
    assert "v1 → the draft" in page
    assert 'class="df-add"><span class="df-sign">+</span> Step <strong>wait</strong>' in page
    assert "<strong>shape</strong> <code>shape</code> removed" in page
    assert "inputs (message)" in page
    assert "retry" in page
    assert "Connection log → wait" in page
    assert "Connection trigger → shape" in page
    assert 'Trigger <span class="df-key">source</span>' in page
    assert "Rule changed" in page
    call(client, "post", f"/studio/workflows/{workflow.pk}/publish/")
    page = call(client, "get", f"/studio/workflows/{workflow.pk}/diff/?a=1&b=2").content.decode()
    assert "v1 → v2" in page
    assert "<strong>wait</strong>" in page
    page = call(
        client, "get", f"/studio/workflows/{workflow.pk}/diff/?a=2&b=draft"
    ).content.decode()
    assert "No differences" in page
    page = call(client, "get", f"/studio/workflows/{workflow.pk}/diff/?a=9&b=x").content.decode()
    assert "Version 9 of this workflow does not exist" in page


def test_moving_a_node_is_reported_as_layout_only():
    before = {"graph": GRAPH_V1}
    moved = json.loads(json.dumps(GRAPH_V1))
    moved["nodes"][1]["position"] = {"x": 50, "y": 50}
    diff = diff_definitions(before, {"graph": moved})
    assert [(c.id, c.layout_only) for c in diff.nodes_changed] == [("log", True)]
    assert diff_definitions(before, before).empty


def test_rollback_publishes_a_copy_of_an_old_version(client, workflow, user):
    call(client, "post", f"/studio/workflows/{workflow.pk}/publish/")
    graph = json.loads(json.dumps(GRAPH_V1))
    graph["nodes"][1]["inputs"]["message"] = "v2"
    set_draft(workflow, draft_graph=graph)
    call(client, "post", f"/studio/workflows/{workflow.pk}/publish/")
    response = call(client, "post", f"/studio/workflows/{workflow.pk}/rollback/1/")
    assert "Rolled back" in response.content.decode()
    trigger = json.loads(response["HX-Trigger"])
    assert trigger["automate:published"] == {"version": 3}
    workflow.refresh_from_db()
    v1, v3 = (WorkflowVersion.objects.get(workflow=workflow, version_num=n) for n in (1, 3))
    assert v3.graph == v1.graph
    assert workflow.live_version == v3
    assert workflow.draft_graph == v1.graph
    assert trigger["automate:draft-changed"] == {"revision": workflow.draft_revision}
    entry = AuditLogEntry.objects.get(action="workflow.rollback")
    assert entry.actor == user
    assert entry.details["from_version"] == 1
    assert entry.details["version"] == 3


def test_rollback_to_an_unknown_version_changes_nothing(client, workflow):
    call(client, "post", f"/studio/workflows/{workflow.pk}/publish/")
    revision = Workflow.objects.get(pk=workflow.pk).draft_revision
    page = call(client, "post", f"/studio/workflows/{workflow.pk}/rollback/7/").content.decode()
    assert "Version 7 of this workflow does not exist" in page
    assert WorkflowVersion.objects.filter(workflow=workflow).count() == 1
    assert Workflow.objects.get(pk=workflow.pk).draft_revision == revision


def test_versions_are_tenant_scoped_and_need_permission_and_csrf(client, workflow, tenant):
    other = make_workflow(slug="theirs", tenant=make_tenant("other"))
    for method, what in [
        ("post", "publish/"),
        ("get", "history/"),
        ("get", "diff/"),
        ("post", "rollback/1/"),
    ]:
        assert call(client, method, f"/studio/workflows/{other.pk}/{what}").status_code == 404
    assert not WorkflowVersion.objects.filter(workflow=other).exists()
    plain = make_user("plain")
    tenant.members.add(plain)
    no_perm = Client()
    no_perm.force_login(plain)
    assert no_perm.post(f"/studio/workflows/{workflow.pk}/publish/").status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(make_studio_user("bob"))
    assert strict.post(f"/studio/workflows/{workflow.pk}/publish/").status_code == 403
    assert not WorkflowVersion.objects.filter(workflow=workflow).exists()
