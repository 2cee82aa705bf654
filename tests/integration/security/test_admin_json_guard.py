"""The admin's workflow form: a hand-edited draft goes through the input guard and the
definition limits (a form error, never a 500, nothing saved)."""

import json

import pytest

from automate.workflows.models import Workflow
from automate.workflows.services import create_workflow
from tests.factories import make_tenant, make_user

pytestmark = pytest.mark.django_db

GRAPH = {"nodes": [{"id": "trigger", "type": "trigger"}], "edges": []}


def deep_list(depth):
    value = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.fixture
def admin_client(client):
    client.force_login(make_user(superuser=True))
    return client


def change(client, workflow, **fields):
    data = {
        "tenant": workflow.tenant_id,
        "slug": workflow.slug,
        "name": workflow.name,
        "description": "",
        "is_active": "on",
        "draft_trigger_spec": json.dumps(workflow.draft_trigger_spec),
        "draft_rule_spec": json.dumps(workflow.draft_rule_spec),
        "draft_graph": json.dumps(workflow.draft_graph),
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
        **fields,
    }
    return client.post(f"/admin/automate/workflow/{workflow.pk}/change/", data)


def test_a_valid_change_is_saved(admin_client):
    workflow = create_workflow(name="Flow", slug="flow", tenant=make_tenant("acme"), graph=GRAPH)
    response = change(admin_client, workflow, name="Renamed")
    assert response.status_code == 302
    workflow.refresh_from_db()
    assert workflow.name == "Renamed"


@pytest.mark.parametrize(
    "text",
    [
        "[" * 10_000 + "]" * 10_000,
        '{"n": ' + "9" * 5_000 + "}",
        '{"n": NaN}',
        '{"a": "\\u0000"}',
        '{"\\ud800": 1}',
        json.dumps(
            {"nodes": [{"id": "trigger", "type": "trigger", "x": deep_list(40)}], "edges": []}
        ),
    ],
    ids=["deep-10000", "huge-int", "nan", "nul", "surrogate", "over-definition-depth"],
)
def test_a_hostile_draft_graph_is_a_form_error_and_nothing_is_saved(admin_client, text):
    workflow = create_workflow(name="Flow", slug="flow", tenant=make_tenant("acme"), graph=GRAPH)
    response = change(admin_client, workflow, draft_graph=text)
    assert response.status_code == 200  # the form again, with the error
    assert "errornote" in response.content.decode()
    assert Workflow.objects.get(pk=workflow.pk).draft_graph == GRAPH
