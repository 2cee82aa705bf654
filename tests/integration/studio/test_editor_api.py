import json

import pytest
from django.test import Client, override_settings

from automate.workflows.models import Workflow
from tests.factories import make_studio_user, make_tenant, make_user, make_workflow

pytestmark = pytest.mark.django_db

GRAPH = {
    "nodes": [
        {"id": "trigger", "type": "trigger", "label": "Paid", "position": {"x": 40, "y": 120}},
        {
            "id": "notify",
            "type": "action",
            "connector": "log",
            "action": "write",
            "label": "Note it",
            "inputs": {"message": "Paid {{ event.payload.amount }}"},
            "retry": {"max_retries": 2},
            "position": {"x": 320, "y": 120},
            "ui": {"colour": "teal", "collapsed": False},
        },
    ],
    "edges": [{"source": "trigger", "target": "notify", "ui": {"bend": 3}}],
    "viewport": {"zoom": 0.8},
}


def draft_url(workflow):
    return f"/studio/workflows/{workflow.pk}/draft.json"


def put(client, workflow, body, **extra):
    return client.put(
        draft_url(workflow),
        data=json.dumps(body) if not isinstance(body, str | bytes) else body,
        content_type="application/json",
        **extra,
    )


@pytest.fixture
def editor(client):
    tenant = make_tenant("acme")
    user = make_studio_user("ed")
    tenant.members.add(user)
    client.force_login(user)
    client.tenant = tenant
    return client


def test_editor_page_carries_its_data_and_the_panel_regions(editor):
    workflow = make_workflow(slug="flow", name="My flow", tenant=editor.tenant)
    page = editor.get(f"/studio/workflows/{workflow.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    for region in ('id="panel-body"', 'id="tab-node"', 'id="tab-rules"', 'id="tab-history"'):
        assert region in html
    assert 'id="publish-result"' in html
    assert f'hx-post="/studio/workflows/{workflow.pk}/publish/"' in html
    assert 'id="editor-data"' in html
    assert "studio/editor/main.js" in html
    data = json.loads(
        html.split('id="editor-data" type="application/json">')[1].split("</script>")[0]
    )
    assert data["draftUrl"] == draft_url(workflow)
    assert data["paletteUrl"] == "/studio/palette.json"
    assert data["status"] == {"published": False, "version": None}
    assert 'value="My flow"' in html


def test_draft_round_trip_keeps_keys_the_editor_does_not_know(editor):
    workflow = make_workflow(slug="flow", tenant=editor.tenant)
    first = editor.get(draft_url(workflow)).json()
    assert set(first) == {
        "revision",
        "name",
        "trigger_spec",
        "rule_spec",
        "graph",
        "notes_html",
        "problems",
        "warnings",
        "pinned",
    }
    assert first["revision"] == 0
    assert first["notes_html"] == {}

    saved = put(editor, workflow, {"revision": 0, "graph": GRAPH, "name": "Renamed"})
    assert saved.status_code == 200
    assert saved.json() == {"revision": 1, "problems": [], "unpublished": False, "warnings": []}

    again = editor.get(draft_url(workflow)).json()
    assert again["graph"] == GRAPH
    assert again["name"] == "Renamed"
    assert again["revision"] == 1
    workflow.refresh_from_db()
    assert workflow.draft_graph["nodes"][1]["ui"] == {"colour": "teal", "collapsed": False}
    assert workflow.draft_revision == 1


def test_invalid_graphs_save_as_drafts_and_come_back_with_problems(editor):
    workflow = make_workflow(slug="flow", tenant=editor.tenant)
    graph = {
        "nodes": [
            {"id": "trigger", "type": "trigger"},
            {"id": "lonely", "type": "action", "connector": "http"},
        ],
        "edges": [],
    }
    response = put(editor, workflow, {"revision": 0, "graph": graph})
    assert response.status_code == 200
    problems = response.json()["problems"]
    assert {p["node_id"] for p in problems} == {"lonely"}
    assert editor.get(draft_url(workflow)).json()["problems"] == problems


def test_a_stale_revision_is_refused_and_changes_nothing(editor):
    workflow = make_workflow(slug="flow", tenant=editor.tenant)
    assert put(editor, workflow, {"revision": 0, "graph": GRAPH}).status_code == 200
    stale = put(editor, workflow, {"revision": 0, "graph": {"nodes": [], "edges": []}})
    assert stale.status_code == 409
    body = stale.json()
    assert body["code"] == "stale_draft"
    assert body["details"] == {"revision": 1}
    assert set(body) == {"code", "message", "details", "trace_id"}
    workflow.refresh_from_db()
    assert workflow.draft_graph == GRAPH
    assert workflow.draft_revision == 1


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "[]",
        {"graph": GRAPH},
        {"revision": "0", "graph": GRAPH},
        {"revision": True, "graph": GRAPH},
        {"revision": 0, "graph": []},
        {"revision": 0, "graph": {"nodes": {}, "edges": []}},
        {"revision": 0, "graph": {"nodes": []}},
        {"revision": 0, "graph": {"nodes": ["trigger"], "edges": []}},
        {"revision": 0, "name": ""},
        {"revision": 0, "name": "x" * 201},
        {"revision": 0, "trigger_spec": "invoice.paid"},
        {"revision": 0, "rule_spec": [1]},
    ],
)
def test_malformed_bodies_get_400_in_the_error_shape_and_change_nothing(editor, body):
    workflow = make_workflow(slug="flow", name="Kept", tenant=editor.tenant)
    before = editor.get(draft_url(workflow)).json()
    response = put(editor, workflow, body)
    assert response.status_code == 400
    error = response.json()
    assert set(error) == {"code", "message", "details", "trace_id"}
    assert error["code"] in {"malformed_request", "invalid_request"}
    assert editor.get(draft_url(workflow)).json() == before


def test_specs_and_name_can_be_saved_without_the_graph(editor):
    workflow = make_workflow(slug="flow", tenant=editor.tenant)
    graph = editor.get(draft_url(workflow)).json()["graph"]
    response = put(
        editor,
        workflow,
        {"revision": 0, "trigger_spec": {"event_type": "order.created"}, "rule_spec": {}},
    )
    assert response.status_code == 200
    draft = editor.get(draft_url(workflow)).json()
    assert draft["trigger_spec"] == {"event_type": "order.created"}
    assert draft["rule_spec"] == {}
    assert draft["graph"] == graph


def test_other_tenants_workflows_are_not_found(editor):
    theirs = make_workflow(slug="theirs", tenant=make_tenant("other"))
    assert editor.get(f"/studio/workflows/{theirs.pk}/").status_code == 404
    assert editor.get(draft_url(theirs)).status_code == 404
    response = put(editor, theirs, {"revision": 0, "graph": GRAPH})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.draft_revision == 0
    assert editor.get("/studio/workflows/999999/").status_code == 404


def test_login_and_the_studio_permission_are_required(client):
    workflow = make_workflow(slug="flow")
    for url in (f"/studio/workflows/{workflow.pk}/", draft_url(workflow), "/studio/palette.json"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/studio/login/")
    client.force_login(make_user())
    assert client.get(draft_url(workflow)).status_code == 403
    assert put(client, workflow, {"revision": 0, "graph": GRAPH}).status_code == 403
    assert client.get("/studio/palette.json").status_code == 403
    workflow.refresh_from_db()
    assert workflow.draft_revision == 0


def test_draft_writes_need_csrf():
    workflow = make_workflow(slug="flow")
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(superuser=True))
    assert client.get(draft_url(workflow)).status_code == 200
    response = put(client, workflow, {"revision": 0, "graph": GRAPH})
    assert response.status_code == 403
    workflow.refresh_from_db()
    assert workflow.draft_revision == 0
    client.get(f"/studio/workflows/{workflow.pk}/")  # the page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    ok = put(client, workflow, {"revision": 0, "graph": GRAPH}, HTTP_X_CSRFTOKEN=token)
    assert ok.status_code == 200


def test_only_get_and_put_are_allowed(editor):
    workflow = make_workflow(slug="flow", tenant=editor.tenant)
    assert editor.post(draft_url(workflow), {}).status_code == 405
    assert editor.delete(draft_url(workflow)).status_code == 405
    assert Workflow.objects.get(pk=workflow.pk).draft_revision == 0


def test_palette_lists_logic_nodes_and_builtin_connectors(editor):
    palette = editor.get("/studio/palette.json").json()
    assert [t["kind"] for t in palette["triggers"]] == ["trigger", "webhook", "schedule"]
    assert {t["type"] for t in palette["triggers"]} == {"trigger"}
    assert [n["type"] for n in palette["logic"]] == ["condition", "delay", "transform", "merge"]
    codes = {group["code"] for group in palette["connectors"]}
    assert {"http", "slack", "log", "email", "webhook"} <= codes
    http = next(group for group in palette["connectors"] if group["code"] == "http")
    action = http["actions"][0]
    assert action["type"] == "action"
    assert action["connector"] == "http"
    assert action["label"]
    assert action["input_schema"]["type"] == "object"
    slack = next(group for group in palette["connectors"] if group["code"] == "slack")
    assert any(a["secret_fields"] for a in slack["actions"])


@override_settings(DJANGO_AUTOMATE={"POLICY": {"connector_allowlist": ["http", "log"]}})
def test_palette_hides_connectors_the_policy_does_not_allow(editor):
    palette = editor.get("/studio/palette.json").json()
    assert {group["code"] for group in palette["connectors"]} == {"http", "log"}
