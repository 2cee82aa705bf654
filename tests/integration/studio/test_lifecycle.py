"""The studio's workflow lifecycle: "unpublished changes", switch on/off, archive/restore
(confirmed, permission-checked, tenant-scoped), recent runs as links with human
durations, the diff's old → new values, and the favicon."""

import html
import json
from datetime import timedelta

import pytest
from django.test import Client

from automate.execution.models import ExecutionRun
from automate.governance.models import AuditLogEntry
from automate.runtime import emit_event
from automate.workflows.models import Workflow
from automate.workflows.services import publish_version
from tests.factories import make_studio_user, make_tenant, make_user, make_workflow

pytestmark = pytest.mark.django_db(transaction=True)

CANARY = "canary-value-77e1c0aa"
GRAPH = {
    "nodes": [
        {"id": "trigger", "type": "trigger"},
        {
            "id": "slack",
            "type": "action",
            "label": "Tell the team",
            "connector": "slack",
            "action": "post_message",
            "inputs": {"token": {"$secret": "SLACK"}, "channel": "#sales", "text": "v1"},
        },
    ],
    "edges": [{"source": "trigger", "target": "slack"}],
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
def workflow(tenant, monkeypatch):
    monkeypatch.setenv("AUTOMATE_SLACK", "xoxb-test")
    workflow = make_workflow(
        slug="flow",
        name="Big orders",
        tenant=tenant,
        rule_spec={},
        trigger_spec={"event_type": "order.placed"},
        graph=json.loads(json.dumps(GRAPH)),
    )
    publish_version(workflow=workflow)
    workflow.refresh_from_db()
    return workflow


def page(response):
    return html.unescape(response.content.decode())


def hx_post(client, path, data=None):
    return client.post(path, data or {}, HTTP_HX_REQUEST="true")


def edit_text(workflow, text):
    graph = json.loads(json.dumps(workflow.draft_graph))
    graph["nodes"][1]["inputs"]["text"] = text
    return graph


# --- unpublished changes -------------------------------------------------------------------


def test_an_autosave_says_whether_the_draft_differs_from_the_live_version(client, workflow):
    url = f"/studio/workflows/{workflow.pk}/draft.json"
    editor = page(client.get(f"/studio/workflows/{workflow.pk}/"))
    assert 'id="wf-changes"' in editor
    assert "hidden>unpublished changes" in editor
    saved = client.put(
        url,
        json.dumps({"revision": workflow.draft_revision, "graph": edit_text(workflow, "v2")}),
        content_type="application/json",
    ).json()
    assert saved["unpublished"] is True
    status = client.get(f"/studio/workflows/{workflow.pk}/status.json").json()
    assert status["unpublished"] is True
    assert status["active"] is True
    editor = page(client.get(f"/studio/workflows/{workflow.pk}/"))
    assert "hidden>unpublished changes" not in editor
    assert f"/studio/workflows/{workflow.pk}/diff/?a=live&b=draft" in editor
    back = client.put(
        url,
        json.dumps({"revision": saved["revision"], "graph": edit_text(workflow, "v1")}),
        content_type="application/json",
    ).json()
    assert back["unpublished"] is False


def test_the_dashboard_marks_workflows_with_unpublished_changes(client, workflow):
    assert "unpublished changes" not in page(client.get("/studio/"))
    Workflow.objects.filter(pk=workflow.pk).update(draft_graph=edit_text(workflow, "v2"))
    dashboard = page(client.get("/studio/"))
    assert "unpublished changes" in dashboard
    assert f"/studio/workflows/{workflow.pk}/diff/?a=live&b=draft" in dashboard
    publish_version(workflow=Workflow.objects.get(pk=workflow.pk))
    assert "unpublished changes" not in page(client.get("/studio/"))


# --- diff: old → new, secrets masked ------------------------------------------------------


def test_the_diff_shows_old_and_new_values_with_secrets_masked(client, workflow):
    graph = edit_text(workflow, "Hello {{ event.id }}")
    graph["nodes"][1]["inputs"]["token"] = CANARY  # a literal secret, never shown
    graph["nodes"][1]["inputs"]["api_key"] = CANARY
    Workflow.objects.filter(pk=workflow.pk).update(draft_graph=graph)
    diff = page(client.get(f"/studio/workflows/{workflow.pk}/diff/", HTTP_HX_REQUEST="true"))
    assert CANARY not in diff
    assert '<li data-field="inputs.text"><span class="df-key">inputs.text</span>' in diff
    assert '"v1"</code> → <code class="df-after">"Hello {{ event.id }}"' in diff
    assert '{"$secret": "SLACK"}</code> → <code class="df-after">"********"' in diff
    assert '(not set)</code> → <code class="df-after">"********"' in diff


# --- switch on / off, archive, restore ----------------------------------------------------


def test_switching_off_from_the_editor_is_audited_and_swaps_the_controls(client, workflow):
    response = hx_post(client, f"/studio/workflows/{workflow.pk}/deactivate/")
    assert response.status_code == 200
    controls = page(response)
    assert 'id="wf-off"' in controls
    assert 'id="btn-activate"' in controls
    assert "hx-confirm=" in controls
    assert not Workflow.objects.get(pk=workflow.pk).is_active
    entry = AuditLogEntry.objects.get(action="workflow.deactivate")
    assert (entry.actor_repr, entry.tenant.slug) == ("ana", "acme")
    emit_event("order.placed", {}, tenant=workflow.tenant)
    assert not ExecutionRun.objects.exists()
    hx_post(client, f"/studio/workflows/{workflow.pk}/activate/")
    assert Workflow.objects.get(pk=workflow.pk).is_active


def test_archiving_from_the_dashboard_hides_it_and_restore_brings_it_back(client, workflow):
    response = hx_post(client, f"/studio/workflows/{workflow.pk}/archive/", {"from": "dashboard"})
    assert response["HX-Redirect"] == "/studio/"
    dashboard = page(client.get("/studio/"))
    assert "Big orders" not in dashboard.split('id="recent-runs"')[0]
    assert "1 archived workflow" in dashboard
    archived = page(client.get("/studio/?archived=1"))
    assert "Big orders" in archived
    assert 'data-action="restore"' in archived
    hx_post(client, f"/studio/workflows/{workflow.pk}/restore/", {"from": "dashboard"})
    restored = Workflow.objects.get(pk=workflow.pk)
    assert restored.archived_at is None
    assert not restored.is_active
    assert "Big orders" in page(client.get("/studio/"))


def test_switching_on_an_archived_workflow_is_a_409_in_the_error_shape(client, workflow):
    hx_post(client, f"/studio/workflows/{workflow.pk}/archive/")
    response = hx_post(client, f"/studio/workflows/{workflow.pk}/activate/")
    assert response.status_code == 409
    assert response.json()["code"] == "workflow_archived"
    assert not Workflow.objects.get(pk=workflow.pk).is_active


def test_lifecycle_changes_need_the_publish_permission(workflow, tenant):
    editor = make_user("eve", perms=["automate.use_studio", "automate.change_workflow"])
    tenant.members.add(editor)
    client = Client()
    client.force_login(editor)
    for action in ("deactivate", "archive"):
        response = hx_post(client, f"/studio/workflows/{workflow.pk}/{action}/")
        assert response.status_code == 403
    assert (
        "disabled"
        in page(client.get(f"/studio/workflows/{workflow.pk}/"))
        .split('id="btn-deactivate"')[1]
        .split(">")[0]
    )
    fresh = Workflow.objects.get(pk=workflow.pk)
    assert fresh.is_active
    assert fresh.archived_at is None
    assert not AuditLogEntry.objects.filter(resource_type="workflow").exclude(
        action="workflow.publish"
    )


def test_another_tenants_workflow_is_a_404_and_unchanged(workflow):
    stranger = make_studio_user("mallory")
    make_tenant("globex").members.add(stranger)
    client = Client()
    client.force_login(stranger)
    for action in ("deactivate", "activate", "archive", "restore"):
        assert hx_post(client, f"/studio/workflows/{workflow.pk}/{action}/").status_code == 404
    assert client.get(f"/studio/workflows/{workflow.pk}/status.json").status_code == 404
    fresh = Workflow.objects.get(pk=workflow.pk)
    assert fresh.is_active
    assert fresh.archived_at is None


def test_lifecycle_changes_refuse_get(client, workflow):
    response = client.get(f"/studio/workflows/{workflow.pk}/archive/")
    assert response.status_code == 405
    assert Workflow.objects.get(pk=workflow.pk).archived_at is None


# --- dashboard runs, durations, favicon ---------------------------------------------------


def test_recent_runs_link_to_their_run_page_with_human_durations(client, tenant):
    quiet = make_workflow(
        slug="quiet",
        tenant=tenant,
        rule_spec={},
        trigger_spec={"event_type": "order.placed"},
        graph={"nodes": [{"id": "trigger", "type": "trigger"}], "edges": []},
    )
    publish_version(workflow=quiet)
    emit_event("order.placed", {}, tenant=tenant)
    emit_event("order.placed", {}, tenant=tenant)
    quick, slow = ExecutionRun.objects.order_by("created_at")
    for run, ms in ((quick, 99), (slow, 9_500)):
        ExecutionRun.objects.filter(pk=run.pk).update(
            finished_at=run.started_at + timedelta(milliseconds=ms)
        )
    dashboard = page(client.get("/studio/"))
    runs = dashboard.split('id="recent-runs"')[1]
    assert f'href="/studio/runs/{quick.pk}/"' in runs
    assert f'href="/studio/runs/{slow.pk}/"' in runs
    assert '<td data-field="duration">99 ms</td>' in runs
    assert '<td data-field="duration">9.5 s</td>' in runs
    assert 'data-field="duration">0 minutes' not in runs
    listing = page(client.get("/studio/runs/"))
    assert "99 ms" in listing
    assert "9.5 s" in listing


def test_the_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert b"<svg" in b"".join(icon.streaming_content)
    assert 'rel="icon"' in page(client.get("/studio/"))


def test_the_run_page_of_a_run_still_waiting_renders(client, tenant):
    waiting = make_workflow(
        slug="waiting",
        tenant=tenant,
        rule_spec={},
        trigger_spec={"event_type": "order.placed"},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {"id": "wait", "type": "delay", "seconds": 600},
            ],
            "edges": [{"source": "trigger", "target": "wait"}],
        },
    )
    publish_version(workflow=waiting)
    emit_event("order.placed", {}, tenant=tenant)
    run = ExecutionRun.objects.get()
    response = client.get(f"/studio/runs/{run.pk}/")
    assert response.status_code == 200
    assert "hx-confirm=" in page(response).split('id="cancel-form"')[1].split(">")[0]


@pytest.mark.parametrize(
    "change",
    ["none", "graph", "moved", "rule", "trigger", "never-published"],
)
def test_the_dashboards_database_comparison_agrees_with_the_editors(change):
    """The dashboard compares definitions in the database (it reads none); the editor
    compares them in Python: both say the same for every kind of change."""
    from studio.views.lifecycle import has_unpublished_changes, unpublished_changes

    graph = {
        "nodes": [
            {"id": "trigger", "type": "trigger", "position": {"x": 0, "y": 0}},
            {"id": "say", "type": "transform", "inputs": {"a": 1}, "position": {"x": 200, "y": 0}},
        ],
        "edges": [{"source": "trigger", "target": "say"}],
    }
    workflow = make_workflow(slug=f"wf-{change}", graph=graph, rule_spec={"==": [1, 1]})
    if change != "never-published":
        publish_version(workflow=workflow)
    workflow = Workflow.objects.get(pk=workflow.pk)
    if change == "graph":
        workflow.draft_graph = {**graph, "nodes": [graph["nodes"][0]], "edges": []}
    elif change == "moved":
        moved = json.loads(json.dumps(graph))
        moved["nodes"][1]["position"] = {"x": 240, "y": 40}
        workflow.draft_graph = moved
    elif change == "rule":
        workflow.draft_rule_spec = {"==": [1, 2]}
    elif change == "trigger":
        workflow.draft_trigger_spec = {"event_type": "other.type"}
    workflow.save()
    expected = change not in ("none", "never-published")
    fresh = Workflow.objects.select_related("live_version").get(pk=workflow.pk)
    assert has_unpublished_changes(fresh) is expected
    annotated = Workflow.objects.annotate(u=unpublished_changes()).get(pk=workflow.pk)
    assert annotated.u is expected
