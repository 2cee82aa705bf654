"""Mutated answers, many of them: never an exception, never a secret, never a new problem."""

from __future__ import annotations

import random
from copy import deepcopy

import pytest

from automate.copilot.checking import check_definition
from automate.copilot.types import Answer
from tests.unit.copilot.checking_support import assert_safe, definition, log, slack, unit_checker

SECRET = "xoxb-5550001111-2223334444-ZyXwVuTsRqPoNmLkJiHgFeDc"
VALUES = [
    None,
    True,
    0,
    -1,
    1e308,
    "",
    "text",
    "{{ event.payload.amount }}",
    "{% for %}",
    "{{ secrets.MISSING }}",
    {"$secret": "SLACK_BOT_TOKEN"},
    {"$secret": SECRET},
    "$secret:NOPE",
    f"Bearer {SECRET}",
    SECRET,
    [],
    {},
    [1, "two", {"three": 3}],
    {"id": "trigger", "type": "trigger"},
    {"source": "trigger", "target": "notify"},
    {"id": "cond", "type": "condition", "condition": {"==": [1, 1]}},
]


def _containers(value):
    if isinstance(value, dict | list) and value:
        yield value
    for item in (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    ):
        yield from _containers(item)


def mutate(document, rng):
    document = deepcopy(document)
    for _ in range(rng.randint(1, 4)):
        container = rng.choice(list(_containers(document)))
        key = rng.choice(list(container) if isinstance(container, dict) else range(len(container)))
        action = rng.random()
        if action < 0.6:
            container[key] = deepcopy(rng.choice(VALUES))
        elif action < 0.8:
            del container[key]
        elif isinstance(container, list):
            container.append(deepcopy(rng.choice(VALUES)))
        else:
            container[rng.choice(["extra", "id", "type", "inputs", "position"])] = deepcopy(
                rng.choice(VALUES)
            )
    return document


def _action(node_id, connector, action, **inputs):
    return {
        "id": node_id,
        "type": "action",
        "connector": connector,
        "action": action,
        "inputs": inputs,
    }


BASE = definition(
    log("record"),
    slack(token={"$secret": "SLACK_BOT_TOKEN"}),
    {"id": "wait", "type": "delay", "seconds": 60, "retry": {"max_retries": 2}},
    {"id": "big", "type": "condition", "condition": {">": [{"var": "payload.amount"}, 1000]}},
    _action(
        "call",
        "http",
        "request",
        url="https://api.example.com/orders",
        headers={"Accept": "application/json"},
        auth={"type": "bearer", "token": {"$secret": "HTTP_TOKEN"}},
    ),
    _action("hook", "webhook", "post", url="https://hooks.example.com", payload={"a": 1}),
    _action("crm", "django_model", "create", model="demo_crm.Customer", fields={"name": "x"}),
    _action("ask", "llm", "chat", api_key={"$secret": "LLM_API_KEY"}, model="m", prompt="p"),
    _action("mail", "email", "send", to=["a@example.com"], subject="s", text="t"),
    {"id": "shape", "type": "transform", "inputs": {"fields": {"total": "{{ payload.amount }}"}}},
    edges=[
        {"source": "trigger", "target": "record"},
        {"source": "record", "target": "notify"},
        {"source": "notify", "target": "wait"},
        {"source": "trigger", "target": "big"},
        {"source": "big", "target": "call", "branch": "true"},
        {"source": "big", "target": "hook", "branch": "false"},
        {"source": "call", "target": "crm"},
        {"source": "crm", "target": "ask"},
        {"source": "ask", "target": "mail"},
        {"source": "mail", "target": "shape"},
    ],
)
CURRENT = definition(log("record", "as it was"))


@pytest.mark.parametrize("seed", range(150))
def test_a_mutated_answer_is_checked_safely(seed):
    rng = random.Random(seed)
    answer = mutate(BASE, rng)
    checked = check_definition(
        Answer(definition=answer, notes=[SECRET], explanations={"record": SECRET}),
        before=CURRENT,
        checker=unit_checker("SLACK_BOT_TOKEN", "HTTP_TOKEN", "LLM_API_KEY"),
    )
    assert_safe(checked, CURRENT, secrets=(SECRET, "ZyXwVuTsRq"))


def _usable(current):
    graph = current.get("graph")
    return (
        isinstance(current.get("trigger_spec"), dict)
        and isinstance(current.get("rule_spec"), dict)
        and isinstance(graph, dict)
        and isinstance(graph.get("nodes"), list)
        and isinstance(graph.get("edges"), list)
    )


def _drafts(count):
    """``count`` broken drafts of the shape the service passes on (without secret values),
    each with an answer edited from it."""
    found = []
    for seed in range(10 * count):
        rng = random.Random(seed)
        current = mutate(BASE, rng)
        if _usable(current) and SECRET not in repr(current):
            found.append((current, mutate(current, rng)))
        if len(found) == count:
            break
    return found


@pytest.mark.parametrize(("current", "answer"), _drafts(150))
def test_an_answer_edited_from_a_broken_draft_adds_no_problem_of_its_own(current, answer):
    checked = check_definition(
        Answer(definition=answer),
        before=current,
        checker=unit_checker("SLACK_BOT_TOKEN", "HTTP_TOKEN", "LLM_API_KEY"),
    )
    assert_safe(checked, current, secrets=(SECRET, "ZyXwVuTsRq"))
