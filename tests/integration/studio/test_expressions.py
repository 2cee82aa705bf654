"""The expression editor's preview endpoint and variables, and run data in the node panel."""

import html
import json

import pytest
from django.test import Client, override_settings

from automate.events.services import record_event
from automate.execution.models import ExecutionRun, StepRun
from automate.workflows.models import WorkflowVersion
from tests.factories import make_studio_user, make_tenant, make_user, make_workflow

pytestmark = pytest.mark.django_db

CANARY = "canary-value-5e1d9b3c"

GRAPH = {
    "nodes": [
        {"id": "trigger", "type": "trigger", "label": "Invoice paid"},
        {"id": "shape", "type": "transform", "inputs": {"cents": "{{ event.payload.amount }}"}},
        {
            "id": "notify",
            "type": "action",
            "connector": "log",
            "action": "write",
            "inputs": {"message": "Paid {{ event.payload.amount }}", "level": "info"},
        },
    ],
    "edges": [
        {"source": "trigger", "target": "shape"},
        {"source": "shape", "target": "notify"},
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


@pytest.fixture
def sample(tenant):
    event, _ = record_event(
        type="invoice.paid",
        source="stripe",
        payload={"amount": 42, "customer": {"email": "ada@example.com"}, "api_key": CANARY},
        tenant="acme",
        enqueue=False,
    )
    return event


def url(workflow, node, what="preview"):
    return f"/studio/workflows/{workflow.pk}/nodes/{node}/{what}/"


def preview(client, workflow, template, node="notify", **extra):
    return client.post(url(workflow, node), {"template": template, **extra})


def a_run(workflow, event, node_id, *, outputs, inputs=None, status=StepRun.Status.SUCCEEDED):
    version = WorkflowVersion.objects.create(
        workflow=workflow,
        version_num=WorkflowVersion.objects.filter(workflow=workflow).count() + 1,
        trigger_spec=workflow.draft_trigger_spec,
        rule_spec=workflow.draft_rule_spec,
        graph=workflow.draft_graph,
    )
    run = ExecutionRun.objects.create(
        tenant=workflow.tenant, workflow_version=version, event=event, trace_id="t" * 32
    )
    return StepRun.objects.create(
        run=run, node_id=node_id, status=status, inputs=inputs or {}, outputs=outputs
    )


# --- the preview ------------------------------------------------------------------------------


def test_preview_renders_against_the_latest_sample_event(client, workflow, sample):
    answer = preview(client, workflow, "Paid {{ event.payload.amount }} by {{ event.type }}")
    assert answer.status_code == 200
    assert answer.json() == {
        "value": "Paid 42 by invoice.paid",
        "error": "",
        "kind": "",
        "warnings": [],
        # It says where the data came from (pinned data would come first).
        "source": "sample event",
        "sources": [{"name": "event", "from": "event", "label": "sample event"}],
    }
    # One expression keeps its type, as in a run.
    assert preview(client, workflow, "{{ event.payload.amount }}").json()["value"] == 42


def test_preview_of_a_json_field_renders_each_string(client, workflow, sample):
    answer = preview(
        client, workflow, '{"n": "{{ event.payload.amount }}", "k": 1}', node="shape", kind="json"
    ).json()
    assert answer["value"] == {"n": 42, "k": 1}
    bad = preview(client, workflow, '{"n": ', node="shape", kind="json").json()
    assert bad["value"] is None
    assert "line 1" in bad["error"]


def test_preview_uses_the_last_output_of_an_upstream_step(client, workflow, sample):
    answer = preview(client, workflow, "{{ steps.shape.output.cents }}").json()
    assert answer["value"] is None
    assert "shape" in answer["error"] or "steps" in answer["error"]
    assert any("has no output yet" in w for w in answer["warnings"])
    a_run(workflow, sample, "shape", outputs={"cents": 4200})
    assert preview(client, workflow, "{{ steps.shape.output.cents }}").json()["value"] == 4200


def test_syntax_errors_and_undefined_variables_are_shown(client, workflow, sample):
    syntax = preview(client, workflow, "Hello {{ event.id ").json()
    assert syntax["kind"] == "syntax"
    assert syntax["error"].startswith("Template syntax error in value")
    undefined = preview(client, workflow, "{{ event.payload.coupon }}").json()
    assert undefined["kind"] == "undefined"
    assert "coupon" in undefined["error"]


def test_the_sandbox_refuses_what_a_run_refuses(client, workflow, sample):
    escape = preview(client, workflow, "{{ ''.__class__.__mro__ }}").json()
    assert escape["value"] is None
    assert escape["error"]
    huge = preview(client, workflow, "{{ range(10**9) | list }}").json()
    assert huge["value"] is None
    assert huge["kind"] in {"security", "limit", "error"}
    assert huge["error"]


@override_settings(DJANGO_AUTOMATE={"TEMPLATES": {"max_output_bytes": 100}})
def test_the_run_limits_apply_to_the_preview(client, workflow, sample):
    answer = preview(client, workflow, "{{ 'x' * 500 }}").json()
    assert answer["kind"] == "limit"


def test_secrets_are_never_resolved(client, workflow, sample, monkeypatch):
    monkeypatch.setenv("AUTOMATE_X", CANARY)
    for template in ("Bearer {{ secrets.X }}", "$secret:X", "{{ secrets['X'] }}"):
        answer = preview(client, workflow, template)
        assert CANARY not in answer.content.decode()
        assert "«secret X»" in answer.json()["value"]
        assert any("never reads them" in w for w in answer.json()["warnings"])
    ref = preview(client, workflow, '{"header": {"$secret": "X"}}', node="shape", kind="json")
    assert ref.json()["value"] == {"header": "«secret X»"}
    assert preview(client, workflow, "{{ secrets.X | upper }}").json()["kind"] == "secret"


def test_redacted_like_the_explorer(client, workflow, sample):
    answer = preview(client, workflow, "{{ event.payload }}")
    assert CANARY not in answer.content.decode()
    assert answer.json()["value"]["api_key"] == "********"


def test_preview_is_tenant_scoped(client, workflow, sample):
    other = make_workflow(slug="theirs", tenant=make_tenant("other"), graph=GRAPH)
    answer = preview(client, other, "{{ event.type }}")
    assert answer.status_code == 404
    assert answer.json()["code"] == "resource_not_found"
    assert preview(client, workflow, "x", node="nope").status_code == 404


def test_preview_needs_the_change_permission_and_csrf(workflow, tenant):
    viewer = make_user("viewer", perms=["automate.use_studio"])
    tenant.members.add(viewer)
    client = Client()
    client.force_login(viewer)
    refused = preview(client, workflow, "{{ event.type }}")
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    strict = Client(enforce_csrf_checks=True)
    author = make_studio_user("author")
    tenant.members.add(author)
    strict.force_login(author)
    assert preview(strict, workflow, "{{ event.type }}").status_code == 403
    assert Client().post(url(workflow, "notify"), {"template": "x"}).status_code == 302
    assert client.get(url(workflow, "notify")).status_code == 405


def test_input_the_guard_refuses_is_a_400(client, workflow):
    answer = preview(client, workflow, "a\x00b")
    assert answer.status_code == 400
    assert answer.json()["code"]
    deep = "[" * 500 + "]" * 500
    refused = preview(client, workflow, deep, node="shape", kind="json")
    assert refused.status_code == 400


# --- the variables list -----------------------------------------------------------------------


def panel(client, workflow, node):
    response = client.get(url(workflow, node, "panel"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_variables_come_from_the_sample_and_the_last_outputs(client, workflow, sample):
    page = panel(client, workflow, "notify")
    assert 'data-insert="event.payload.customer.email"' in page
    assert 'data-insert="steps.shape.output"' in page
    assert "No output yet from shape" in page
    assert 'data-expr="text"' in page
    assert 'id="node-variables-data"' in page
    a_run(workflow, sample, "shape", outputs={"cents": 4200, "lines": [{"sku": "A"}]})
    page = panel(client, workflow, "notify")
    assert 'data-insert="steps.shape.output.cents"' in page
    assert 'data-insert="steps.shape.output.lines.0.sku"' in page
    assert "No output yet from shape" not in page
    assert CANARY not in page  # the sample's secret-looking value is redacted in hints


# --- run data ---------------------------------------------------------------------------------


def test_the_panel_shows_the_latest_step_run_redacted(client, workflow, sample):
    page = panel(client, workflow, "notify")
    assert "This step has not run yet" in page
    a_run(workflow, sample, "notify", outputs={"ok": "stale-output"}, inputs={"message": "old"})
    step = a_run(
        workflow,
        sample,
        "notify",
        outputs={"ok": "newest", "password": CANARY},
        inputs={"message": "Paid 42"},
    )
    page = panel(client, workflow, "notify")
    assert '"ok": "newest"' in page
    assert "stale-output" not in page
    assert '"message": "Paid 42"' in page
    assert CANARY not in page
    assert f'href="/studio/runs/{step.run_id}/"' in page
    assert f'href="/studio/runs/?workflow={workflow.pk}"' in page


def test_another_tenants_runs_are_not_shown(client, workflow, sample):
    theirs = make_workflow(slug="flow", tenant=make_tenant("other"), graph=GRAPH)
    event, _ = record_event(type="invoice.paid", payload={}, tenant="other", enqueue=False)
    a_run(theirs, event, "notify", outputs={"ok": "not-yours"})
    page = panel(client, workflow, "notify")
    assert "not-yours" not in page


def test_a_test_of_the_step_shows_as_its_last_data(client, workflow, sample):
    response = client.post(
        url(workflow, "shape", "test"),
        {"payload": f'{{"amount": 7, "secret": "{CANARY}"}}'},
        HTTP_HX_REQUEST="true",
    )
    body = html.unescape(response.content.decode())
    assert 'id="node-run-data" hx-swap-oob="true"' in body
    assert "Last test" in body
    assert '"cents": 7' in body
    assert CANARY not in body
    page = panel(client, workflow, "shape")
    assert "Last test" in page
    assert '"cents": 7' in page
    # The test's output feeds the next step's variables and preview.
    assert 'data-insert="steps.shape.output.cents"' in panel(client, workflow, "notify")
    assert preview(client, workflow, "{{ steps.shape.output.cents }}").json()["value"] == 7


def test_the_editor_links_to_this_workflows_runs(client, workflow):
    page = client.get(f"/studio/workflows/{workflow.pk}/").content.decode()
    assert f'href="/studio/runs/?workflow={workflow.pk}"' in page


def test_a_tested_condition_shows_its_output_without_an_empty_input(client, workflow, sample):
    graph = json.loads(json.dumps(GRAPH))
    graph["nodes"].append(
        {"id": "big", "type": "condition", "condition": {">": [{"var": "event.payload.n"}, 1]}}
    )
    graph["edges"].append({"source": "shape", "target": "big"})
    workflow.draft_graph = graph
    workflow.save(update_fields=["draft_graph"])
    client.post(url(workflow, "big", "test"), {"payload": '{"n": 5}'}, HTTP_HX_REQUEST="true")
    page = panel(client, workflow, "big")
    assert '"branch": "true"' in page
    assert 'data-part="input"' not in page
