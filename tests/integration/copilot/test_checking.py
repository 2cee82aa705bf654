"""Checking answers for a real tenant: its stored secrets, its catalog, publishing."""

from __future__ import annotations

import json

import pytest

from automate.copilot.catalog import build_catalog
from automate.copilot.checking import answer_problems, check_answer
from automate.copilot.salvage import problem_signature
from automate.copilot.types import Answer, empty_definition
from automate.governance.secret_store import create_secret
from automate.secrets import resolve
from automate.workflows.secret_checks import unresolvable_secret_problems
from automate.workflows.services import create_workflow, definition_problems, publish_version
from tests.factories import make_tenant
from tests.integration.governance.helpers import canary_value, new_key, use_db_backend
from tests.unit.copilot.checking_support import definition, log, slack

pytestmark = pytest.mark.django_db

SLACK_TOKEN = "xoxb-1029384756-5647382910-QwErTyUiOpAsDfGhJkLzXcVb"


@pytest.fixture
def tenant(monkeypatch, settings):
    use_db_backend(monkeypatch, settings, new_key())
    return make_tenant("acme")


def check(tenant, answer_definition, *, before=None, **answer):
    before = before or empty_definition()
    catalog = build_catalog(tenant=tenant)
    checked = check_answer(
        Answer(definition=answer_definition, **answer),
        before=before,
        catalog=catalog,
        tenant=tenant,
    )
    return checked, before


def publish_problems(tenant, checked_definition):
    return [
        *definition_problems(**checked_definition, tenant=tenant.slug),
        *unresolvable_secret_problems(graph=checked_definition["graph"], tenant=tenant),
    ]


def assert_publishable(tenant, checked):
    """A complete proposal, accepted into a draft, publishes."""
    workflow = create_workflow(name="From the copilot", tenant=tenant, **checked.definition)
    assert publish_version(workflow=workflow).version_num == 1


def test_a_reference_to_the_tenants_secret_is_kept_and_the_draft_publishes(tenant):
    create_secret("SLACK_BOT_TOKEN", canary_value("slack"), tenant=tenant)
    checked, _ = check(tenant, definition(slack(token={"$secret": "SLACK_BOT_TOKEN"})))
    assert checked.complete, checked.problems
    assert checked.definition["graph"]["nodes"][1]["inputs"]["token"] == {
        "$secret": "SLACK_BOT_TOKEN"
    }
    assert_publishable(tenant, checked)


def test_a_literal_token_becomes_the_tenants_slack_secret_and_publishes(tenant):
    create_secret("SLACK_BOT_TOKEN", canary_value("slack"), tenant=tenant)
    checked, _ = check(tenant, definition(slack(token=SLACK_TOKEN)))
    assert checked.complete
    assert SLACK_TOKEN not in json.dumps(checked.__dict__)
    assert_publishable(tenant, checked)


def test_another_tenants_secret_is_never_picked(tenant):
    other = make_tenant("globex")
    create_secret("SLACK_BOT_TOKEN", canary_value("other"), tenant=other)
    checked, _ = check(tenant, definition(slack(token={"$secret": "SLACK_BOT_TOKEN"})))
    assert "token" not in checked.definition["graph"]["nodes"][1]["inputs"]
    assert checked.secrets_to_create == [
        {"name": "SLACK_BOT_TOKEN", "node_id": "notify", "field": "inputs.token"}
    ]
    assert any("Create a secret named SLACK_BOT_TOKEN" in note for note in checked.notes)
    assert not checked.complete
    # Only the token the user has to pick is left to fill in before publishing.
    assert publish_problems(tenant, checked.definition) == [
        {
            "node_id": "notify",
            "field": "inputs.token",
            "message": "is required: pick a secret",
            "kind": "required",
        }
    ]


def test_the_value_of_a_resolved_secret_never_comes_back(tenant):
    value = canary_value("crm")
    create_secret("CRM_TOKEN", value, tenant=tenant)
    assert resolve({"$secret": "CRM_TOKEN"}, tenant=tenant) == value  # now a known value
    labelled = {**log("record", f"token {value}"), "label": f"Send {value}"}
    checked, _ = check(tenant, definition(labelled), notes=[f"Token: {value}"])
    assert value not in json.dumps(checked.__dict__)
    assert not checked.complete
    assert {p["field"] for p in checked.problems} == {"label", "inputs.message"}


def test_an_unresolvable_reference_in_the_draft_stays_but_adds_nothing_new(tenant):
    current = definition(slack(token={"$secret": "SLACK_TOKEN"}))
    answer = definition(slack(token={"$secret": "SLACK_TOKEN"}), log("extra"))
    checked, _ = check(tenant, answer, before=current)
    assert [n["id"] for n in checked.definition["graph"]["nodes"]] == ["trigger", "notify", "extra"]
    assert checked.definition["graph"]["nodes"][1]["inputs"]["token"] == {"$secret": "SLACK_TOKEN"}
    assert not checked.complete
    had = {problem_signature(p) for p in publish_problems(tenant, current)}
    assert had  # publishing the draft names the missing secret
    assert {problem_signature(p) for p in publish_problems(tenant, checked.definition)} <= had


def test_a_disallowed_connector_is_left_out(tenant, settings):
    settings.DJANGO_AUTOMATE = {
        **settings.DJANGO_AUTOMATE,
        "POLICY": {"connector_allowlist": ["log"]},
    }
    checked, _ = check(tenant, definition(log("record"), slack(token=SLACK_TOKEN)))
    assert [n["id"] for n in checked.definition["graph"]["nodes"]] == ["trigger", "record"]
    assert any("not allowed" in p["message"] for p in checked.problems)
    assert SLACK_TOKEN not in json.dumps(checked.__dict__)


def test_answer_problems_lists_what_a_model_can_repair_and_no_value(tenant):
    answer = definition(
        slack(token=SLACK_TOKEN),
        {"id": "broken", "type": "action", "connector": "nowhere", "action": "go"},
    )
    problems = answer_problems(Answer(definition=answer), tenant=tenant)
    assert problems == [
        {
            "node_id": "broken",
            "field": "graph.nodes[2].connector",
            "message": "unknown connector or action 'nowhere.go'",
        }
    ]
    assert answer_problems(Answer(definition="not json"), tenant=tenant)[0]["field"] == (
        "definition"
    )


def test_answer_problems_is_empty_for_a_publishable_answer(tenant):
    create_secret("SLACK_BOT_TOKEN", canary_value("slack"), tenant=tenant)
    answer = definition(slack(token={"$secret": "SLACK_BOT_TOKEN"}))
    assert answer_problems(Answer(definition=answer), tenant=tenant) == []
