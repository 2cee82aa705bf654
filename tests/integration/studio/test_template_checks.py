"""The studio refuses templates that misuse a secret at every save, shows why, and never
shows the value; compiling a template for the panel computes nothing."""

import html
import json
import re
import tracemalloc

import pytest
from django.test import Client

from automate.governance.models import AuditLogEntry
from automate.workflows.models import Workflow
from tests.factories import make_studio_user, make_tenant, make_workflow

pytestmark = pytest.mark.django_db

SECRET = "xoxb-9Hk2Lm4Np6Qr8St0Uv"

GRAPH = {
    "nodes": [
        {"id": "trigger", "type": "trigger"},
        {
            "id": "notify",
            "type": "action",
            "connector": "log",
            "action": "write",
            "inputs": {"message": "Paid {{ event.payload.amount }}", "level": "info"},
        },
        {"id": "shape", "type": "transform", "inputs": {"cents": "{{ event.payload.amount }}"}},
    ],
    "edges": [
        {"source": "trigger", "target": "notify"},
        {"source": "trigger", "target": "shape"},
    ],
}

UNSAFE = [
    "{{ secrets.SLACK | reverse }}",
    "{{ secrets.SLACK[:9] }}",
    "{{ secrets.SLACK | upper }}",
    "{{ secrets.SLACK | b64encode }}",
    "{{ secrets.SLACK | join(' ') }}",
    "{{ secrets.A and secrets['X' ~ event.payload.n] }}",
    "{% macro m() %}{{ secrets.SLACK }}{% endmacro %}{{ m() | reverse }}",
]


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    monkeypatch.setenv("AUTOMATE_SLACK", SECRET)


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


def with_input(node_id, name, value):
    graph = json.loads(json.dumps(GRAPH))
    node = next(n for n in graph["nodes"] if n["id"] == node_id)
    node["inputs"][name] = value
    return graph


def put_draft(client, workflow, graph):
    return client.put(
        f"/studio/workflows/{workflow.pk}/draft.json",
        data=json.dumps({"revision": workflow.draft_revision, "graph": graph}),
        content_type="application/json",
    )


def htmx(client, method, path, data=None):
    response = getattr(client, method)(path, data or {}, HTTP_HX_REQUEST="true")
    return response.status_code, html.unescape(response.content.decode())


def url(workflow, node, what="panel"):
    return f"/studio/workflows/{workflow.pk}/nodes/{node}/{what}/"


@pytest.mark.parametrize("template", UNSAFE)
def test_the_draft_save_refuses_an_unsafe_template_and_writes_nothing(client, workflow, template):
    before = Workflow.objects.get(pk=workflow.pk)
    response = put_draft(client, workflow, with_input("notify", "message", template))
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "message", "details", "trace_id"}
    assert body["code"] == "invalid_workflow"
    [problem] = body["details"]["problems"]
    assert problem["node_id"] == "notify"
    assert problem["field"] == "inputs.message"
    assert problem["kind"] == "secret"
    after = Workflow.objects.get(pk=workflow.pk)
    assert after.draft_revision == before.draft_revision
    assert after.draft_graph == before.draft_graph
    assert SECRET not in response.content.decode()


def test_the_draft_save_keeps_an_unfinished_template_and_lists_it(client, workflow):
    response = put_draft(client, workflow, with_input("notify", "message", "{{ oops"))
    assert response.status_code == 200
    messages = [p["message"] for p in response.json()["problems"]]
    assert any("Template syntax error in inputs.message" in m for m in messages)
    workflow.refresh_from_db()
    assert workflow.draft_graph["nodes"][1]["inputs"]["message"] == "{{ oops"


def test_a_whole_secret_saves(client, workflow):
    response = put_draft(client, workflow, with_input("notify", "message", "t={{ secrets.SLACK }}"))
    assert response.status_code == 200


@pytest.mark.parametrize("template", UNSAFE[:4])
def test_the_panel_does_not_save_an_unsafe_action_input(client, workflow, template):
    status, page = htmx(
        client, "post", url(workflow, "notify"), {"input.message": template, "input.level": "info"}
    )
    assert status == 200
    assert "Nothing was saved" in page
    assert "a secret can only be placed whole" in page
    workflow.refresh_from_db()
    assert workflow.draft_graph["nodes"][1]["inputs"]["message"] == (
        "Paid {{ event.payload.amount }}"
    )
    assert SECRET not in page


def test_a_refused_panel_keeps_what_was_typed_in_every_field(client, workflow):
    status, page = htmx(
        client,
        "post",
        url(workflow, "notify"),
        {"input.message": "{{ secrets.SLACK | upper }}", "input.level": "warning"},
    )
    assert status == 200
    assert "Nothing was saved" in page
    # The refused template and the other edit are both still there to fix, not lost.
    assert ">{{ secrets.SLACK | upper }}</textarea>" in page or (
        'value="{{ secrets.SLACK | upper }}"' in page
    )
    assert re.search(r'<option value="warning"\s+selected', page)


@pytest.mark.parametrize("template", UNSAFE[4:])
def test_the_panel_does_not_save_an_unsafe_transform_mapping(client, workflow, template):
    status, page = htmx(
        client, "post", url(workflow, "shape"), {"mapping": json.dumps({"x": template})}
    )
    assert status == 200
    assert "Nothing was saved" in page
    assert "secret" in page
    workflow.refresh_from_db()
    assert workflow.draft_graph["nodes"][2]["inputs"] == {"cents": "{{ event.payload.amount }}"}


@pytest.mark.parametrize("template", UNSAFE)
def test_testing_a_step_with_an_unsafe_template_fails_without_the_value(client, workflow, template):
    # A draft stored before the check existed.
    Workflow.objects.filter(pk=workflow.pk).update(
        draft_graph=with_input("shape", "leak", template)
    )
    status, page = htmx(
        client, "post", url(workflow, "shape", "test"), {"payload": '{"n": 1, "amount": 5}'}
    )
    assert status == 200
    assert "a secret can only be placed whole" in page or "written literally" in page
    entry = AuditLogEntry.objects.get(action="studio.test_step")
    assert entry.details["ok"] is False
    for text in (page, json.dumps(entry.details)):
        for form in (SECRET, SECRET[::-1], SECRET.upper(), SECRET[:9], " ".join(SECRET)):
            assert form not in text


def test_the_panel_shows_the_refusal_of_a_stored_unsafe_template(client, workflow):
    Workflow.objects.filter(pk=workflow.pk).update(
        draft_graph=with_input("notify", "message", "{{ secrets.SLACK | reverse }}")
    )
    status, page = htmx(client, "get", url(workflow, "notify"))
    assert status == 200
    assert "secrets.SLACK is passed to the filter &#x27;reverse&#x27;" in page or (
        "secrets.SLACK is passed to the filter 'reverse'" in page
    )


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'a'|center(200000000) }}",
        "{{ 'a'|indent(200000000) }}",
        "{{ '%200000000d'|format(1) }}",
        "{{ 'x'|replace('x', 'y' * 200000000) }}",
    ],
)
def test_opening_a_panel_does_not_fold_huge_constants(client, workflow, template):
    Workflow.objects.filter(pk=workflow.pk).update(
        draft_graph=with_input("notify", "message", template)
    )
    tracemalloc.start()
    try:
        status, _ = htmx(client, "get", url(workflow, "notify"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 200
    assert peak < 50_000_000
