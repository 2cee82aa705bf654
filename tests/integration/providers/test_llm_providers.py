"""The llm step with a host project's provider, against a real local server speaking
OpenAI's chat-completions protocol: the budget is charged, the SSRF-safe client is used,
and secrets never come back out in errors."""

import pytest
from django.conf import settings
from django.test import override_settings

from automate.connectors import ConnectorError, ConnectorInputError, ExecutionContext
from automate.connectors.builtins.llm import LLMConnector
from automate.governance import budget
from automate.governance.models import LLMUsage
from automate.governance.policy import PolicyViolation
from tests.factories import make_tenant
from tests.support.fake_openai import running_fake_openai

API_KEY = "sk-step-key-0123456789abcdef"
GATEWAY_TOKEN = "gw-token-5f4dcc3b5aa765d61d8327deb882cf99"
GATEWAY = "tests.support.providers.GatewayProvider"
ANSWER = {"content": "Paid.", "usage": {"prompt_tokens": 120, "completion_tokens": 30}}
PLUGIN = """
from tests.support.providers import GatewayProvider

class AcmeGateway(GatewayProvider):
    key = "acme"
    display_name = "Acme's gateway"
"""


@pytest.fixture
def server():
    with running_fake_openai() as fake:
        fake.default = dict(ANSWER)
        yield fake


@pytest.fixture
def tenant(db, monkeypatch):
    monkeypatch.setenv("AUTOMATE_GATEWAY_TOKEN", GATEWAY_TOKEN)
    return make_tenant("acme")


def configured(server, *, budget_usd=10.0, allow_local=True, options=None, providers=None):
    policy = {"llm_budget_daily": budget_usd}
    if allow_local:
        policy["http_allowlist"] = ["127.0.0.1"]
    gateway = {"url": server.base_url, "token_secret": "GATEWAY_TOKEN"}
    return override_settings(
        AUTOMATE_PROVIDERS=providers if providers is not None else [GATEWAY],
        DJANGO_AUTOMATE={
            **settings.DJANGO_AUTOMATE,  # the test site's WORKER_MODE (synchronous)
            "POLICY": policy,
            "CONNECTOR_OPTIONS": {"llm": {"base_url": server.base_url}},
            "PROVIDER_OPTIONS": options if options is not None else {"gateway": gateway},
        },
    )


def chat(**params):
    params = {"api_key": API_KEY, "model": "gpt-4o-mini", "prompt": "Summarise: paid", **params}
    context = ExecutionContext(
        run_id="run-1", node_id="summarise", tenant="acme", timeout_seconds=10
    )
    return LLMConnector().run("chat", params, context)


def test_a_step_chooses_the_hosts_provider_by_key_and_its_cost_is_charged(server, tenant):
    with configured(server):
        output = chat(provider="gateway", max_tokens=60)

    [request] = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["x-gateway-token"] == GATEWAY_TOKEN
    assert request["headers"]["x-gateway-tenant"] == "acme"
    assert request["json"]["messages"] == [{"role": "user", "content": "Summarise: paid"}]
    cost = budget.cost_of("gpt-4o-mini", 120, 30)
    assert output["content"] == "Paid."
    assert output["cost_usd"] == str(cost)
    usage = LLMUsage.objects.get()
    assert (usage.provider, usage.model, usage.node_id) == ("gateway", "gpt-4o-mini", "summarise")
    assert budget.spent_today("acme") == cost


def test_without_a_provider_input_the_built_in_openai_provider_is_used(server, tenant):
    with configured(server):
        chat()
    [request] = server.requests
    assert request["headers"]["authorization"] == f"Bearer {API_KEY}"
    assert "x-gateway-token" not in request["headers"]
    assert LLMUsage.objects.get().provider == "openai"


def test_the_budget_refuses_a_custom_providers_call_before_it_is_sent(server, tenant):
    # gpt-4: 1,024 completion tokens alone cost about $0.06.
    with configured(server, budget_usd=0.05), pytest.raises(ConnectorError) as caught:
        chat(provider="gateway", model="gpt-4")
    assert caught.value.code == "budget_exceeded"
    assert server.requests == []
    assert not LLMUsage.objects.exists()


@pytest.mark.parametrize(("status", "retryable"), [(401, False), (503, True)])
def test_a_providers_errors_are_normalized_and_its_secrets_masked(
    server, tenant, status, retryable
):
    server.default = {"status": status}
    with configured(server), pytest.raises(ConnectorError) as caught:
        chat(provider="gateway")
    error = caught.value
    assert (error.code, error.retryable) == ("gateway_refused", retryable)
    assert f"(HTTP {status})" in error.message
    assert error.details["provider"] == "gateway"
    assert error.details["connector"] == "llm"
    assert GATEWAY_TOKEN not in error.message
    assert GATEWAY_TOKEN not in str(error.details)
    assert GATEWAY_TOKEN not in str(error)
    # The failed call's estimate is given back.
    assert budget.spent_today("acme") == 0


def test_a_custom_providers_outbound_call_goes_through_the_ssrf_safe_client(server, tenant):
    with configured(server, allow_local=False), pytest.raises(ConnectorError) as caught:
        chat(provider="gateway")
    assert (caught.value.code, caught.value.retryable) == ("ssrf_blocked", False)
    assert isinstance(caught.value.__cause__, PolicyViolation)
    assert server.requests == []
    assert budget.spent_today("acme") == 0


def test_an_unknown_provider_key_is_an_input_error_and_reserves_nothing(server, tenant):
    with configured(server), pytest.raises(ConnectorInputError) as caught:
        chat(provider="gatewy")
    assert caught.value.errors[0]["path"] == "inputs.provider"
    assert "No provider is registered as 'gatewy'" in caught.value.message
    assert server.requests == []


def test_a_provider_that_offers_no_chat_is_refused(server, tenant):
    with (
        configured(server, providers=[GATEWAY, "tests.support.providers.NotAnLLM"]),
        pytest.raises(ConnectorInputError) as caught,
    ):
        chat(provider="vectors")
    assert "does not offer chat completions" in caught.value.message


def test_a_misconfigured_provider_fails_the_step_naming_the_problem(server, tenant):
    options = {"gateway": {"url": server.base_url}}
    with configured(server, options=options), pytest.raises(ConnectorError) as caught:
        chat(provider="gateway")
    assert (caught.value.code, caught.value.retryable) == ("provider_misconfigured", False)
    assert "'token_secret' is a required property" in caught.value.message
    assert server.requests == []


def test_an_answer_that_is_not_a_chat_completion_is_llm_bad_response(server, tenant):
    server.default = {"body": {"text": "hello"}}
    with configured(server), pytest.raises(ConnectorError) as caught:
        chat(provider="gateway")
    assert (caught.value.code, caught.value.retryable) == ("llm_bad_response", False)
    assert "'gateway'" in caught.value.message


def test_openai_provider_options_apply_to_the_built_in_provider(server, tenant):
    headers = {"default_headers": {"OpenAI-Organization": "org-acme"}}
    with configured(server, options={"openai": headers}):
        chat(provider="openai")
    assert server.requests[0]["headers"]["openai-organization"] == "org-acme"


def test_a_subclass_of_the_openai_provider_adds_its_own_headers(server, tenant):
    with configured(server, providers=["tests.support.providers.ShoutingOpenAIProvider"]):
        chat(provider="shouting")
    [request] = server.requests
    assert request["headers"]["x-shout"] == "yes"
    assert request["headers"]["authorization"] == f"Bearer {API_KEY}"
    assert LLMUsage.objects.get().provider == "shouting"


def test_a_provider_installed_by_entry_point_serves_a_step(server, tenant, installed_plugin):
    installed_plugin(PLUGIN, {"acme": "acme_gateway:AcmeGateway"})
    options = {"acme": {"url": server.base_url, "token_secret": "GATEWAY_TOKEN"}}
    with configured(server, providers=[], options=options):
        output = chat(provider="acme")
    assert output["content"] == "Paid."
    assert server.requests[0]["headers"]["x-gateway-token"] == GATEWAY_TOKEN
    assert LLMUsage.objects.get().provider == "acme"


@pytest.mark.django_db(transaction=True)  # runs start on commit
def test_a_published_workflow_runs_its_llm_step_through_the_chosen_provider(server, monkeypatch):
    from automate.execution.models import ExecutionRun
    from automate.runtime import emit_event
    from tests.factories import make_published

    monkeypatch.setenv("AUTOMATE_GATEWAY_TOKEN", GATEWAY_TOKEN)
    monkeypatch.setenv("AUTOMATE_LLM_KEY", API_KEY)
    acme = make_tenant("acme")
    step = {
        "id": "summarise",
        "type": "action",
        "connector": "llm",
        "action": "chat",
        "retry": {"max_retries": 0},
        "inputs": {
            "provider": "gateway",
            "api_key": {"$secret": "LLM_KEY"},
            "model": "gpt-4o-mini",
            "prompt": "Summarise {{ event.payload.note }}",
        },
    }
    with configured(server):
        make_published(
            slug="summarise",
            tenant=acme,
            rule_spec={},
            trigger_spec={"event_type": "note.added"},
            graph={
                "nodes": [{"id": "trigger", "type": "trigger"}, step],
                "edges": [{"source": "trigger", "target": "summarise"}],
            },
        )
        emit_event("note.added", {"note": "invoice 42 paid"}, tenant=acme)
        server.default = {"status": 401}
        emit_event("note.added", {"note": "again"}, tenant=acme)

    first, second = ExecutionRun.objects.order_by("created_at")
    assert first.status == "succeeded"
    assert first.steps.get(node_id="summarise").outputs["content"] == "Paid."
    assert server.requests[0]["json"]["messages"][0]["content"] == "Summarise invoice 42 paid"
    assert LLMUsage.objects.get().provider == "gateway"
    failed = second.steps.get(node_id="summarise")
    assert failed.status == "failed"
    assert "gateway refused token ********" in failed.error
    assert GATEWAY_TOKEN not in failed.error + failed.traceback + str(failed.outputs)
