"""The node panel (schema form, save into the draft) and "test this step"."""

import html
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django.test import Client, override_settings

from automate.events.services import record_event
from automate.execution.models import ExecutionRun
from automate.governance.models import AuditLogEntry
from automate.workflows.models import Workflow
from tests.factories import make_studio_user, make_tenant, make_user, make_workflow

pytestmark = pytest.mark.django_db

CANARY = "canary-value-8c1f2e7a"

GRAPH = {
    "nodes": [
        {"id": "trigger", "type": "trigger", "label": "Invoice paid"},
        {
            "id": "notify",
            "type": "action",
            "label": "Log it",
            "connector": "log",
            "action": "write",
            "inputs": {"message": "Paid {{ event.payload.amount }}", "level": "info"},
        },
        {
            "id": "slack",
            "type": "action",
            "connector": "slack",
            "action": "post_message",
            "inputs": {"token": {"$secret": "X"}, "channel": "#ops", "text": "hi"},
        },
        {"id": "shape", "type": "transform", "inputs": {"cents": "{{ event.payload.amount }}"}},
        {
            "id": "check",
            "type": "condition",
            "condition": {">": [{"var": "event.payload.amount"}, 10]},
        },
        {"id": "wait", "type": "delay", "seconds": 5},
    ],
    "edges": [
        {"source": "trigger", "target": "notify"},
        {"source": "trigger", "target": "slack"},
        {"source": "trigger", "target": "shape"},
        {"source": "shape", "target": "check"},
        {"source": "check", "target": "wait", "branch": "true"},
    ],
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
    return make_workflow(slug="flow", tenant=tenant, graph=json.loads(json.dumps(GRAPH)))


@pytest.fixture
def canary(monkeypatch):
    monkeypatch.setenv("AUTOMATE_X", CANARY)
    return CANARY


def url(workflow, node, what="panel"):
    return f"/studio/workflows/{workflow.pk}/nodes/{node}/{what}/"


def htmx(client, method, path, data=None):
    """An htmx request; the body is HTML-unescaped so tests can look for JSON text."""
    response = getattr(client, method)(path, data or {}, HTTP_HX_REQUEST="true")
    response.content = html.unescape(response.content.decode()).encode()
    return response


def node(workflow, node_id):
    workflow.refresh_from_db()
    return next(n for n in workflow.draft_graph["nodes"] if n["id"] == node_id)


# --- the form -------------------------------------------------------------------------------


def test_action_panel_shows_a_form_from_the_input_schema(client, workflow, canary):
    record_event(
        type="invoice.paid",
        source="stripe",
        payload={"amount": 5, "customer": {"id": "c"}},
        tenant="acme",
        enqueue=False,
    )
    page = htmx(client, "get", url(workflow, "notify")).content.decode()
    assert 'name="input.message"' in page
    assert 'name="input.level"' in page
    assert '<option value="warning"' in page
    assert 'name="input.data"' in page
    assert "JSON" in page
    assert "event.payload.customer.id" in page  # variables from the latest real event
    assert "max_retries" in page
    assert "timeout_seconds" in page
    assert "<html" not in page  # a partial for htmx


def test_a_plain_get_renders_the_panel_inside_a_studio_page(client, workflow):
    page = client.get(url(workflow, "notify")).content.decode()
    assert "<html" in page
    assert 'id="panel-body"' in page
    assert 'name="input.message"' in page


def test_variables_include_upstream_step_outputs(client, workflow):
    page = htmx(client, "get", url(workflow, "check")).content.decode()
    assert "steps.shape.output" in page
    assert "steps.notify.output" not in page


def test_secret_fields_pick_a_name_and_never_show_a_value(client, workflow, canary):
    page = htmx(client, "get", url(workflow, "slack")).content.decode()
    assert '<option value="X" selected>X</option>' in page
    assert CANARY not in page
    response = htmx(
        client,
        "post",
        url(workflow, "slack"),
        {"input.token": "X", "input.channel": "#ops", "input.text": "hi"},
    )
    assert CANARY not in response.content.decode()
    assert node(workflow, "slack")["inputs"]["token"] == {"$secret": "X"}


def test_a_literal_in_a_secret_field_is_masked_and_kept_on_save(client, workflow):
    graph = workflow.draft_graph
    graph["nodes"][2]["inputs"]["token"] = "xoxb-literal-123456789"
    Workflow.objects.filter(pk=workflow.pk).update(draft_graph=graph)
    page = htmx(client, "get", url(workflow, "slack")).content.decode()
    assert "xoxb-literal" not in page
    assert "********" in page
    htmx(
        client,
        "post",
        url(workflow, "slack"),
        {"input.token": "__keep__", "input.channel": "#c", "input.text": "t"},
    )
    assert node(workflow, "slack")["inputs"]["token"] == "xoxb-literal-123456789"


def test_saving_an_action_updates_the_draft_and_tells_the_canvas(client, workflow):
    before = workflow.draft_revision
    response = htmx(
        client,
        "post",
        url(workflow, "notify"),
        {
            "label": "Log the payment",
            "input.message": "Paid {{ event.payload.amount }}!",
            "input.level": "warning",
            "input.data": '{"a": 1}',
            "max_retries": "2",
            "timeout_seconds": "7.5",
        },
    )
    assert response.status_code == 200
    saved = node(workflow, "notify")
    assert saved["label"] == "Log the payment"
    assert saved["inputs"] == {
        "message": "Paid {{ event.payload.amount }}!",
        "level": "warning",
        "data": {"a": 1},
    }
    assert saved["retry"] == {"max_retries": 2}
    assert saved["timeout_seconds"] == 7.5
    workflow.refresh_from_db()
    assert workflow.draft_revision == before + 1
    assert json.loads(response["HX-Trigger"]) == {
        "automate:draft-changed": {"revision": before + 1}
    }
    assert "Saved to the draft" in response.content.decode()


def test_bad_json_and_bad_numbers_save_nothing(client, workflow):
    before = Workflow.objects.get(pk=workflow.pk)
    response = htmx(
        client,
        "post",
        url(workflow, "notify"),
        {"input.message": "x", "input.data": "{not json", "max_retries": "many"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was saved" in page
    assert "is not valid JSON" in page
    assert "Retries must be a whole number" in page
    assert "HX-Trigger" not in response
    after = Workflow.objects.get(pk=workflow.pk)
    assert after.draft_graph == before.draft_graph
    assert after.draft_revision == before.draft_revision


def test_storable_problems_are_saved_and_shown(client, workflow):
    response = htmx(
        client, "post", url(workflow, "notify"), {"input.message": "{{ oops", "input.level": "info"}
    )
    page = response.content.decode()
    assert "template syntax error in inputs.message" in page
    assert node(workflow, "notify")["inputs"]["message"] == "{{ oops"
    # A required field left empty: saved, and the schema problem is shown.
    page = htmx(client, "post", url(workflow, "notify"), {"input.level": "info"}).content.decode()
    assert "inputs.message" in page
    assert "required" in page


def test_trigger_panel_edits_the_trigger_spec(client, workflow):
    page = htmx(client, "get", url(workflow, "trigger")).content.decode()
    assert 'name="event_type" value="invoice.paid"' in page
    htmx(
        client,
        "post",
        url(workflow, "trigger"),
        {
            "label": "Hourly",
            "event_type": "invoice.*",
            "source": "",
            "cron": "0 * * * *",
            "timezone": "Europe/Paris",
            "missed": "run_once",
        },
    )
    workflow.refresh_from_db()
    assert workflow.draft_trigger_spec == {
        "event_type": "invoice.*",
        "schedule": {"cron": "0 * * * *", "timezone": "Europe/Paris", "missed": "run_once"},
    }
    saved = workflow.draft_trigger_spec
    page = htmx(
        client, "post", url(workflow, "trigger"), {"event_type": "invoice.paid", "cron": "nope"}
    ).content.decode()
    assert "Nothing was saved" in page
    assert "cron expressions have 5 fields" in page
    workflow.refresh_from_db()
    assert workflow.draft_trigger_spec == saved


def test_condition_panel_validates_the_rule(client, workflow):
    response = htmx(client, "post", url(workflow, "check"), {"condition": "{bad"})
    assert "Nothing was saved" in response.content.decode()
    response = htmx(
        client, "post", url(workflow, "check"), {"condition": '{"and": [{"nope": [1]}]}'}
    )
    page = response.content.decode()
    assert "/and/0" in page
    assert "unknown operator" in page
    assert node(workflow, "check")["condition"] == {"and": [{"nope": [1]}]}
    htmx(client, "post", url(workflow, "check"), {"condition": '{"==": [1, 1]}'})
    assert node(workflow, "check")["condition"] == {"==": [1, 1]}


def test_delay_and_transform_panels(client, workflow):
    htmx(client, "post", url(workflow, "wait"), {"seconds": "90"})
    assert node(workflow, "wait")["seconds"] == 90
    page = htmx(client, "post", url(workflow, "wait"), {"seconds": "-1"}).content.decode()
    assert "at least 0" in page
    assert node(workflow, "wait")["seconds"] == 90
    htmx(
        client,
        "post",
        url(workflow, "shape"),
        {"mapping": '{"total": "{{ event.payload.amount }}"}'},
    )
    assert node(workflow, "shape")["inputs"] == {"total": "{{ event.payload.amount }}"}
    page = htmx(client, "post", url(workflow, "shape"), {"mapping": "[1]"}).content.decode()
    assert "must be a JSON object" in page


def test_unknown_node_is_a_404(client, workflow):
    assert htmx(client, "get", url(workflow, "nope")).status_code == 404


# --- access ---------------------------------------------------------------------------------


def test_other_tenants_workflows_are_404(client, workflow):
    other = make_workflow(slug="theirs", tenant=make_tenant("other"), graph=GRAPH)
    assert htmx(client, "get", url(other, "notify")).status_code == 404
    assert htmx(client, "post", url(other, "notify"), {"label": "x"}).status_code == 404
    assert htmx(client, "post", url(other, "notify", "test"), {}).status_code == 404
    other.refresh_from_db()
    assert other.draft_revision == 0


def test_login_permission_and_csrf_are_required(workflow, tenant):
    anonymous = Client()
    assert anonymous.get(url(workflow, "notify")).status_code == 302
    nobody = make_user("nobody")
    tenant.members.add(nobody)
    anonymous.force_login(nobody)
    assert anonymous.get(url(workflow, "notify")).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(make_studio_user("staff2"))
    assert strict.post(url(workflow, "notify"), {"label": "x"}).status_code == 403
    assert strict.post(url(workflow, "notify", "test"), {}).status_code == 403


# --- test a step ----------------------------------------------------------------------------


def test_testing_a_transform_renders_templates_and_writes_no_run(client, workflow):
    response = htmx(client, "post", url(workflow, "shape", "test"), {"payload": '{"amount": 42}'})
    page = response.content.decode()
    assert "Succeeded" in page
    assert '"cents": 42' in page
    assert ExecutionRun.objects.count() == 0
    entry = AuditLogEntry.objects.get(action="studio.test_step")
    assert entry.details["node_id"] == "shape"
    assert entry.details["ok"] is True


def test_testing_a_condition_uses_pinned_outputs(client, workflow):
    page = htmx(
        client, "post", url(workflow, "check", "test"), {"payload": '{"amount": 42}'}
    ).content.decode()
    assert '"branch": "true"' in page
    graph = workflow.draft_graph
    graph["nodes"][4]["condition"] = {"==": [{"var": "steps.shape.output.cents"}, 7]}
    Workflow.objects.filter(pk=workflow.pk).update(draft_graph=graph)
    page = htmx(
        client,
        "post",
        url(workflow, "check", "test"),
        {"payload": "{}", "steps": '{"shape": {"cents": 7}}'},
    ).content.decode()
    assert '"result": true' in page


def test_testing_with_the_latest_real_event(client, workflow):
    event, _ = record_event(
        type="invoice.paid", source="stripe", payload={"amount": 1234}, tenant="acme", enqueue=False
    )
    page = htmx(
        client, "post", url(workflow, "shape", "test"), {"event_id": str(event.pk)}
    ).content.decode()
    assert '"cents": 1234' in page
    page = htmx(
        client, "post", url(workflow, "shape", "test"), {"event_id": "not-a-uuid"}
    ).content.decode()
    assert "does not exist" in page


def test_test_step_reports_bad_input_clearly(client, workflow):
    page = htmx(
        client, "post", url(workflow, "shape", "test"), {"payload": "{nope"}
    ).content.decode()
    assert "The sample payload is not valid JSON" in page
    page = htmx(
        client, "post", url(workflow, "shape", "test"), {"payload": "{}", "steps": "[1]"}
    ).content.decode()
    assert "must be a JSON object" in page
    page = htmx(client, "post", url(workflow, "wait", "test"), {"payload": "{}"}).content.decode()
    assert "can be tested" in page
    # A template error is shown as the step's error.
    page = htmx(client, "post", url(workflow, "notify", "test"), {"payload": "{}"}).content.decode()
    assert "Failed" in page
    assert "Template error" in page


def test_test_step_respects_the_connector_allowlist(client, workflow):
    with override_settings(
        DJANGO_AUTOMATE={**settings.DJANGO_AUTOMATE, "POLICY": {"connector_allowlist": ["slack"]}}
    ):
        page = htmx(
            client, "post", url(workflow, "notify", "test"), {"payload": '{"amount": 1}'}
        ).content.decode()
    assert "connector_not_allowed" in page
    assert "not allowed" in page


class _Handler(BaseHTTPRequestHandler):
    seen: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"] or 0))
        _Handler.seen.append({"auth": self.headers.get("Authorization"), "body": body.decode()})
        answer = json.dumps(
            {"ok": True, "echo": self.headers.get("Authorization"), "token": "t0k"}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Handler.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_testing_an_http_step_calls_it_with_the_secret_and_redacts_the_output(
    client, workflow, canary, http_server
):
    graph = workflow.draft_graph
    graph["nodes"].append(
        {
            "id": "call",
            "type": "action",
            "connector": "http",
            "action": "request",
            "inputs": {
                "method": "POST",
                "url": http_server + "/hook",
                "headers": {"Authorization": "Bearer {{ secrets.X }}"},
                "json": {"amount": "{{ event.payload.amount }}"},
            },
        }
    )
    graph["edges"].append({"source": "trigger", "target": "call"})
    Workflow.objects.filter(pk=workflow.pk).update(draft_graph=graph)
    with override_settings(
        DJANGO_AUTOMATE={**settings.DJANGO_AUTOMATE, "POLICY": {"http_allowlist": ["127.0.0.1"]}}
    ):
        response = htmx(
            client,
            "post",
            url(workflow, "call", "test"),
            {"payload": '{"amount": 99}', "confirm_side_effects": "1"},
        )
    page = response.content.decode()
    assert _Handler.seen == [{"auth": f"Bearer {CANARY}", "body": '{"amount":99}'}]
    assert "Succeeded" in page
    assert '"status": 200' in page
    assert "t0k" not in page  # a sensitive key in the output is masked
    assert CANARY not in page
    assert CANARY not in json.dumps(list(AuditLogEntry.objects.values_list("details", flat=True)))
    assert ExecutionRun.objects.count() == 0


def test_http_to_loopback_is_refused_without_the_allowlist(client, workflow, http_server):
    graph = workflow.draft_graph
    graph["nodes"].append(
        {
            "id": "call",
            "type": "action",
            "connector": "http",
            "action": "request",
            "inputs": {"url": http_server},
        }
    )
    graph["edges"].append({"source": "trigger", "target": "call"})
    Workflow.objects.filter(pk=workflow.pk).update(draft_graph=graph)
    page = htmx(client, "post", url(workflow, "call", "test"), {"payload": "{}"}).content.decode()
    assert "Failed" in page
    assert _Handler.seen == []


def test_secrets_not_named_in_the_inputs_cannot_be_read(client, workflow, canary):
    graph = workflow.draft_graph
    graph["nodes"][3]["inputs"] = {"leak": "{{ secrets[event.payload.name] }}"}
    Workflow.objects.filter(pk=workflow.pk).update(draft_graph=graph)
    page = htmx(
        client, "post", url(workflow, "shape", "test"), {"payload": '{"name": "X"}'}
    ).content.decode()
    assert "Failed" in page
    assert CANARY not in page


def test_an_unknown_connector_keeps_its_inputs_editable_as_json(client, workflow):
    graph = workflow.draft_graph
    graph["nodes"].append(
        {
            "id": "erp",
            "type": "action",
            "connector": "legacy_erp",
            "action": "create",
            "inputs": {"a": 1},
        }
    )
    graph["edges"].append({"source": "trigger", "target": "erp"})
    Workflow.objects.filter(pk=workflow.pk).update(draft_graph=graph)
    page = htmx(client, "get", url(workflow, "erp")).content.decode()
    assert "connector or action is unknown" in page
    htmx(client, "post", url(workflow, "erp"), {"mapping": '{"a": 2}'})
    assert node(workflow, "erp")["inputs"] == {"a": 2}


def test_no_response_of_any_panel_contains_a_secret_value(client, workflow, canary):
    """A canary secret used by a step (and pasted as a literal) never reaches a page."""
    graph = workflow.draft_graph
    graph["nodes"][3]["inputs"] = {"auth": "{{ secrets.X }}", "password": CANARY}
    Workflow.objects.filter(pk=workflow.pk).update(draft_graph=graph)
    record_event(
        type="invoice.paid",
        source="stripe",
        payload={"amount": 5, "api_key": CANARY},
        tenant="acme",
        enqueue=False,
    )
    base = f"/studio/workflows/{workflow.pk}/"
    responses = [
        client.get(url(workflow, node_id)) for node_id in ("trigger", "notify", "slack", "shape")
    ]
    responses += [htmx(client, "get", url(workflow, "shape"))]
    responses += [htmx(client, "post", url(workflow, "shape", "test"), {"payload": "{}"})]
    responses += [client.get(base + what) for what in ("rules/", "history/", "diff/")]
    responses += [
        htmx(
            client,
            "post",
            base + "rules/test/",
            {"rule_spec": '{"var": "api_key"}', "payload": json.dumps({"api_key": CANARY})},
        ),
        htmx(client, "post", base + "publish/"),
    ]
    responses += [client.get(base + "history/"), client.get(base + "diff/?a=1&b=draft")]
    for response in responses:
        assert response.status_code == 200
        assert CANARY not in response.content.decode()
    # Saving the panel unchanged keeps the literal (shown masked), it does not store the mask.
    htmx(
        client,
        "post",
        url(workflow, "shape"),
        {"mapping": '{"auth": "{{ secrets.X }}", "password": "********"}'},
    )
    assert node(workflow, "shape")["inputs"]["password"] == CANARY
