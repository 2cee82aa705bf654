"""The connector kit (``automate.testing``) does what a connector author relies on."""

import httpx
import pytest

from automate import conf
from automate.connectors import (
    ActionSpec,
    ConnectorAdapter,
    ConnectorError,
    ConnectorInputError,
    UnknownConnectorError,
    get_connector,
)
from automate.connectors.builtins.slack import SlackConnector
from automate.governance.http import safe_request
from automate.governance.policy import PolicyViolation
from automate.testing import (
    RecordingServer,
    Reply,
    assert_no_secret_leak,
    assert_verifies,
    run_action,
    run_context,
)
from automate.webhooks import slack_signature_headers

TOKEN = "xoxb-kit-0123456789-secret"


class Pinger(ConnectorAdapter):
    code = "pinger"
    name = "Pinger"
    actions = {"ping": ActionSpec(inputs={"url": {"type": "string", "required": True}})}

    def execute(self, action, params, context):
        response = safe_request("GET", params["url"], raise_for_status=False)
        return {"status": response.status_code, "secrets": sorted(context.secrets)}


def test_run_context_is_what_a_step_gets():
    context = run_context(secrets={"API_KEY": "k-0123"}, run_id="r", node_id="n", attempt=2)
    assert (context.idempotency_key, context.attempt) == ("r:n", 2)
    assert context.secrets["API_KEY"] == "k-0123"
    assert_no_secret_leak(["k-0123"], context)  # secrets never printed
    assert 0 < context.remaining_seconds() <= 30


def test_the_recording_server_records_and_answers_from_its_script():
    with RecordingServer(default=Reply(204)) as server:
        server.reply(201, {"id": 1}).reply(500, body=b"boom", headers={"X-Why": "test"})
        first = httpx.post(f"{server.url}/items?x=1", json={"a": 1}, headers={"X-Me": "yes"})
        second = httpx.put(f"{server.url}/items/1", content=b"raw")
        third = httpx.get(f"{server.url}/")
    assert (first.status_code, first.json()) == (201, {"id": 1})
    assert (second.status_code, second.content, second.headers["X-Why"]) == (500, b"boom", "test")
    assert third.status_code == 204
    methods = [(r.method, r.path) for r in server.requests]
    assert methods == [("POST", "/items?x=1"), ("PUT", "/items/1"), ("GET", "/")]
    assert server.requests[0].json() == {"a": 1}
    assert server.requests[0].headers["X-Me"] == "yes"
    assert server.requests[1].body == b"raw"
    assert server.url.startswith("http://127.0.0.1:")  # loopback only


def test_the_server_is_reachable_through_the_safe_client_only_when_allowed():
    with RecordingServer() as server:
        with pytest.raises(ConnectorError) as refused:
            run_action(Pinger, "ping", {"url": server.url})
        assert refused.value.code == PolicyViolation.code or "ssrf" in refused.value.code
        assert server.requests == []
        with server.allowed():
            assert run_action(Pinger, "ping", {"url": server.url}) == {"status": 200, "secrets": []}
        with server.as_base_url("slack"):
            assert conf.get("CONNECTOR_OPTIONS")["slack"]["base_url"] == server.url
    assert len(server.requests) == 1


def test_run_action_registers_for_the_call_only_and_validates():
    with pytest.raises(ConnectorInputError):
        run_action(Pinger, "ping", {})
    with pytest.raises(UnknownConnectorError):
        get_connector("pinger")


def test_a_real_connector_with_the_kit_leaks_no_token():
    with RecordingServer() as slack, slack.allowed(), slack.as_base_url("slack"):
        slack.reply(200, {"ok": False, "error": "invalid_auth"})
        with pytest.raises(ConnectorError) as caught:
            run_action(
                SlackConnector, "post_message", {"token": TOKEN, "channel": "C1", "text": "hi"}
            )
    assert slack.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert_no_secret_leak([TOKEN], caught.value)


def test_assert_no_secret_leak_finds_a_secret_anywhere_and_never_prints_it():
    clean = {"ok": True, "items": [{"text": "hello"}]}
    assert_no_secret_leak({"SLACK_TOKEN": TOKEN}, clean, "text", b"bytes", ValueError("fine"))
    leaks = [
        {"nested": [{"deep": f"Bearer {TOKEN}"}]},
        {TOKEN: "as a key"},
        ConnectorError("failed", details={"header": TOKEN}),
        f"log line {TOKEN}".encode(),
    ]
    cause = RuntimeError(f"library said {TOKEN}")
    wrapped = ConnectorError("clean message")
    wrapped.__cause__ = cause
    leaks.append(wrapped)
    for leak in leaks:
        with pytest.raises(AssertionError) as caught:
            assert_no_secret_leak([TOKEN], {"ok": 1}, leak)
        assert "secret #0 appears in thing 1" in str(caught.value)
        assert TOKEN not in str(caught.value)
    with pytest.raises(AssertionError, match="at least one"):
        assert_no_secret_leak([""], "anything")


def test_assert_verifies_checks_a_connector_trigger():
    body = b'{"type":"event_callback","event_id":"Ev1"}'
    headers = slack_signature_headers("signing", body)
    assert_verifies(SlackConnector, "events", headers, body, secret="signing")
    assert_verifies(SlackConnector, "events", headers, body, secret="other", expected=False)
    with pytest.raises(AssertionError, match="answered False, expected True"):
        assert_verifies(SlackConnector, "events", headers, body + b" ", secret="signing")
