"""The offline drafter through ``propose`` on a real tenant: the catalog comes from real
events, secrets and the model allow-list, and every typical draft passes the publish
checks (and publishes)."""

import json

import pytest

from automate.copilot.service import propose
from automate.events.services import record_event
from automate.tenants.services import get_default_tenant
from automate.workflows.services import create_workflow, definition_problems, publish_version

SLACK_VALUE = "xoxb-offline-drafter-canary-4417"


def but_inputs_left_to_fill(problems):
    """The problems other than a required input left empty (a secret to pick): the editor
    badges those and publishing refuses them until the user fills them in."""
    return [p for p in problems if p.get("kind") != "required"]


def _invoice(number, amount):
    return {
        "id": f"evt_{number}",
        "type": "invoice.paid",
        "data": {
            "object": {
                "id": f"in_{number}",
                "customer": f"cus_{number}",
                "customer_email": f"c{number}@example.com",
                "amount_paid": amount,
                "currency": "eur",
            }
        },
    }


@pytest.fixture
def tenant(db, settings, monkeypatch):
    monkeypatch.setenv("AUTOMATE_SLACK_TOKEN", SLACK_VALUE)
    settings.DJANGO_AUTOMATE = {
        **settings.DJANGO_AUTOMATE,
        "CONNECTOR_OPTIONS": {
            "django_model": {"models": [{"model": "demo_crm.Customer", "tenant_field": "tenant"}]}
        },
    }
    tenant = get_default_tenant()
    for number, amount in enumerate([2500, 125000]):
        record_event(
            type="invoice.paid",
            source="stripe",
            payload=_invoice(number, amount),
            dedupe_key=f"evt_{number}",
            tenant=tenant,
            enqueue=False,
        )
    record_event(
        type="order.created",
        payload={"id": "ord_1", "total": 80.5, "currency": "EUR", "status": "new"},
        dedupe_key="ord_1",
        tenant=tenant,
        enqueue=False,
    )
    return tenant


TYPICAL = [
    "When a paid invoice over 1000 EUR comes in, post to #billing on Slack and email finance",
    "When an invoice is paid, record the customer in the CRM",
    "Post to Slack #sales whenever a new order is created",
    "When an order is created with a total under $50, log it",
    "When an order is created, wait 10 minutes, then POST it to https://erp.example.com/in",
    "When an invoice is paid, send a webhook to https://hooks.example.com/paid",
    "When an invoice is paid, email the customer",
    "every weekday at 8:30am post to #standup",
    "When an order is created where the status is rush, email ops@acme.test and cto@acme.test",
    "When a ticket is escalated, wait 1 hour and call https://pager.example.com/alert",
]


@pytest.mark.parametrize("prompt", TYPICAL)
def test_typical_sentences_give_drafts_that_pass_the_publish_checks(tenant, prompt):
    proposal = propose(tenant=tenant, prompt=prompt)
    assert proposal.drafter == "offline"
    assert proposal.complete, proposal.problems
    assert (
        but_inputs_left_to_fill(definition_problems(**proposal.definition, tenant=tenant.slug))
        == []
    )
    assert len(proposal.definition["graph"]["nodes"]) >= 2
    assert proposal.not_understood == []
    assert SLACK_VALUE not in json.dumps(proposal.as_json())


def test_a_follow_up_conversation_ends_in_a_draft_that_publishes(tenant):
    turns = [
        "When a paid invoice over 1000 EUR comes in, post to #billing on Slack and email finance",
        "add a retry to the Slack step",
        "only for EUR",
        "also create the customer in the CRM",
        "remove the email",
        "wait 5 minutes before the CRM step",
    ]
    current, conversation = None, []
    for prompt in turns:
        proposal = propose(tenant=tenant, prompt=prompt, current=current, conversation=conversation)
        assert proposal.complete, (prompt, proposal.problems)
        assert proposal.not_understood == [], prompt
        current, conversation = proposal.definition, [*conversation, prompt]

    nodes = {n["id"]: n for n in current["graph"]["nodes"]}
    assert set(nodes) == {"trigger", "slack_billing", "wait_5_minutes", "record_customer"}
    assert nodes["slack_billing"]["retry"]["max_retries"] == 3
    assert nodes["slack_billing"]["inputs"]["token"] == {"$secret": "SLACK_TOKEN"}
    assert "currency" in json.dumps(current["rule_spec"])

    workflow = create_workflow(name="From the copilot", tenant=tenant, **current)
    version = publish_version(workflow=workflow)
    assert version.graph == current["graph"]


def test_the_amount_field_and_its_unit_come_from_the_tenants_real_events(tenant):
    proposal = propose(tenant=tenant, prompt="When an invoice is paid over 20 EUR, log it")
    assert proposal.definition["rule_spec"] == {">": [{"var": "data.object.amount_paid"}, 2000]}
    assert any("in cents" in line for line in proposal.assumptions)

    orders = propose(tenant=tenant, prompt="When an order is created over 20 EUR, log it")
    assert orders.definition["rule_spec"] == {">": [{"var": "total"}, 20]}


def test_nonsense_changes_nothing_and_is_listed_as_not_understood(tenant):
    first = propose(tenant=tenant, prompt="When an invoice is paid, post to #billing")
    proposal = propose(tenant=tenant, prompt="make me a sandwich", current=first.definition)
    assert proposal.definition == first.definition
    assert proposal.not_understood == ["make me a sandwich"]
    assert proposal.explanations == {}


def test_the_same_request_gives_the_same_draft(tenant):
    prompt = "When a paid invoice over 1000 EUR comes in, post to #billing and email finance"
    first, second = (propose(tenant=tenant, prompt=prompt) for _ in range(2))
    assert first.definition == second.definition
    assert first.explanations == second.explanations
    assert first.assumptions == second.assumptions


def test_a_connector_the_site_does_not_allow_is_left_out_with_a_note(tenant, settings):
    settings.DJANGO_AUTOMATE = {
        **settings.DJANGO_AUTOMATE,
        "POLICY": {"connector_allowlist": ["email"]},
    }
    proposal = propose(
        tenant=tenant, prompt="When an invoice is paid, post to #billing and email a@acme.test"
    )
    assert proposal.complete, proposal.problems
    kinds = [n.get("connector") for n in proposal.definition["graph"]["nodes"]]
    assert kinds == [None, "email"]
    assert any("does not allow the slack connector" in note for note in proposal.notes)


def test_whatever_it_drafts_from_a_jumble_of_its_words_passes_the_publish_checks(tenant):
    import random

    from automate.copilot.catalog import build_catalog
    from automate.copilot.offline import OfflineDrafter
    from automate.copilot.types import empty_definition
    from tests.unit.copilot.test_offline_drafter import WORDS

    catalog = build_catalog(tenant=tenant, event_type="invoice.paid")
    rng = random.Random(5)
    current, changed = empty_definition(), 0
    for turn in range(150):
        prompt = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 18)))
        answer = OfflineDrafter().draft(prompt=prompt, current=current, catalog=catalog)
        if answer.definition == current:
            continue
        changed += 1
        problems = definition_problems(**answer.definition, tenant=tenant.slug)
        assert but_inputs_left_to_fill(problems) == [], prompt
        assert SLACK_VALUE not in json.dumps(answer.definition)
        current = answer.definition if turn % 3 else empty_definition()
    assert changed > 50
