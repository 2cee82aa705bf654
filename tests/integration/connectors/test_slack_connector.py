"""The slack connector against a fake Slack that speaks chat.postMessage."""

import pytest

from automate.connectors import ConnectorError, ExecutionContext
from automate.connectors.builtins.slack import DEFAULT_BASE_URL, SlackConnector, base_url

from .conftest import automate_settings
from .http_servers import Reply, closed_port

TOKEN = "xoxb-111111111111-2222222222222-AbCdEfGhIjKlMnOpQrStUvWx"


def fake_slack(request):
    """chat.postMessage as Slack answers it: HTTP 200 with ok true/false, 429 when limited."""
    if request.path != "/api/chat.postMessage" or request.method != "POST":
        return Reply(404, body="not found")
    if request.headers.get("content-type") != "application/json; charset=utf-8":
        return Reply(body={"ok": False, "error": "invalid_form_data"})
    if request.headers.get("authorization") != f"Bearer {TOKEN}":
        return Reply(body={"ok": False, "error": "invalid_auth"})
    message = request.json()
    channel = message.get("channel")
    if channel == "C-LIMITED":
        return Reply(429, headers={"Retry-After": "30"}, body={"ok": False, "error": "ratelimited"})
    if channel == "C-DOWN":
        return Reply(503, body="upstream unavailable")
    if channel == "C-FLAKY":
        return Reply(body={"ok": False, "error": "internal_error"})
    if channel == "C-SLOW":
        return Reply(chunks=[b"{}"], chunk_delay=5)
    if channel != "C0123456789":
        return Reply(body={"ok": False, "error": "channel_not_found"})
    return Reply(
        body={
            "ok": True,
            "channel": channel,
            "ts": "1700000000.000100",
            "message": {"type": "message", "text": message["text"]},
        }
    )


@pytest.fixture
def slack(serve):
    server = serve(fake_slack)
    options = {"slack": {"base_url": f"{server.url}/api/"}}
    with automate_settings(POLICY={"http_allowlist": ["127.0.0.1"]}, CONNECTOR_OPTIONS=options):
        yield server


def post(params, context):
    return SlackConnector().run("post_message", {"token": TOKEN, **params}, context)


def test_a_message_is_posted(slack, step_context):
    output = post({"channel": "C0123456789", "text": "Invoice 42 paid"}, step_context)
    assert output == {"ok": True, "channel": "C0123456789", "ts": "1700000000.000100"}
    [request] = slack.requests
    assert request.json() == {"channel": "C0123456789", "text": "Invoice 42 paid"}
    assert request.headers["traceparent"] == step_context.traceparent()


def test_blocks_and_thread_ts_are_sent(slack, step_context):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Paid*"}}]
    post(
        {"channel": "C0123456789", "text": "Paid", "blocks": blocks, "thread_ts": "1.2"},
        step_context,
    )
    assert slack.requests[0].json() == {
        "channel": "C0123456789",
        "text": "Paid",
        "blocks": blocks,
        "thread_ts": "1.2",
    }


def test_channel_not_found_is_not_retried(slack, step_context):
    with pytest.raises(ConnectorError) as caught:
        post({"channel": "C-GONE", "text": "hi"}, step_context)
    error = caught.value
    assert (error.code, error.retryable) == ("slack_api_error", False)
    assert error.details["error"] == "channel_not_found"
    assert "channel_not_found" in error.message


def test_invalid_auth_is_not_retried_and_the_token_stays_secret(slack, step_context):
    with pytest.raises(ConnectorError) as caught:
        SlackConnector().run(
            "post_message",
            {"token": "xoxb-999999999999-wrong-token-value", "channel": "C0123456789", "text": "x"},
            step_context,
        )
    assert (caught.value.retryable, caught.value.details["error"]) == (False, "invalid_auth")
    assert "wrong-token-value" not in str(caught.value) + str(caught.value.details)


def test_a_rate_limit_is_retried_after_retry_after(slack, step_context):
    with pytest.raises(ConnectorError) as caught:
        post({"channel": "C-LIMITED", "text": "hi"}, step_context)
    error = caught.value
    assert (error.code, error.retryable, error.retry_after) == ("slack_rate_limited", True, 30)


def test_slack_server_errors_are_retried(slack, step_context):
    with pytest.raises(ConnectorError) as caught:
        post({"channel": "C-DOWN", "text": "hi"}, step_context)
    assert (caught.value.code, caught.value.retryable) == ("slack_unavailable", True)


def test_transient_slack_errors_are_retried(slack, step_context):
    with pytest.raises(ConnectorError) as caught:
        post({"channel": "C-FLAKY", "text": "hi"}, step_context)
    assert (caught.value.retryable, caught.value.details["error"]) == (True, "internal_error")


def test_a_timeout_after_sending_is_not_retried(slack):
    # Slack may have posted the message; a retry could post it twice.
    context = ExecutionContext(run_id="r", node_id="n", timeout_seconds=0.3)
    with pytest.raises(ConnectorError) as caught:
        post({"channel": "C-SLOW", "text": "hi"}, context)
    assert (caught.value.code, caught.value.retryable) == ("slack_delivery_unknown", False)
    assert len(slack.requests) == 1


def test_a_connection_failure_before_sending_is_retried(step_context):
    options = {"slack": {"base_url": f"http://127.0.0.1:{closed_port()}/api"}}
    with (
        automate_settings(POLICY={"http_allowlist": ["127.0.0.1"]}, CONNECTOR_OPTIONS=options),
        pytest.raises(ConnectorError) as caught,
    ):
        post({"channel": "C0123456789", "text": "hi"}, step_context)
    assert (caught.value.code, caught.value.retryable) == ("http_connect_failed", True)


def test_a_base_url_on_an_internal_address_is_refused(serve, step_context):
    server = serve(fake_slack)
    with (
        automate_settings(CONNECTOR_OPTIONS={"slack": {"base_url": f"{server.url}/api"}}),
        pytest.raises(ConnectorError) as caught,
    ):
        post({"channel": "C0123456789", "text": "hi"}, step_context)
    assert caught.value.code == "ssrf_blocked"
    assert server.requests == []


def test_the_token_is_a_required_secret_field(step_context):
    spec = SlackConnector.actions["post_message"]
    assert spec.secret_fields() == ["token"]
    with pytest.raises(ConnectorError) as caught:
        SlackConnector().run("post_message", {"channel": "C1", "text": "x"}, step_context)
    assert caught.value.code == "invalid_inputs"


def test_the_base_url_defaults_to_slack():
    with automate_settings():
        assert base_url() == DEFAULT_BASE_URL == "https://slack.com/api"
