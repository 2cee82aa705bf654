"""Reading what starts the workflow: an event type or a schedule."""

from __future__ import annotations

import re
from typing import Final

from automate.copilot.offline_clauses import Clause
from automate.copilot.offline_events import find_event
from automate.copilot.offline_phrases import schedule
from automate.copilot.offline_state import DraftState

TRIGGER_WORDS: Final = re.compile(
    r"\b(?:when|whenever|each time|every time|any time|once|as soon as|if|on|for|after|"
    r"start on|trigger on|triggered by)\b"
)
SCHEDULE_EVENT: Final = "schedule.tick"
"""The event type a scheduled workflow's ticks carry (``automate.triggers.schedules``)."""


def read_trigger(state: DraftState, clauses: list[Clause]) -> None:
    """Set the trigger from the first clause that names a schedule or an event.

    In a new draft the first clause is read whole ("A paid invoice: post to #billing");
    otherwise only from a trigger word on ("when an order is created", "for new orders
    instead"), so "email the new customer" never changes what starts the workflow.
    """
    editing = any(n.get("type") != "trigger" for n in state.graph.get("nodes", []))
    for index, clause in enumerate(clauses):
        found = schedule(clause.low)
        if found is not None:
            state.definition["trigger_spec"] = {
                "event_type": SCHEDULE_EVENT,
                "schedule": {"cron": found.cron, "timezone": "UTC"},
            }
            state.trigger_changed = True
            _kept_rule(state)
            state.say("Schedule times are in UTC.")
            if found.assumption:
                state.say(found.assumption)
            clause.use(found.span)
            return
        start = 0
        if index > 0 or editing:
            word = TRIGGER_WORDS.search(clause.low)
            if word is None:
                continue
            start = word.start()
        match = find_event(clause.low[start:], state.catalog.event_types)
        if match is None:
            continue
        clause.use((start + match.span[0], start + match.span[1]))
        _set_event(state, clause, match.event_type, match.guessed)
        return


def _set_event(state: DraftState, clause: Clause, event_type: str, guessed: bool) -> None:
    spec = state.trigger_spec
    said_stripe = re.search(r"\b(?:from|on|in|via)?\s*stripe\b", clause.low)
    if said_stripe:
        clause.use(said_stripe.span())
    if spec.get("event_type") == event_type and "schedule" not in spec:
        if said_stripe:
            spec["source"] = "stripe"
        return
    new_spec: dict[str, str] = {"event_type": event_type}
    if said_stripe:
        new_spec["source"] = "stripe"
    state.definition["trigger_spec"] = new_spec
    state.trigger_changed = True
    _kept_rule(state)
    if guessed:
        state.say(
            f"I assumed the event type is `{event_type}` (made from your words); no such "
            "event has been seen yet: check the name your system sends."
        )
    elif event_type not in state.catalog.event_types:
        state.say(
            f"No `{event_type}` event has been seen yet; I used the usual name for it: "
            "check it matches what your system sends."
        )


def _kept_rule(state: DraftState) -> None:
    if state.definition["rule_spec"]:
        state.say(f"The rule was kept as it was: check that it fits `{state.event_type}` events.")
