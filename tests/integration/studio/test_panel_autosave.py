"""The node panel's autosave: the panel form posted for JSON, with the draft revision.

What the editor's panel_autosave.js relies on: a valid form is saved and answers the new
revision; refused input saves nothing and answers a 4xx in the error shape naming the
field; a stale revision is a 409 like the canvas autosave, so two tabs conflict cleanly.
"""

import json

import pytest
from django.test import Client

from automate.workflows.models import Workflow
from tests.factories import make_studio_user, make_tenant, make_user, make_workflow

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}
ERROR_KEYS = {"code", "message", "details", "trace_id"}

GRAPH = {
    "nodes": [
        {"id": "trigger", "type": "trigger", "label": "Invoice paid"},
        {
            "id": "notify",
            "type": "action",
            "label": "Log it",
            "connector": "log",
            "action": "write",
            "inputs": {"message": "Paid", "level": "info"},
        },
        {"id": "shape", "type": "transform", "inputs": {"cents": 1}},
        {"id": "check", "type": "condition", "condition": {">": [{"var": "x"}, 1]}},
    ],
    "edges": [
        {"source": "trigger", "target": "notify"},
        {"source": "notify", "target": "shape"},
        {"source": "shape", "target": "check"},
    ],
}


@pytest.fixture
def tenant():
    return make_tenant("acme")


@pytest.fixture
def client(tenant):
    user = make_studio_user("ana")
    tenant.members.add(user)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def workflow(tenant):
    return make_workflow(slug="flow", tenant=tenant, graph=json.loads(json.dumps(GRAPH)))


def url(workflow, node_id):
    return f"/studio/workflows/{workflow.pk}/nodes/{node_id}/panel/"


def stored(workflow):
    fresh = Workflow.objects.get(pk=workflow.pk)
    return fresh.draft_revision, fresh.draft_graph, fresh.draft_trigger_spec


def node(workflow, node_id):
    graph = Workflow.objects.get(pk=workflow.pk).draft_graph
    return next(n for n in graph["nodes"] if n["id"] == node_id)


def test_a_valid_form_is_saved_and_answers_the_new_revision(client, workflow):
    revision = workflow.draft_revision
    response = client.post(
        url(workflow, "check"),
        {"revision": revision, "label": "Big?", "condition": '{"<": [{"var": "x"}, 5]}'},
        **JSON,
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["revision"] == revision + 1
    assert body["node_id"] == "check"
    assert node(workflow, "check")["label"] == "Big?"
    assert node(workflow, "check")["condition"] == {"<": [{"var": "x"}, 5]}


def test_a_saved_template_syntax_error_comes_back_as_a_warning_on_its_field(client, workflow):
    response = client.post(
        url(workflow, "notify"),
        {
            "revision": workflow.draft_revision,
            "label": "Log it",
            "input.message": "Hello {{ event.id ",
            "input.level": "info",
        },
        **JSON,
    )
    assert response.status_code == 200, response.content
    assert response.json()["warnings"]["input.message"]
    assert node(workflow, "notify")["inputs"]["message"] == "Hello {{ event.id "


def test_invalid_json_saves_nothing_and_names_the_field(client, workflow):
    before = stored(workflow)
    response = client.post(
        url(workflow, "check"),
        {"revision": workflow.draft_revision, "label": "Changed", "condition": '{"<": [1,'},
        **JSON,
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == "invalid_panel_input"
    assert "not valid JSON" in body["message"]  # the one refused field says why
    assert "not valid JSON" in body["details"]["fields"]["condition"][0]
    assert stored(workflow) == before  # not even the valid label


def test_a_refused_number_saves_nothing(client, workflow):
    before = stored(workflow)
    response = client.post(
        url(workflow, "notify"),
        {
            "revision": workflow.draft_revision,
            "label": "Log it",
            "input.message": "Paid",
            "max_retries": "many",
        },
        **JSON,
    )
    assert response.status_code == 400
    assert "whole number" in response.json()["details"]["fields"]["max_retries"][0]
    assert stored(workflow) == before


@pytest.mark.parametrize(
    "form",
    [
        {
            "label": "Shape",
            "mapping": json.dumps(
                {"x": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}
            ),
        },
        {"label": "Sha\x00pe", "mapping": "{}"},
        {"label": "Shape", "mapping": '{"n": 1' + "0" * 1100 + "}"},
    ],
    ids=["too-deep", "nul", "huge-number"],
)
def test_input_the_guard_refuses_is_a_4xx_in_the_error_shape(client, workflow, form):
    before = stored(workflow)
    response = client.post(
        url(workflow, "shape"), {"revision": workflow.draft_revision, **form}, **JSON
    )
    assert 400 <= response.status_code < 500, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["message"]
    assert stored(workflow) == before


def test_a_stale_revision_is_a_conflict_and_saves_nothing(client, workflow):
    # Another tab saved first: this form was edited from the revision before.
    old = workflow.draft_revision
    rule = '{">": [{"var": "x"}, 1]}'
    first = client.post(
        url(workflow, "check"), {"revision": old, "label": "Tab A", "condition": rule}, **JSON
    )
    assert first.status_code == 200
    before = stored(workflow)
    response = client.post(
        url(workflow, "check"), {"revision": old, "label": "Tab B", "condition": rule}, **JSON
    )
    assert response.status_code == 409
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == "stale_draft"
    assert body["details"]["revision"] == old + 1
    assert stored(workflow) == before
    assert node(workflow, "check")["label"] == "Tab A"


def test_a_revision_that_is_not_a_number_is_refused(client, workflow):
    before = stored(workflow)
    response = client.post(url(workflow, "check"), {"revision": "x", "label": "B"}, **JSON)
    assert response.status_code == 400
    assert response.json()["details"]["fields"]["revision"]
    assert stored(workflow) == before


def test_the_html_form_also_refuses_a_stale_revision(client, workflow):
    old = workflow.draft_revision
    client.post(
        url(workflow, "trigger"), {"revision": old, "label": "Tab A", "event_type": "x"}, **JSON
    )
    before = stored(workflow)
    response = client.post(
        url(workflow, "trigger"),
        {"revision": old, "label": "Old tab", "event_type": "x"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert "Someone else changed this workflow" in response.content.decode()
    assert stored(workflow) == before


def test_unknown_node_other_tenant_and_missing_permission(client, workflow, tenant):
    response = client.post(url(workflow, "nope"), {"revision": 1}, **JSON)
    assert response.status_code == 404
    assert response.json()["code"] == "resource_not_found"

    other = make_workflow(slug="theirs", tenant=make_tenant("other"), graph=GRAPH)
    response = client.post(url(other, "check"), {"revision": 1, "label": "x"}, **JSON)
    assert response.status_code == 404

    reader = make_user("reader", perms=["automate.use_studio"])
    tenant.members.add(reader)
    reading = Client()
    reading.force_login(reader)
    before = stored(workflow)
    response = reading.post(
        url(workflow, "check"), {"revision": workflow.draft_revision, "label": "x"}, **JSON
    )
    assert response.status_code == 403
    assert set(response.json()) == ERROR_KEYS
    assert stored(workflow) == before


def test_the_panel_carries_its_autosave_hooks(client, workflow):
    page = client.get(url(workflow, "notify"), HTTP_HX_REQUEST="true").content.decode()
    assert 'id="node-settings"' in page
    assert f'name="revision" value="{workflow.draft_revision}"' in page
    assert 'id="panel-save-state"' in page
    assert 'data-msgs-for="input.message"' in page
    assert 'data-warns-for="input.message"' in page
