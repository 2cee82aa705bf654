"""A draft stored before today's limits (or written straight into the database) is shown
with a message saying what is wrong, never a 500, and can be replaced."""

import json
import sys

import pytest

from automate.workflows.services import create_workflow
from tests.factories import make_studio_user, make_tenant

pytestmark = pytest.mark.django_db

# Deep enough that the studio's own recursive code overflows, yet shallow enough that the
# JSON decoder still loads the row from a view's stack (about 910 levels on Python 3.10
# and 3.11 with the default recursion limit of 1000).
DEEP = 880

GRAPH = {"nodes": [{"id": "trigger", "type": "trigger"}], "edges": []}


def deep_list(depth):
    value = "x"
    for _ in range(depth):
        value = [value]
    return value


def deep_rule(depth):
    rule = {"==": [1, 1]}
    for _ in range(depth // 2):
        rule = {"!": [rule]}
    return rule


@pytest.fixture
def editor(client):
    tenant = make_tenant("acme")
    user = make_studio_user()
    tenant.members.add(user)
    client.force_login(user)
    client.tenant = tenant
    return client


def stored(tenant, *, graph=None, rule=None):
    workflow = create_workflow(name="Old", slug="old", tenant=tenant, graph=GRAPH)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)
    try:
        if graph is not None:
            workflow.draft_graph = graph
        if rule is not None:
            workflow.draft_rule_spec = rule
        workflow.save()
    finally:
        sys.setrecursionlimit(old)
    return workflow


def deep_graph(depth):
    return {
        "nodes": [
            {"id": "trigger", "type": "trigger"},
            {"id": "deep", "type": "transform", "inputs": {"x": deep_list(depth)}},
        ],
        "edges": [{"source": "trigger", "target": "deep"}],
    }


@pytest.mark.parametrize("depth", [40, DEEP])
def test_the_node_panel_of_an_over_limit_step_says_so_and_saving_replaces_it(editor, depth):
    workflow = stored(editor.tenant, graph=deep_graph(depth))
    url = f"/studio/workflows/{workflow.pk}/nodes/deep/panel/"
    response = editor.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = response.content.decode()
    assert "The stored settings of this step cannot be shown" in page
    assert "nested more than 32 levels" in page
    # Saving the form replaces the stored inputs.
    saved = editor.post(url, {"label": "Deep", "mapping": '{"x": 1}'}, HTTP_HX_REQUEST="true")
    assert saved.status_code == 200
    assert "Saved to the draft" in saved.content.decode()
    workflow.refresh_from_db()
    assert workflow.draft_graph["nodes"][1]["inputs"] == {"x": 1}


@pytest.mark.parametrize("depth", [40, DEEP])
def test_the_rules_tab_of_an_over_limit_rule_says_so(editor, depth):
    workflow = stored(editor.tenant, rule=deep_rule(depth))
    response = editor.get(f"/studio/workflows/{workflow.pk}/rules/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "nested more than 32 levels" in response.content.decode()
    # A valid rule replaces it.
    saved = editor.post(f"/studio/workflows/{workflow.pk}/rules/save/", {"rule_spec": "{}"})
    assert saved.status_code == 200
    workflow.refresh_from_db()
    assert workflow.draft_rule_spec == {}


@pytest.mark.parametrize("depth", [40, DEEP])
def test_the_draft_of_an_over_limit_workflow_can_be_read_and_replaced(editor, depth):
    workflow = stored(editor.tenant, graph=deep_graph(depth))
    url = f"/studio/workflows/{workflow.pk}/draft.json"
    response = editor.get(url)
    assert response.status_code < 500
    if response.status_code == 200:
        assert response.json()["problems"][0]["node_id"] == "deep"
    else:
        assert response.json()["code"] == "definition_over_limits"
    put = editor.put(
        url,
        data=json.dumps({"revision": workflow.draft_revision, "graph": GRAPH}),
        content_type="application/json",
    )
    assert put.status_code == 200
