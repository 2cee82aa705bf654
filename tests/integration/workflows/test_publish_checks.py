"""Publishing refuses a step that would fail when it runs: required inputs left empty,
template syntax errors (also deep in nested and list inputs) and inputs that break their
connector's schema; each problem names its node and field, on every publish path (Python
API, studio, ``automate_import``), and nothing is written. Variables no sample event has
are warnings: shown, but publishing goes ahead."""

import copy
import html
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from automate.events.models import Event
from automate.workflows import WorkflowValidationError
from automate.workflows.files import parse_workflow_file
from automate.workflows.models import Workflow, WorkflowVersion
from automate.workflows.services import publish_problems, publish_version, publish_warnings
from automate.workflows.variable_checks import unknown_variable_warnings
from studio import services as studio_services
from tests.factories import INVOICE_TRIGGER, make_studio_user, make_tenant, make_workflow

pytestmark = pytest.mark.django_db

SECRET = {"$secret": "SLACK_TOKEN"}


def one_step(connector, action, inputs, node_id="step"):
    return {
        "nodes": [
            {"id": "trigger", "type": "trigger"},
            {
                "id": node_id,
                "type": "action",
                "connector": connector,
                "action": action,
                "inputs": inputs,
            },
        ],
        "edges": [{"source": "trigger", "target": node_id}],
    }


@pytest.fixture(autouse=True)
def slack_token(monkeypatch):
    monkeypatch.setenv("AUTOMATE_SLACK_TOKEN", "xoxb-test-token-value")


@pytest.fixture
def tenant():
    return make_tenant("acme")


def refused(graph, tenant):
    workflow = make_workflow(slug="flow", tenant=tenant, graph=graph)
    with pytest.raises(WorkflowValidationError) as info:
        publish_version(workflow=workflow)
    assert not WorkflowVersion.objects.filter(workflow=workflow).exists()
    workflow.refresh_from_db()
    assert workflow.live_version is None
    return [(p["node_id"], p["field"], p.get("kind")) for p in info.value.problems], info.value


# --- required inputs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("connector", "action", "inputs", "missing"),
    [
        (
            "slack",
            "post_message",
            {},
            ["inputs.channel", "inputs.text", "inputs.token"],
        ),
        (
            "slack",
            "post_message",
            {"token": "", "channel": "", "text": None},
            ["inputs.channel", "inputs.text", "inputs.token"],
        ),
        ("log", "write", {"level": "info"}, ["inputs.message"]),
        ("email", "send", {"to": "a@example.com"}, ["inputs.subject", "inputs.text"]),
        ("http", "request", {"method": "POST"}, ["inputs.url"]),
    ],
)
def test_a_required_input_left_empty_is_refused_on_its_node(
    tenant, connector, action, inputs, missing
):
    found, error = refused(one_step(connector, action, inputs), tenant)
    assert found == [("step", field, "required") for field in missing]
    assert error.code == "invalid_workflow"
    assert all("is required" in p["message"] for p in error.problems)


def test_a_required_secret_says_to_pick_a_secret(tenant):
    _, error = refused(one_step("slack", "post_message", {"channel": "#a", "text": "t"}), tenant)
    assert [p["message"] for p in error.problems] == ["is required: pick a secret"]


# --- template syntax ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"message": "Hello {{ event.id "}, "inputs.message"),
        (
            {"message": "ok", "data": {"who": {"name": "{% if x %}never closed"}}},
            "inputs.data.who.name",
        ),
        (
            {"message": "ok", "data": {"list": ["fine", "{{ event.payload.a | }}"]}},
            "inputs.data.list[1]",
        ),
    ],
)
def test_a_template_syntax_error_is_refused_where_it_is(tenant, inputs, field):
    found, error = refused(one_step("log", "write", inputs), tenant)
    assert found == [("step", field, "syntax")]
    assert "syntax error" in error.problems[0]["message"].lower()


def test_a_template_error_in_a_slack_block_list_is_refused(tenant):
    inputs = {
        "token": SECRET,
        "channel": "#a",
        "text": "t",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "{{ event.id "}}],
    }
    found, _ = refused(one_step("slack", "post_message", inputs), tenant)
    assert found == [("step", "inputs.blocks[0].text.text", "syntax")]


# --- the input schema ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("connector", "action", "inputs", "field"),
    [
        ("log", "write", {"message": "m", "level": "loud"}, "inputs.level"),  # enum
        ("log", "write", {"message": "m", "data": 5}, "inputs.data"),  # type
        (
            "slack",
            "post_message",
            {"token": SECRET, "channel": "#a", "text": "t", "blocks": 5},
            "inputs.blocks",
        ),
        (
            "slack",
            "post_message",
            {"token": SECRET, "channel": "#a", "text": "t", "blocks": [1]},
            "inputs.blocks[0]",
        ),
        ("http", "request", {"url": "https://example.com/", "method": "FETCH"}, "inputs.method"),
    ],
)
def test_an_input_that_breaks_its_schema_is_refused(tenant, connector, action, inputs, field):
    found, _ = refused(one_step(connector, action, inputs), tenant)
    assert found == [("step", field, "schema")]


@pytest.mark.parametrize(
    "inputs",
    [
        {"message": "m", "level": "{{ event.payload.level }}"},
        {"message": "m", "data": "{{ event.payload }}"},
        {"message": "$secret:SLACK_TOKEN"},
        {"message": "{{ event.id }}", "level": "warning", "data": {"a": [1, "{{ event.type }}"]}},
    ],
)
def test_templates_and_references_are_judged_when_the_step_runs(tenant, inputs):
    workflow = make_workflow(slug="flow", tenant=tenant, graph=one_step("log", "write", inputs))
    assert publish_problems(workflow) == []
    assert publish_version(workflow=workflow).version_num == 1


def test_every_problem_of_every_step_is_listed_at_once(tenant):
    graph = one_step("slack", "post_message", {}, node_id="notify")
    graph["nodes"].append(
        {
            "id": "greet",
            "type": "action",
            "connector": "log",
            "action": "write",
            "inputs": {"message": "Hello {{ event.id "},
        }
    )
    graph["edges"].append({"source": "trigger", "target": "greet"})
    found, _ = refused(graph, tenant)
    assert sorted(found) == [
        ("greet", "inputs.message", "syntax"),
        ("notify", "inputs.channel", "required"),
        ("notify", "inputs.text", "required"),
        ("notify", "inputs.token", "required"),
    ]


# --- every publish path -------------------------------------------------------------------

BROKEN = one_step("slack", "post_message", {"channel": "#a", "text": "Hello {{ event.id "})


def test_the_studio_service_refuses(tenant):
    workflow = make_workflow(slug="flow", tenant=tenant, graph=copy.deepcopy(BROKEN))
    with pytest.raises(WorkflowValidationError):
        studio_services.publish(workflow=workflow)
    assert studio_services.draft_problems(workflow) == publish_problems(workflow)
    assert not WorkflowVersion.objects.exists()


@pytest.fixture
def client(tenant):
    user = make_studio_user("ana")
    tenant.members.add(user)
    client = Client()
    client.force_login(user)
    return client


def test_the_studio_publish_button_is_refused_with_each_problem_on_its_node(client, tenant):
    graph = copy.deepcopy(BROKEN)
    graph["nodes"][1]["label"] = "Tell billing"
    workflow = make_workflow(slug="flow", tenant=tenant, graph=graph)
    response = client.post(f"/studio/workflows/{workflow.pk}/publish/", HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert "Not published: 2 problems" in page
    assert page.count('data-node-id="step"') == 2
    assert "Tell billing" in page
    assert "inputs.token" in page
    assert "pick a secret" in page
    assert "Template syntax error in inputs.text" in page
    badges = json.loads(response["HX-Trigger"])["automate:problems"]
    lines = sorted(badges["step"])
    assert lines[0].startswith("Template syntax error in inputs.text")
    assert lines[1] == "inputs.token: is required: pick a secret"
    assert not WorkflowVersion.objects.exists()


def test_a_json_client_gets_the_error_shape(client, tenant):
    workflow = make_workflow(slug="flow", tenant=tenant, graph=copy.deepcopy(BROKEN))
    response = client.post(
        f"/studio/workflows/{workflow.pk}/publish/", HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_workflow"
    assert {"message", "details", "trace_id"} <= set(body)
    assert sorted((p["node_id"], p["field"]) for p in body["details"]["problems"]) == [
        ("step", "inputs.text"),
        ("step", "inputs.token"),
    ]
    assert body["details"]["warnings"] == []
    assert not WorkflowVersion.objects.exists()


def test_the_editor_draft_lists_the_same_problems_and_the_warnings(client, tenant):
    workflow = make_workflow(slug="flow", tenant=tenant, graph=copy.deepcopy(BROKEN))
    draft = client.get(f"/studio/workflows/{workflow.pk}/draft.json").json()
    assert draft["problems"] == publish_problems(workflow)
    assert draft["warnings"] == []


def write_file(tmp_path, graph):
    path = tmp_path / "flow.json"
    path.write_text(
        json.dumps(
            {"slug": "flow", "name": "Flow", "trigger_spec": INVOICE_TRIGGER, "graph": graph}
        )
    )
    return path


def test_automate_import_refuses_and_names_node_and_field(tmp_path, tenant):
    path = write_file(tmp_path, BROKEN)
    with pytest.raises(CommandError) as info:
        call_command("automate_import", "--file", str(path), "--publish", "--tenant", "acme")
    assert "node 'step' inputs.token: is required: pick a secret" in str(info.value)
    assert "node 'step' inputs.text: Template syntax error" in str(info.value)
    assert not Workflow.objects.exists()
    with pytest.raises(WorkflowValidationError):
        parse_workflow_file(path.read_text())


# --- warnings -----------------------------------------------------------------------------


def coupon_graph(template="Coupon {{ event.payload.coupon }}"):
    return one_step("log", "write", {"message": template})


def add_sample(tenant, payload, number):
    Event.objects.create(
        tenant=tenant,
        type="invoice.paid",
        source="stripe",
        payload=payload,
        dedupe_key=f"sample-{number}",
    )


def test_a_variable_no_sample_event_has_is_a_warning_and_publishing_goes_ahead(
    tenant, client, tmp_path
):
    add_sample(tenant, {"amount": 1}, 1)
    add_sample(tenant, {"amount": 2, "customer": {"email": "a@example.com"}}, 2)
    workflow = make_workflow(slug="flow", tenant=tenant, graph=coupon_graph())
    [warning] = publish_warnings(workflow)
    assert warning["node_id"] == "step"
    assert warning["field"] == "inputs.message"
    assert warning["kind"] == "unknown_variable"
    assert "event.payload.coupon" in warning["message"]
    assert "2 recent sample events" in warning["message"]
    assert publish_problems(workflow) == []

    response = client.post(f"/studio/workflows/{workflow.pk}/publish/", HTTP_HX_REQUEST="true")
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "Published v1" in page
    assert "1 warning: publishing is allowed" in page
    assert "event.payload.coupon" in page
    draft = client.get(f"/studio/workflows/{workflow.pk}/draft.json").json()
    assert draft["warnings"] == [warning]

    out = StringIO()
    path = tmp_path / "flow.json"
    path.write_text(
        json.dumps(
            {
                "slug": "flow",
                "name": "Flow",
                "trigger_spec": INVOICE_TRIGGER,
                "graph": coupon_graph(),
            }
        )
    )
    call_command(
        "automate_import", "--file", str(path), "--publish", "--tenant", "acme", stdout=out
    )
    assert "Published version 2" in out.getvalue()
    assert "Warning: node 'step' inputs.message: event.payload.coupon" in out.getvalue()


def test_a_variable_some_sample_has_or_a_guarded_one_is_no_warning(tenant):
    add_sample(tenant, {"amount": 1}, 1)
    add_sample(tenant, {"coupon": "SPRING"}, 2)
    assert publish_warnings(make_workflow(slug="a", tenant=tenant, graph=coupon_graph())) == []
    guarded = coupon_graph("{{ event.payload.discount | default('none') }}")
    assert publish_warnings(make_workflow(slug="b", tenant=tenant, graph=guarded)) == []
    tested = coupon_graph("{% if event.payload.discount is defined %}x{% endif %}")
    assert publish_warnings(make_workflow(slug="c", tenant=tenant, graph=tested)) == []


def test_without_sample_events_payload_keys_are_not_judged(tenant):
    assert publish_warnings(make_workflow(slug="a", tenant=tenant, graph=coupon_graph())) == []


def test_other_tenants_events_are_not_samples(tenant):
    add_sample(make_tenant("globex"), {"coupon": "X"}, 1)
    add_sample(tenant, {"amount": 1}, 2)
    [warning] = publish_warnings(make_workflow(slug="a", tenant=tenant, graph=coupon_graph()))
    assert "event.payload.coupon" in warning["message"]


def test_unknown_names_fields_and_steps_are_warnings():
    graph = one_step(
        "log",
        "write",
        {
            "message": "{{ evnt.id }} {{ event.paylod }} {{ execution.nme }} "
            "{{ steps.later.output.x }} {{ steps.nowhere.output }} "
            "{% for item in event.payload['items'] %}{{ item.sku }}{{ loop.index }}{% endfor %}"
            "{{ range(3) | list }} {{ secrets.SLACK_TOKEN }}",
        },
    )
    graph["nodes"].append({"id": "later", "type": "transform", "inputs": {"a": 1}})
    graph["edges"].append({"source": "step", "target": "later"})
    graph["nodes"].append(
        {
            "id": "check",
            "type": "condition",
            "condition": {"==": [{"var": "event.payload.coupon"}, 1]},
        }
    )
    graph["edges"].append({"source": "trigger", "target": "check"})
    found = {
        (w["node_id"], w["message"].split(":")[0])
        for w in unknown_variable_warnings(graph, samples=[{"items": [{"sku": 1}]}])
    }
    assert found == {
        ("step", "unknown variable 'evnt'"),
        ("step", "event.paylod"),
        ("step", "execution.nme"),
        ("step", "steps.later.output.x"),
        ("step", "steps.nowhere.output"),
        ("check", "event.payload.coupon is in none of the 1 recent sample event of this trigger"),
    }
