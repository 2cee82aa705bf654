"""The http connector end to end against a local server."""

import time

import pytest
from django.utils.module_loading import import_string

from automate.connectors import ConnectorError, ExecutionContext
from automate.connectors.builtins import BUILTIN_CONNECTORS
from automate.connectors.builtins.http import HttpConnector, truncate_text
from automate.policy import PolicyViolation

from .conftest import TRACE_ID
from .http_servers import Reply, closed_port


def run(params, context):
    return HttpConnector().run("request", params, context)


def test_a_get_returns_status_headers_json_and_text(serve, allow_local, step_context):
    server = serve(lambda request: Reply(body={"id": 42}, headers={"X-Request-Id": "abc"}))
    output = run(
        {
            "url": f"{server.url}/orders",
            "query": {"page": 2, "tag": ["a", "b"], "open": True},
            "headers": {"Accept": "application/json", "X-Count": 3},
        },
        step_context,
    )
    assert output["status"] == 200
    assert output["json"] == {"id": 42}
    assert output["text"] == '{"id": 42}'
    assert output["headers"]["x-request-id"] == "abc"
    assert output["headers"]["content-type"] == "application/json"
    [request] = server.requests
    assert request.method == "GET"
    assert request.path == "/orders?page=2&tag=a&tag=b&open=true"
    assert request.headers["accept"] == "application/json"
    assert request.headers["x-count"] == "3"
    assert request.headers["traceparent"] == step_context.traceparent()
    assert TRACE_ID in request.headers["traceparent"]
    assert "idempotency-key" not in request.headers


def test_a_post_sends_json_with_the_idempotency_key(serve, allow_local, step_context):
    server = serve(lambda request: Reply(201, body={"created": True}))
    output = run(
        {"method": "POST", "url": f"{server.url}/orders", "json": {"sku": "A", "qty": 2}},
        step_context,
    )
    assert (output["status"], output["json"]) == (201, {"created": True})
    [request] = server.requests
    assert request.json() == {"sku": "A", "qty": 2}
    assert request.headers["content-type"] == "application/json"
    assert request.headers["idempotency-key"] == "run-1:call"


def test_json_null_is_sent_as_a_body(serve, allow_local, step_context):
    server = serve()
    run({"method": "PUT", "url": server.url, "json": None}, step_context)
    assert server.requests[0].body == b"null"


def test_a_text_body_and_an_own_idempotency_key(serve, allow_local, step_context):
    server = serve(lambda request: Reply(body="plain answer"))
    output = run(
        {
            "method": "PATCH",
            "url": server.url,
            "body": "a=1&b=2",
            "headers": {
                "Content-Type": "application/x-www-form-urlencoded",
                "Idempotency-Key": "k",
            },
        },
        step_context,
    )
    assert (output["json"], output["text"]) == (None, "plain answer")
    [request] = server.requests
    assert request.body == b"a=1&b=2"
    assert request.headers["idempotency-key"] == "k"


def test_head_and_delete(serve, allow_local, step_context):
    server = serve(lambda request: Reply(204))
    assert run({"method": "HEAD", "url": server.url}, step_context)["status"] == 204
    assert run({"method": "DELETE", "url": server.url}, step_context)["text"] == ""
    assert [r.method for r in server.requests] == ["HEAD", "DELETE"]
    assert "idempotency-key" in server.requests[1].headers


def test_json_and_body_together_are_an_input_error(serve, allow_local, step_context):
    server = serve()
    with pytest.raises(ConnectorError) as caught:
        run({"method": "POST", "url": server.url, "json": {}, "body": "x"}, step_context)
    assert (caught.value.code, caught.value.retryable) == ("invalid_inputs", False)
    assert server.requests == []


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"url": ""},
        {"url": "http://x", "method": "get"},
        {"url": "http://x", "headers": {"X": "a\r\nInjected: 1"}},
        {"url": "http://x", "query": {"nested": {"a": 1}}},
        {"url": "http://x", "timeout_seconds": 0},
    ],
)
def test_bad_inputs_are_refused(params, step_context):
    with pytest.raises(ConnectorError) as caught:
        run(params, step_context)
    assert caught.value.code == "invalid_inputs"


def test_a_client_error_fails_without_retry_with_the_status(serve, allow_local, step_context):
    server = serve(lambda request: Reply(404, body={"error": "no such order"}))
    with pytest.raises(ConnectorError) as caught:
        run({"url": f"{server.url}/orders/9"}, step_context)
    assert caught.value.retryable is False
    assert caught.value.details["status"] == 404
    assert "no such order" in caught.value.details["response"]


def test_a_server_error_is_retried(serve, allow_local, step_context):
    server = serve(lambda request: Reply(503, headers={"Retry-After": "12"}))
    with pytest.raises(ConnectorError) as caught:
        run({"url": server.url}, step_context)
    assert (caught.value.retryable, caught.value.retry_after) == (True, 12)
    assert caught.value.details["status"] == 503


def test_an_internal_url_is_refused_and_not_retried(serve, step_context):
    server = serve()
    with pytest.raises(ConnectorError) as caught:
        run({"url": server.url}, step_context)
    assert (caught.value.code, caught.value.retryable) == ("ssrf_blocked", False)
    assert isinstance(caught.value.__cause__, PolicyViolation)
    assert server.requests == []


def test_a_metadata_url_is_refused(step_context):
    with pytest.raises(ConnectorError) as caught:
        run({"url": "http://169.254.169.254/latest/meta-data/iam/"}, step_context)
    assert caught.value.code == "ssrf_blocked"
    assert "metadata" in caught.value.message


def test_an_unreachable_server_is_retried(allow_local, step_context):
    with pytest.raises(ConnectorError) as caught:
        run({"url": f"http://127.0.0.1:{closed_port()}/"}, step_context)
    assert (caught.value.code, caught.value.retryable) == ("http_connect_failed", True)


def test_the_text_is_cut_to_64_kb(serve, allow_local, step_context):
    server = serve(lambda request: Reply(body="é" * 50_000))
    output = run({"url": server.url}, step_context)
    assert len(output["text"].encode()) <= 64 * 1024
    assert output["text"] == "é" * 32_768


def test_json_with_nan_is_not_json(serve, allow_local, step_context):
    server = serve(
        lambda request: Reply(body=b'{"a": NaN}', headers={"Content-Type": "application/json"})
    )
    assert run({"url": server.url}, step_context)["json"] is None


def test_the_step_deadline_bounds_the_request(serve, allow_local):
    server = serve(lambda request: Reply(chunks=[b"."] * 100, chunk_delay=0.1))
    context = ExecutionContext(run_id="r", node_id="n", timeout_seconds=0.4)
    started = time.monotonic()
    with pytest.raises(ConnectorError) as caught:
        run({"url": server.url, "timeout_seconds": 30}, context)
    assert time.monotonic() - started < 2
    assert (caught.value.code, caught.value.retryable) == ("http_timeout", True)


def test_a_passed_deadline_sends_nothing(serve, allow_local):
    server = serve()
    context = ExecutionContext(run_id="r", node_id="n", deadline=time.monotonic() - 1)
    with pytest.raises(ConnectorError) as caught:
        run({"url": server.url}, context)
    assert (caught.value.code, caught.value.retryable) == ("step_deadline_exceeded", True)
    assert server.requests == []


def test_truncate_text_never_splits_a_character():
    assert truncate_text("aé", 2) == "a"
    assert truncate_text("abc", 3) == "abc"


@pytest.mark.parametrize("code", ["http", "webhook", "slack"])
def test_the_connectors_are_built_ins(code):
    [path] = [p for p in BUILTIN_CONNECTORS if p.split(".")[-2] == code]
    adapter = import_string(path)
    assert adapter.code == code
    assert adapter.definition_problems() == []
