""" "Test this step" runs a step that writes or sends only after an explicit confirmation.

Without ``confirm_side_effects`` the server answers 400 ``confirmation_required`` in the
error shape and nothing is written or sent, whoever sends the POST (the panel, htmx or a
plain form post). Steps that only read (transform, condition, log, HTTP GET/HEAD) need no
confirmation.
"""

import html
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client, override_settings

from automate.governance.models import AuditLogEntry
from automate.workflows.models import Workflow
from tests.factories import make_studio_user, make_tenant, make_workflow

pytestmark = pytest.mark.django_db

CONFIRM = {"confirm_side_effects": "1"}


class _Recorder(BaseHTTPRequestHandler):
    seen: list = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        _Recorder.seen.append((self.command, self.path, self.rfile.read(length).decode()))
        body = json.dumps({"ok": True, "channel": "C1", "ts": "1.0"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Recorder.seen = []
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    with override_settings(
        DJANGO_AUTOMATE={
            **settings.DJANGO_AUTOMATE,
            "POLICY": {"http_allowlist": ["127.0.0.1"]},
            "CONNECTOR_OPTIONS": {
                "slack": {"base_url": f"{base}/slack"},
                "django_model": {"models": ["auth.Group"]},
            },
        }
    ):
        yield base
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    monkeypatch.setenv("AUTOMATE_X", "xoxb-test-token-for-the-step-test")


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


def side_effect_nodes(base):
    return {
        "crm": ("django_model", "create", {"model": "auth.Group", "fields": {"name": "Ops"}}),
        "post": ("http", "request", {"method": "POST", "url": f"{base}/hook", "json": {"a": 1}}),
        "delete": ("http", "request", {"method": "DELETE", "url": f"{base}/thing/1"}),
        "slack": (
            "slack",
            "post_message",
            {"token": {"$secret": "X"}, "channel": "#ops", "text": "hello"},
        ),
        "mail": ("email", "send", {"to": "ops@example.com", "subject": "Hi", "text": "Hello"}),
        "hook": (
            "webhook",
            "post",
            {"url": f"{base}/receiver", "payload": {"a": 1}, "secret": {"$secret": "X"}},
        ),
        "templated": (
            "http",
            "request",
            {"method": "{{ event.payload.method }}", "url": f"{base}/templated"},
        ),
    }


def read_only_nodes(base):
    return {
        "get": ("http", "request", {"url": f"{base}/read"}),
        "head": ("http", "request", {"method": "HEAD", "url": f"{base}/read"}),
        "log": ("log", "write", {"message": "hello"}),
        "map": ("transform", "map", {"fields": {"x": "{{ event.payload.n }}"}}),
    }


@pytest.fixture
def workflow(tenant, server):
    nodes = [{"id": "trigger", "type": "trigger"}]
    edges = []
    for node_id, (connector, action, inputs) in {
        **side_effect_nodes(server),
        **read_only_nodes(server),
    }.items():
        nodes.append(
            {
                "id": node_id,
                "type": "action",
                "connector": connector,
                "action": action,
                "inputs": inputs,
            }
        )
        edges.append({"source": "trigger", "target": node_id})
    nodes.append({"id": "shape", "type": "transform", "inputs": {"n": "{{ event.payload.n }}"}})
    edges.append({"source": "trigger", "target": "shape"})
    return make_workflow(slug="flow", tenant=tenant, graph={"nodes": nodes, "edges": edges})


def step_url(workflow, node_id, what="test"):
    return f"/studio/workflows/{workflow.pk}/nodes/{node_id}/{what}/"


def effects_happened():
    return {
        "rows": Group.objects.count(),
        "requests": list(_Recorder.seen),
        "mails": len(mail.outbox),
    }


NOTHING = {"rows": 0, "requests": [], "mails": 0}
SIDE_EFFECT_IDS = ["crm", "post", "delete", "slack", "mail", "hook", "templated"]


@pytest.mark.parametrize("node_id", SIDE_EFFECT_IDS)
@pytest.mark.parametrize("hx", [True, False], ids=["htmx", "plain-post"])
def test_a_step_that_writes_is_refused_without_the_confirmation(client, workflow, node_id, hx):
    headers = {"HTTP_HX_REQUEST": "true"} if hx else {}
    for confirm in ({}, {"confirm_side_effects": ""}, {"confirm_side_effects": "no"}):
        response = client.post(
            step_url(workflow, node_id),
            {"payload": '{"method": "PATCH", "n": 1}', **confirm},
            **headers,
        )
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "confirmation_required"
        assert "will really write or send" in body["message"]
        assert "confirm" in body["message"].lower()
        assert set(body) == {"code", "message", "details", "trace_id"}
    assert effects_happened() == NOTHING
    assert not AuditLogEntry.objects.filter(action="studio.test_step").exists()


# The connector runs in its own thread (the step timeout) on its own connection.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("node_id", SIDE_EFFECT_IDS)
def test_a_confirmed_test_really_runs_the_step(client, workflow, node_id):
    response = client.post(
        step_url(workflow, node_id),
        {"payload": '{"method": "PATCH", "n": 1}', **CONFIRM},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "Succeeded" in page, page
    happened = effects_happened()
    assert happened != NOTHING
    if node_id == "crm":
        assert list(Group.objects.values_list("name", flat=True)) == ["Ops"]
    if node_id == "mail":
        assert mail.outbox[0].subject == "Hi"
    if node_id == "templated":
        assert happened["requests"][0][:2] == ("PATCH", "/templated")
    assert AuditLogEntry.objects.get(action="studio.test_step").details["ok"] is True


@pytest.mark.parametrize("node_id", ["get", "head", "log", "map", "shape"])
def test_steps_that_only_read_need_no_confirmation(client, workflow, node_id):
    response = client.post(
        step_url(workflow, node_id), {"payload": '{"n": 7}'}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "Succeeded" in html.unescape(response.content.decode())
    assert effects_happened()["rows"] == 0
    assert effects_happened()["mails"] == 0


def test_a_templated_method_is_judged_on_its_rendered_value(client, workflow):
    read = client.post(
        step_url(workflow, "templated"), {"payload": '{"method": "GET"}'}, HTTP_HX_REQUEST="true"
    )
    assert read.status_code == 200
    assert _Recorder.seen[0][:2] == ("GET", "/templated")
    write = client.post(step_url(workflow, "templated"), {"payload": '{"method": "DELETE"}'})
    assert write.status_code == 400
    assert len(_Recorder.seen) == 1


@pytest.mark.parametrize("node_id", SIDE_EFFECT_IDS)
def test_the_panel_says_the_test_really_writes_and_asks_to_confirm(client, workflow, node_id):
    page = html.unescape(
        client.get(step_url(workflow, node_id, "panel"), HTTP_HX_REQUEST="true").content.decode()
    )
    assert "This test really writes or sends." in page
    assert 'name="confirm_side_effects" value="1" required' in page
    assert "Run this step for real" in page


@pytest.mark.parametrize("node_id", ["get", "log", "map", "shape"])
def test_the_panel_of_a_read_only_step_asks_nothing(client, workflow, node_id):
    page = client.get(step_url(workflow, node_id, "panel"), HTTP_HX_REQUEST="true")
    text = page.content.decode()
    assert page.status_code == 200
    assert "confirm_side_effects" not in text
    assert "Run this step</button>" in text


def test_an_unknown_connector_counts_as_writing(client, workflow):
    graph = workflow.draft_graph
    graph["nodes"].append(
        {"id": "erp", "type": "action", "connector": "legacy_erp", "action": "create"}
    )
    Workflow.objects.filter(pk=workflow.pk).update(draft_graph=graph)
    panel = client.get(step_url(workflow, "erp", "panel"), HTTP_HX_REQUEST="true")
    assert "may write or send data" in panel.content.decode()
    # Run anyway, it cannot: the connector does not exist here.
    response = client.post(step_url(workflow, "erp"), {"payload": "{}", **CONFIRM})
    assert "unknown_connector" in response.content.decode()


def test_the_catalog_describes_which_actions_have_side_effects():
    from automate.connectors import get_connector

    assert get_connector("transform").describe()["actions"][0]["side_effects"] is False
    assert get_connector("log").describe()["actions"][0]["side_effects"] is False
    for code in ("django_model", "slack", "email", "webhook", "http"):
        assert all(a["side_effects"] for a in get_connector(code).describe()["actions"]), code
