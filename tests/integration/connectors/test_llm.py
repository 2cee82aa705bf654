"""The llm connector against a real local server speaking the OpenAI chat protocol."""

import socket
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings

from automate.connectors import ConnectorError, ConnectorInputError, ExecutionContext
from automate.connectors.builtins.llm import LLMConnector
from automate.governance import budget
from automate.governance.models import LLMUsage
from tests.factories import make_tenant
from tests.support.fake_openai import running_fake_openai

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
API_KEY = "sk-test-0123456789abcdef"


# Every call gets this answer unless a test changes the server's ``default``.
ANSWER = {
    "content": "Paid: thank the customer.",
    "model": "{model}-2024-07-18",
    "usage": {"prompt_tokens": 12, "completion_tokens": 5},
}


@pytest.fixture
def server():
    with running_fake_openai() as fake:
        fake.default = dict(ANSWER)
        yield fake


def llm_settings(server, *, budget_usd=10.0, prices=None):
    llm = {"base_url": server.base_url}
    if prices:
        llm["prices"] = prices
    return override_settings(
        DJANGO_AUTOMATE={
            "POLICY": {"http_allowlist": ["127.0.0.1"], "llm_budget_daily": budget_usd},
            "CONNECTOR_OPTIONS": {"llm": llm},
        }
    )


@pytest.fixture
def tenant(db):
    return make_tenant("acme")


def ctx(**kwargs):
    defaults = {"run_id": "run-1", "node_id": "summarise", "tenant": "acme", "timeout_seconds": 10}
    return ExecutionContext(trace_id=TRACE_ID, **{**defaults, **kwargs})


def chat(**params):
    params = {"api_key": API_KEY, "model": "gpt-4o-mini", "prompt": "Summarise: paid", **params}
    return LLMConnector().run("chat", params, ctx())


def test_a_chat_returns_the_answer_and_records_usage_and_cost(server, tenant):
    with llm_settings(server):
        output = chat(
            system="You are terse.",
            messages=[{"role": "user", "content": "Invoice 42 is paid."}],
            prompt="What now?",
            temperature=0.2,
            max_tokens=50,
        )

    cost = budget.cost_of("gpt-4o-mini", 12, 5)
    assert output == {
        "content": "Paid: thank the customer.",
        "model": "gpt-4o-mini-2024-07-18",
        "finish_reason": "stop",
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
        "cost_usd": str(cost),
    }
    [request] = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == f"Bearer {API_KEY}"
    assert request["headers"]["traceparent"].startswith(f"00-{TRACE_ID}-")
    assert request["json"]["model"] == "gpt-4o-mini"
    assert request["json"]["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Invoice 42 is paid."},
        {"role": "user", "content": "What now?"},
    ]
    assert request["json"]["max_tokens"] == 50
    assert request["json"]["temperature"] == 0.2

    usage = LLMUsage.objects.get()
    assert (usage.model, usage.prompt_tokens, usage.completion_tokens) == ("gpt-4o-mini", 12, 5)
    assert (usage.run_id, usage.node_id, usage.trace_id) == ("run-1", "summarise", TRACE_ID)
    assert usage.cost_usd == cost
    assert budget.spent_today("acme") == cost


def test_a_prompt_alone_is_one_user_message_with_default_max_tokens(server, tenant):
    with llm_settings(server):
        chat()
    [request] = server.requests
    assert request["json"]["messages"] == [{"role": "user", "content": "Summarise: paid"}]
    assert request["json"]["max_tokens"] == 1024
    assert "temperature" not in request["json"]


def test_without_messages_or_prompt_nothing_is_sent(server, tenant):
    with llm_settings(server), pytest.raises(ConnectorInputError):
        LLMConnector().run(
            "chat", {"api_key": API_KEY, "model": "gpt-4o-mini", "system": "Hi"}, ctx()
        )
    assert server.requests == []


def test_over_budget_the_call_is_refused_before_anything_is_sent(server, tenant):
    # gpt-4 at its built-in price: 1024 completion tokens alone cost about $0.06.
    with llm_settings(server, budget_usd=0.05), pytest.raises(ConnectorError) as caught:
        chat(model="gpt-4")
    error = caught.value
    assert (error.code, error.retryable) == ("budget_exceeded", False)
    assert error.details["budget_usd"] == "0.05"
    assert server.requests == []
    assert budget.spent_today("acme") == 0
    assert not LLMUsage.objects.exists()


def test_a_budget_of_zero_refuses_every_call(server, tenant):
    with llm_settings(server, budget_usd=0), pytest.raises(ConnectorError) as caught:
        chat()
    assert caught.value.code == "budget_exceeded"
    assert server.requests == []


@pytest.mark.parametrize(
    ("status", "retryable", "code"),
    [
        (429, True, "http_rate_limited"),
        (500, True, "http_server_error"),
        (503, True, "http_server_error"),
        (400, False, "http_client_error"),
        (401, False, "http_client_error"),
        (404, False, "http_client_error"),
    ],
)
def test_provider_errors_say_whether_to_retry(server, tenant, status, retryable, code):
    server.default = {
        "status": status,
        "headers": {"Retry-After": "7"},
        "body": {"error": {"message": f"status {status} from provider", "type": "x"}},
    }
    with llm_settings(server), pytest.raises(ConnectorError) as caught:
        chat()
    error = caught.value
    assert (error.code, error.retryable) == (code, retryable)
    assert f"status {status} from provider" in error.message
    assert error.details["status"] == status
    if status == 429:
        assert error.retry_after == 7
    # The SDK does not retry on its own (max_retries=0): the engine does.
    assert len(server.requests) == 1
    # A failed call costs nothing: the reservation is given back.
    assert budget.spent_today("acme") == 0
    assert not LLMUsage.objects.exists()


def test_the_api_key_is_not_repeated_in_errors(server, tenant):
    server.default = {
        "status": 401,
        "body": {"error": {"message": f"Incorrect API key provided: {API_KEY}."}},
    }
    with llm_settings(server), pytest.raises(ConnectorError) as caught:
        chat()
    assert "Incorrect API key provided" in caught.value.message
    assert API_KEY not in caught.value.message
    assert API_KEY not in str(caught.value.details)


def test_the_outbound_policy_applies_to_the_provider(server, tenant):
    # 127.0.0.1 is not on the http_allowlist here: a loopback address is refused.
    with (
        override_settings(
            DJANGO_AUTOMATE={"CONNECTOR_OPTIONS": {"llm": {"base_url": server.base_url}}}
        ),
        pytest.raises(ConnectorError) as caught,
    ):
        chat()
    assert (caught.value.code, caught.value.retryable) == ("ssrf_blocked", False)
    assert server.requests == []
    assert budget.spent_today("acme") == 0


def test_an_unreachable_provider_is_retryable(tenant):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port any more: connection refused.
    with (
        override_settings(
            DJANGO_AUTOMATE={
                "POLICY": {"http_allowlist": ["127.0.0.1"]},
                "CONNECTOR_OPTIONS": {"llm": {"base_url": f"http://127.0.0.1:{port}/v1"}},
            }
        ),
        pytest.raises(ConnectorError) as caught,
    ):
        chat()
    assert (caught.value.code, caught.value.retryable) == ("http_connect_failed", True)
    assert budget.spent_today("acme") == 0


def test_a_slow_provider_times_out_as_retryable(server, tenant):
    server.default["delay"] = 1
    with llm_settings(server), pytest.raises(ConnectorError) as caught:
        LLMConnector().run(
            "chat",
            {"api_key": API_KEY, "model": "gpt-4o-mini", "prompt": "hi"},
            ctx(timeout_seconds=0.3),
        )
    assert (caught.value.code, caught.value.retryable) == ("http_timeout", True)
    assert budget.spent_today("acme") == 0


def test_an_answer_that_is_not_a_chat_completion_is_not_retried(server, tenant):
    server.default = {"body": {"hello": "world"}}
    with llm_settings(server), pytest.raises(ConnectorError) as caught:
        chat()
    assert (caught.value.code, caught.value.retryable) == ("llm_bad_response", False)
    assert budget.spent_today("acme") == 0


def test_without_reported_usage_the_call_is_still_charged(server, tenant):
    server.default["usage"] = None
    with llm_settings(server):
        output = chat(prompt="x" * 40)
    # 40 characters ≈ 10 prompt tokens; the 25-character answer ≈ 7 completion tokens.
    assert output["usage"] == {"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17}
    assert Decimal(output["cost_usd"]) > 0
    assert budget.spent_today("acme") == Decimal(output["cost_usd"])


@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_never_overspend_the_budget(server):
    make_tenant("acme")
    server.default.update(usage="echo", delay=0.05)  # each call costs exactly its estimate
    # 400 characters ≈ 100 prompt tokens + 100 completion tokens at $1 per 1K = $0.20.
    prices = {"house-model": {"input_per_1k": 1, "output_per_1k": 1}}
    outcomes = []
    lock = threading.Lock()
    threads_count = 6
    barrier = threading.Barrier(threads_count)

    def call():
        try:
            barrier.wait(timeout=10)
            try:
                chat(model="house-model", prompt="x" * 400, max_tokens=100)
                outcome = "answered"
            except ConnectorError as exc:
                outcome = exc.code
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    with llm_settings(server, budget_usd=0.5, prices=prices):
        threads = [threading.Thread(target=call) for _ in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    assert sorted(outcomes) == ["answered"] * 2 + ["budget_exceeded"] * 4
    assert len(server.requests) == 2
    assert budget.spent_today("acme") == Decimal("0.4")
    assert LLMUsage.objects.count() == 2
