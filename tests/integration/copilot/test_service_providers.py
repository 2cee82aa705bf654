"""The copilot asking a host project's provider (``COPILOT.provider``), against a real local
server speaking OpenAI's chat-completions protocol."""

import pytest
from django.conf import settings
from django.test import override_settings

from automate.copilot import propose
from automate.copilot.exceptions import CopilotUnavailableError
from automate.copilot.provider import forget_modes
from automate.governance import budget
from automate.governance.models import AuditLogEntry, LLMUsage
from automate.providers import clear_cache
from tests.factories import make_tenant
from tests.support.fake_openai import running_fake_openai

GATEWAY_TOKEN = "gw-token-7c6a180b36896a0a8c02787eeafb0e4c"
LOG = {
    "id": "log_it",
    "type": "action",
    "connector": "log",
    "action": "write",
    "inputs": {"message": "Paid: {{ event.payload.amount_paid }}"},
}
GOOD = {
    "definition": {
        "trigger_spec": {"event_type": "invoice.paid"},
        "rule_spec": {">": [{"var": "payload.amount_paid"}, 1000]},
        "graph": {
            "nodes": [{"id": "trigger", "type": "trigger"}, LOG],
            "edges": [{"source": "trigger", "target": "log_it"}],
        },
    },
    "explanations": {},
    "assumptions": [],
    "not_understood": [],
    "notes": [],
}


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    forget_modes()
    clear_cache()
    monkeypatch.setenv("AUTOMATE_GATEWAY_TOKEN", GATEWAY_TOKEN)
    yield
    forget_modes()
    clear_cache()


@pytest.fixture
def fake():
    with running_fake_openai() as server:
        yield server


@pytest.fixture
def tenant(db):
    return make_tenant("acme")


def copilot(fake, *, provider="gateway", gateway=None, **options):
    return override_settings(
        AUTOMATE_PROVIDERS=["tests.support.providers.GatewayProvider"],
        DJANGO_AUTOMATE={
            **settings.DJANGO_AUTOMATE,
            "POLICY": {"http_allowlist": ["127.0.0.1"], "llm_budget_daily": 10.0},
            "PROVIDER_OPTIONS": {
                "gateway": gateway or {"url": fake.base_url, "token_secret": "GATEWAY_TOKEN"}
            },
            "COPILOT": {"provider": provider, "model": "gpt-4o-mini", **options},
        },
    )


def ask(tenant):
    return propose(tenant=tenant, prompt="When an invoice over 1000 is paid, log it")


def test_the_copilot_asks_the_configured_provider_without_a_base_url(fake, tenant):
    fake.script(answer=GOOD, usage={"prompt_tokens": 2000, "completion_tokens": 300})
    with copilot(fake):
        proposal = ask(tenant)

    assert (proposal.drafter, proposal.model, proposal.complete) == ("model", "gpt-4o-mini", True)
    [request] = fake.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["x-gateway-token"] == GATEWAY_TOKEN
    assert request["json"]["response_format"]["type"] == "json_schema"
    cost = budget.cost_of("gpt-4o-mini", 2000, 300)
    usage = LLMUsage.objects.get()
    assert (usage.provider, usage.node_id, usage.cost_usd) == ("gateway", "copilot", cost)
    assert budget.spent_today("acme") == cost


def test_a_server_without_structured_output_falls_back_through_the_provider(fake, tenant):
    fake.reject_response_format = True
    fake.script(answer=GOOD)
    with copilot(fake):
        proposal = ask(tenant)
    assert proposal.complete
    assert [("response_format" in r["json"], "tools" in r["json"]) for r in fake.requests] == [
        (True, False),
        (False, True),
    ]


def test_a_providers_failure_is_unavailable_with_its_secrets_masked(fake, tenant):
    fake.default = {"status": 503}
    with copilot(fake), pytest.raises(CopilotUnavailableError) as caught:
        ask(tenant)
    error = caught.value
    assert error.details["reason"] == "provider_error"
    assert (error.details["code"], error.details["retryable"]) == ("gateway_refused", True)
    assert "The model provider 'gateway' failed: gateway refused token ********" in error.message
    assert GATEWAY_TOKEN not in error.message + str(error.details)
    audited = AuditLogEntry.objects.get(action="copilot.failed")
    assert GATEWAY_TOKEN not in str(audited.details)
    assert budget.spent_today("acme") == 0


def test_the_budget_stops_a_custom_providers_call_before_it_is_sent(fake, tenant):
    with (
        copilot(fake),
        override_settings(
            DJANGO_AUTOMATE={
                **settings.DJANGO_AUTOMATE,
                "POLICY": {"http_allowlist": ["127.0.0.1"], "llm_budget_daily": 0.001},
            }
        ),
        pytest.raises(budget.BudgetExceededError),
    ):
        ask(tenant)
    assert fake.requests == []


def test_a_misconfigured_provider_says_what_to_fix(fake, tenant):
    with (
        copilot(fake, gateway={"url": fake.base_url}),
        pytest.raises(CopilotUnavailableError) as caught,
    ):
        ask(tenant)
    assert caught.value.details["reason"] == "provider_misconfigured"
    assert "'token_secret' is a required property" in caught.value.message
    assert fake.requests == []


def test_the_default_provider_without_a_base_url_is_still_the_offline_drafter(fake, tenant):
    with copilot(fake, provider="openai"):
        proposal = ask(tenant)
    assert proposal.drafter == "offline"
    assert fake.requests == []
