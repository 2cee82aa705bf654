"""Reading a model's answer and the schema it is asked to follow (``automate.copilot.schema``),
and the provider's edge cases against the scripted server."""

import json
import socket

import jsonschema
import pytest
from django.conf import settings
from django.test import override_settings

from automate.copilot.catalog import build_catalog
from automate.copilot.exceptions import CopilotUnavailableError
from automate.copilot.provider import ModelDrafter, forget_modes
from automate.copilot.schema import answer_schema, read_answer
from automate.copilot.settings import copilot_settings
from automate.copilot.types import empty_definition
from automate.governance import budget
from automate.governance.models import LLMUsage
from tests.factories import make_tenant
from tests.support.fake_openai import running_fake_openai

GOOD = {
    "definition": {
        "trigger_spec": {"event_type": "invoice.paid"},
        "rule_spec": {},
        "graph": {
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {
                    "id": "notify",
                    "type": "action",
                    "connector": "slack",
                    "action": "post_message",
                    "inputs": {
                        "token": {"$secret": "SLACK_TOKEN"},
                        "channel": "#billing",
                        "text": "Paid",
                    },
                },
            ],
            "edges": [{"source": "trigger", "target": "notify"}],
        },
    },
    "explanations": {"notify": "Posts to #billing."},
    "assumptions": [],
    "not_understood": [],
    "notes": [],
}


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    forget_modes()
    monkeypatch.setenv("AUTOMATE_SLACK_TOKEN", "xoxb-5555555555-provider-test")
    yield
    forget_modes()


@pytest.fixture
def tenant(db):
    return make_tenant("acme")


@pytest.fixture
def schema(tenant):
    return answer_schema(build_catalog(tenant=tenant))


def test_the_schema_accepts_a_good_answer_and_offers_every_action(schema, tenant):
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(GOOD, schema)
    shapes = schema["properties"]["definition"]["properties"]["graph"]["properties"]["nodes"]
    kinds = {
        (s["properties"]["connector"]["const"], s["properties"]["action"]["const"])
        for s in shapes["items"]["anyOf"]
        if "connector" in s["properties"]
    }
    catalog = build_catalog(tenant=tenant)
    assert kinds == {(a.connector, a.action) for a in catalog.actions}


def test_a_secret_input_accepts_only_a_reference_to_a_known_name(schema):
    leaky = json.loads(json.dumps(GOOD))
    leaky["definition"]["graph"]["nodes"][1]["inputs"]["token"] = "xoxb-5555555555-provider-test"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(leaky, schema)
    unknown = json.loads(json.dumps(GOOD))
    unknown["definition"]["graph"]["nodes"][1]["inputs"]["token"] = {"$secret": "NOPE"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(unknown, schema)


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(GOOD),
        "```json\n" + json.dumps(GOOD) + "\n```",
        "```\n" + json.dumps(GOOD) + "\n```",
        "Here is the workflow:\n" + json.dumps(GOOD),
    ],
)
def test_an_answer_is_read_with_or_without_fences(text, schema):
    read = read_answer(text, schema=schema, before=empty_definition())
    assert read.problems == []
    assert read.answer.definition == GOOD["definition"]
    assert read.answer.explanations == {"notify": "Posts to #billing."}


def test_a_bare_definition_is_read_and_the_envelope_asked_for(schema):
    read = read_answer(json.dumps(GOOD["definition"]), schema=schema, before=empty_definition())
    assert read.answer.definition == GOOD["definition"]
    assert any("required property" in p["message"] for p in read.problems)


def test_every_pattern_is_anchored_for_grammar_based_servers(schema):
    patterns = []

    def walk(value):
        if isinstance(value, dict):
            if isinstance(value.get("pattern"), str):
                patterns.append(value["pattern"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(schema)
    assert patterns
    assert [p for p in patterns if not (p.startswith("^") and p.endswith("$"))] == []


def test_a_cut_off_answer_says_so(schema):
    read = read_answer(
        json.dumps(GOOD)[:80], schema=schema, before=empty_definition(), truncated=True
    )
    assert read.answer is None
    [problem] = read.problems
    assert problem["message"].startswith("your answer was not valid JSON")
    assert "max_tokens" in problem["message"]


def test_an_answer_without_a_definition_is_a_problem(schema):
    read = read_answer('{"workflow": {}}', schema=schema, before=empty_definition())
    assert read.answer is None
    assert "'definition' object" in read.problems[0]["message"]


def test_schema_violations_are_reported_by_path(schema):
    bad = json.loads(json.dumps(GOOD))
    bad["definition"]["graph"]["nodes"][1]["inputs"]["channel"] = 42
    read = read_answer(json.dumps(bad), schema=schema, before=empty_definition())
    assert read.answer is not None
    assert read.problems[0]["field"] == "definition.graph.nodes.1"


def test_a_masked_value_copied_back_is_restored_from_the_draft(schema):
    before = json.loads(json.dumps(GOOD["definition"]))
    before["graph"]["nodes"][1]["inputs"]["text"] = "keep me"
    echoed = json.loads(json.dumps(GOOD))
    echoed["definition"]["graph"]["nodes"][1]["inputs"]["text"] = "********"
    read = read_answer(json.dumps(echoed), schema=schema, before=before)
    assert read.answer.definition["graph"]["nodes"][1]["inputs"]["text"] == "keep me"


def model_settings(base_url, **options):
    return override_settings(
        DJANGO_AUTOMATE={
            **settings.DJANGO_AUTOMATE,
            "POLICY": {"http_allowlist": ["127.0.0.1"]},
            "COPILOT": {"base_url": base_url, "model": "gpt-4o-mini", **options},
        }
    )


def test_an_unreachable_server_is_unavailable_and_costs_nothing(tenant):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with model_settings(f"http://127.0.0.1:{port}/v1"):
        drafter = ModelDrafter(settings=copilot_settings(), tenant=tenant)
        with pytest.raises(CopilotUnavailableError) as caught:
            drafter.ask(
                prompt="log it", current=empty_definition(), catalog=build_catalog(tenant=tenant)
            )
    assert caught.value.details["reason"] == "unreachable"
    assert f"http://127.0.0.1:{port}" in caught.value.message
    assert budget.spent_today("acme") == 0


def test_a_server_that_reports_no_usage_is_still_charged(tenant):
    with running_fake_openai() as fake, model_settings(fake.base_url):
        fake.script(answer=GOOD, usage=None)
        drafter = ModelDrafter(settings=copilot_settings(), tenant=tenant)
        read = drafter.ask(
            prompt="log it", current=empty_definition(), catalog=build_catalog(tenant=tenant)
        )
        sent = fake.requests[0]["json"]
    assert read.answer is not None
    characters = sum(len(m["content"]) for m in sent["messages"]) + len(
        json.dumps(sent["response_format"], separators=(",", ":"))
    )
    usage = LLMUsage.objects.get()
    assert usage.prompt_tokens == pytest.approx(characters / 4, abs=10)
    assert usage.completion_tokens > 0
    assert usage.cost_usd > 0
    assert drafter.usage.prompt_tokens == usage.prompt_tokens


def test_an_answer_without_choices_is_a_bad_response(tenant):
    with running_fake_openai() as fake, model_settings(fake.base_url):
        fake.script(answer=GOOD, usage={"prompt_tokens": 10, "completion_tokens": 0})
        # A server that answers 200 with an empty list of choices.
        fake.take = lambda request: (
            200,
            {},
            {"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []},
            0,
        )
        drafter = ModelDrafter(settings=copilot_settings(), tenant=tenant)
        with pytest.raises(CopilotUnavailableError) as caught:
            drafter.ask(
                prompt="log it", current=empty_definition(), catalog=build_catalog(tenant=tenant)
            )
    assert caught.value.details["reason"] == "bad_response"
    assert "OpenAI-compatible" in caught.value.message
