"""The offline drafter on a fixed catalog (no database): what it builds from a sentence,
how follow-ups edit the draft, and what it says it did not understand."""

from copy import deepcopy

import pytest

from automate.copilot.catalog import Catalog
from automate.copilot.offline import OfflineDrafter
from automate.copilot.offline_models import ModelField, ModelInfo
from automate.copilot.types import empty_definition
from automate.workflows.graph import graph_problems

STRIPE_KEYS = {
    "id": "string",
    "data.object.id": "string",
    "data.object.customer": "string",
    "data.object.customer_email": "string",
    "data.object.amount_paid": "number",
    "data.object.currency": "string",
}
CUSTOMER = ModelInfo(
    label="demo_crm.Customer",
    fields=(
        ModelField("stripe_id", "string", True),
        ModelField("email", "string", False),
        ModelField("last_invoice", "string", False),
        ModelField("last_amount_cents", "number", False),
    ),
    unique=(("stripe_id",),),
    words=("customer",),
)
ISSUE_SENTENCE = (
    "When a paid invoice over 1000 EUR comes in, post to #billing on Slack and email finance"
)


def catalog(secrets=("SLACK_TOKEN",), keys=None, types=("invoice.paid",)):
    return Catalog(
        tenant="acme",
        node_types=("trigger", "action", "condition", "delay", "transform", "merge"),
        actions=(),
        secret_names=tuple(secrets),
        event_types=tuple(types),
        sample_keys={"invoice.paid": dict(STRIPE_KEYS if keys is None else keys)},
    )


def draft(prompt, current=None, models=(CUSTOMER,), **kwargs):
    return OfflineDrafter(models=models).draft(
        prompt=prompt, current=current or empty_definition(), catalog=catalog(**kwargs)
    )


def steps(definition):
    """(id, connector or type) in run order, following the single chain from the trigger."""
    graph = definition["graph"]
    by_id = {n["id"]: n for n in graph["nodes"]}
    current = next(n["id"] for n in graph["nodes"] if n["type"] == "trigger")
    order = []
    while True:
        following = [e["target"] for e in graph["edges"] if e["source"] == current]
        if not following:
            return order
        assert len(following) == 1, graph["edges"]
        current = following[0]
        node = by_id[current]
        order.append((current, node.get("connector") or node["type"]))


def test_the_issue_sentence_becomes_a_trigger_a_rule_and_two_chained_steps():
    answer = draft(ISSUE_SENTENCE)
    definition = answer.definition
    assert definition["trigger_spec"] == {"event_type": "invoice.paid"}
    # Stripe amounts are cents: 1000 EUR is 100000.
    assert definition["rule_spec"] == {">": [{"var": "data.object.amount_paid"}, 100000]}
    assert steps(definition) == [("slack_billing", "slack"), ("email_finance", "email")]
    slack = definition["graph"]["nodes"][1]
    assert slack["inputs"]["channel"] == "#billing"
    assert slack["inputs"]["token"] == {"$secret": "SLACK_TOKEN"}
    assert "{{ event.payload.data.object.customer_email }}" in slack["inputs"]["text"]
    assert definition["graph"]["nodes"][2]["inputs"]["to"] == "finance@example.com"
    assert "I assumed the amount is in `data.object.amount_paid`, in cents (Stripe's unit)." in (
        answer.assumptions
    )
    assert set(answer.explanations) == {"trigger", "slack_billing", "email_finance"}
    assert any("finance@example.com" in note for note in answer.notes)
    assert answer.not_understood == []
    assert graph_problems(definition["graph"]) == []
    xs = [n["position"]["x"] for n in definition["graph"]["nodes"]]
    assert xs == sorted(xs)  # laid out left to right
    assert len(set(xs)) == 3


def test_the_same_request_gives_the_same_answer():
    assert draft(ISSUE_SENTENCE) == draft(ISSUE_SENTENCE)


def test_the_current_draft_passed_in_is_not_changed():
    current = draft("When an invoice is paid, post to #billing").definition
    kept = deepcopy(current)
    draft("remove the slack step", current=current)
    assert current == kept


def test_without_a_slack_secret_the_token_is_left_empty_and_a_note_says_which_to_create():
    answer = draft("When an invoice is paid, post to #billing", secrets=("OTHER",))
    token = answer.definition["graph"]["nodes"][1]["inputs"]["token"]
    assert token == ""
    assert any("SLACK_BOT_TOKEN" in note for note in answer.notes)


def test_without_sample_payloads_the_amount_field_is_assumed_and_said():
    answer = draft("When an invoice is paid over 50, post to #billing", keys={})
    assert answer.definition["rule_spec"] == {">": [{"var": "amount"}, 50]}
    assert any("`amount`" in a and "no event" in a for a in answer.assumptions)


def test_a_field_named_by_the_user_is_compared_and_its_name_guessed_when_unseen():
    answer = draft("When an invoice is paid and the quantity is at least 3, log it")
    assert answer.definition["rule_spec"] == {">=": [{"var": "quantity"}, 3]}
    assert any("`quantity`" in a for a in answer.assumptions)


def test_follow_ups_edit_the_current_draft():
    first = draft(ISSUE_SENTENCE).definition

    retried = draft("add a retry to the Slack step", current=first)
    slack = retried.definition["graph"]["nodes"][1]
    assert slack["retry"]["max_retries"] == 3
    assert "email_finance" not in retried.explanations
    assert "retries up to 3 times" in retried.explanations["slack_billing"].lower()

    eur_answer = draft("only for EUR", current=retried.definition)
    eur = eur_answer.definition
    assert eur_answer.explanations == {
        "trigger": "Starts on each `invoice.paid` event where `data.object.amount_paid` > "
        "100000 and `data.object.currency` is EUR."
    }
    assert eur["rule_spec"] == {
        "and": [
            {">": [{"var": "data.object.amount_paid"}, 100000]},
            {"in": [{"var": "data.object.currency"}, ["eur", "EUR"]]},
        ]
    }

    crm = draft("also create the customer in the CRM", current=eur).definition
    assert steps(crm) == [
        ("slack_billing", "slack"),
        ("email_finance", "email"),
        ("record_customer", "django_model"),
    ]
    record = crm["graph"]["nodes"][-1]
    assert record["action"] == "update_or_create"
    assert record["inputs"]["lookup"] == {"stripe_id": "{{ event.payload.data.object.customer }}"}
    assert record["inputs"]["fields"]["email"] == ("{{ event.payload.data.object.customer_email }}")

    removed = draft("remove the email", current=crm)
    assert steps(removed.definition) == [
        ("slack_billing", "slack"),
        ("record_customer", "django_model"),
    ]
    assert "email_finance" in removed.explanations

    channel = draft("change the channel to #finance", current=removed.definition).definition
    assert channel["graph"]["nodes"][1]["inputs"]["channel"] == "#finance"
    assert channel["graph"]["nodes"][1]["id"] == "slack_billing"  # ids stay

    waited = draft("wait 5 minutes before the CRM step", current=channel).definition
    assert steps(waited) == [
        ("slack_billing", "slack"),
        ("wait_5_minutes", "delay"),
        ("record_customer", "django_model"),
    ]
    assert graph_problems(waited["graph"]) == []


def test_a_stricter_amount_replaces_the_old_one_instead_of_piling_up():
    first = draft("When an invoice is paid over 10 EUR, log it").definition
    second = draft("only over 50 EUR", current=first).definition
    assert second["rule_spec"] == {">": [{"var": "data.object.amount_paid"}, 5000]}


def test_steps_follow_the_sentence_order_with_the_wait_first():
    answer = draft(
        "When an invoice is paid, wait 10 minutes, then call https://erp.example.com/in "
        "and send a webhook to https://hooks.example.com/x"
    )
    assert steps(answer.definition) == [
        ("wait_10_minutes", "delay"),
        ("call_erp", "http"),
        ("webhook_example", "webhook"),
    ]
    nodes = {n["id"]: n for n in answer.definition["graph"]["nodes"]}
    assert nodes["wait_10_minutes"]["seconds"] == 600
    assert nodes["call_erp"]["inputs"] == {
        "method": "POST",
        "url": "https://erp.example.com/in",
        "json": "{{ event.payload }}",
    }
    assert nodes["webhook_example"]["inputs"]["secret"] == ""
    assert any("WEBHOOK_SIGNING_SECRET" in note for note in answer.notes)


def test_a_schedule_trigger():
    answer = draft("every weekday at 8:30am post to #standup")
    assert answer.definition["trigger_spec"] == {
        "event_type": "schedule.tick",
        "schedule": {"cron": "30 8 * * 1-5", "timezone": "UTC"},
    }


@pytest.mark.parametrize("prompt", ["make me a sandwich", "translate the poem into French"])
def test_nonsense_leaves_the_draft_unchanged_and_says_so(prompt):
    current = draft("When an invoice is paid, post to #billing").definition
    answer = draft(prompt, current=current)
    assert answer.definition == current
    assert answer.not_understood == [prompt]
    assert answer.explanations == {}
    text = " ".join(answer.notes)
    assert "offline drafter understood none" in text
    assert "model can be configured" in text
    assert "I am an AI" not in text


def test_the_words_it_could_not_use_are_listed():
    answer = draft("When an invoice is paid, post to #billing in French and tweet about it")
    assert answer.not_understood == ["French", "tweet about it"]
    assert steps(answer.definition) == [("slack_billing", "slack")]
    assert any("offline drafter" in note for note in answer.notes)


def test_steps_without_a_trigger_start_on_every_event_and_say_so():
    answer = draft("post to #general", types=())
    assert answer.definition["trigger_spec"] == {"event_type": "*"}
    assert any("every event" in a for a in answer.assumptions)


def test_recording_without_an_allow_listed_model_says_how_to_allow_one():
    answer = draft("When an invoice is paid, save the customer in the CRM", models=())
    assert steps(answer.definition) == []
    assert any("CONNECTOR_OPTIONS" in note for note in answer.notes)
    assert answer.not_understood == ["save the customer in the CRM"]


def test_a_repeated_step_is_not_added_twice():
    first = draft("When an invoice is paid, post to #billing").definition
    again = draft("post to #billing", current=first)
    assert again.definition == first
    assert any("already has that step" in a for a in again.assumptions)


def test_a_malformed_current_graph_is_left_alone_and_the_user_told():
    current = {"trigger_spec": {}, "rule_spec": {}, "graph": {"nodes": ["x"], "edges": []}}
    answer = draft("When an invoice is paid, post to #billing", current=current)
    assert answer.definition == current
    assert any("not in the shape" in note for note in answer.notes)


_VOCABULARY = (
    "when whenever an a the invoice order is paid created new over under at least 1000 5k "
    "EUR $ € usd only for in email post to slack #billing #ops finance@acme.test call "
    "https://x.example.com/y webhook wait 5 minutes hours before after remove delete the "
    "retry twice change channel record customer crm log warning every day at 9 hourly and "
    "then also , ; . between 10 20 status is rush instead make that 500 copy cc 🎉 ünïcode "
    '"quoted text" \' sandwich'
)
WORDS = _VOCABULARY.split(" ")


def test_any_jumble_of_its_words_gives_a_valid_graph_or_the_draft_unchanged():
    import random

    from automate.rules import compile_rule
    from automate.workflows.specs import trigger_problems

    rng = random.Random(11)
    current = empty_definition()
    for turn in range(400):
        prompt = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 18)))
        answer = draft(prompt, current=current)
        definition = answer.definition
        if definition != current:
            assert graph_problems(definition["graph"]) == [], prompt
            assert trigger_problems(definition["trigger_spec"]) == [], prompt
            compile_rule(definition["rule_spec"] or None)
            current = definition if turn % 3 else empty_definition()
        assert draft(prompt, current=current) == draft(prompt, current=current)


def test_a_wait_asked_for_on_its_own_delays_the_steps_instead_of_ending_the_chain():
    first = draft("When an invoice is paid, post to #billing and email a@acme.test").definition
    answer = draft("wait 10 minutes", current=first)
    assert steps(answer.definition) == [
        ("wait_10_minutes", "delay"),
        ("slack_billing", "slack"),
        ("email_a", "email"),
    ]
    assert any("right after the trigger" in a for a in answer.assumptions)
    assert graph_problems(answer.definition["graph"]) == []
