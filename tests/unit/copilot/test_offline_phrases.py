"""The offline drafter's readers: amounts, comparisons, durations, addresses, channels,
URLs, schedules and event types, each in the ways people write them."""

import re

import pytest

from automate.copilot.offline_clauses import split_clauses
from automate.copilot.offline_events import find_event
from automate.copilot.offline_phrases import (
    COMPARISON,
    amount_of,
    channels,
    durations,
    emails,
    operator_of,
    schedule,
    urls,
)


def _comparison(text):
    match = COMPARISON.search(text)
    assert match is not None, text
    amount = amount_of(match)
    return operator_of(match["op"]), amount.value, amount.currency


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("over 1000 eur", (">", 1000, "EUR")),
        ("above €1,000", (">", 1000, "EUR")),
        ("more than $50", (">", 50, "USD")),
        ("greater than eur 2,500", (">", 2500, "EUR")),
        ("exceeds 5k dollars", (">", 5000, "USD")),
        ("at least 10 gbp", (">=", 10, "GBP")),
        ("under 99.90", ("<", 99.9, None)),
        ("below £20", ("<", 20, "GBP")),
        ("less than 3 million", ("<", 3_000_000, None)),
        ("at most 7", ("<=", 7, None)),
        ("no more than 1,000", ("<=", 1000, None)),
        ("equals 42", ("==", 42, None)),
        ("> 500", (">", 500, None)),
        (">= 500 chf", (">=", 500, "CHF")),
    ],
)
def test_comparisons_read_the_operator_the_number_and_the_currency(text, expected):
    assert _comparison(text) == expected


@pytest.mark.parametrize("text", ["retry up to 5 times", "moreover 5", "wait 5 minutes"])
def test_counts_and_words_that_merely_contain_a_comparison_are_not_conditions(text):
    assert COMPARISON.search(text) is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("wait 5 minutes", 300),
        ("wait 5 mins", 300),
        ("after an hour", 3600),
        ("half an hour later", 1800),
        ("2h", 7200),
        ("ten days", 864000),
        ("30 seconds", 30),
        ("1 week", 604800),
    ],
)
def test_durations_become_seconds(text, seconds):
    assert [d.seconds for d in durations(text)] == [seconds]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("email finance@acme.test", ["finance@acme.test"]),
        ("send to a.b+tag@mail.acme.co.uk.", ["a.b+tag@mail.acme.co.uk"]),
        ("a@x.test and b@y.test", ["a@x.test", "b@y.test"]),
        ("email finance", []),
    ],
)
def test_email_addresses(text, expected):
    assert [address for address, _span in emails(text)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("post to #billing", "#billing"),
        ("slack #ops-alerts please", "#ops-alerts"),
        ("post in the sales channel", "#sales"),
        ("send it to channel support", "#support"),
    ],
)
def test_slack_channels_with_or_without_the_hash(text, expected):
    assert channels(text)[0][0] == expected


def test_a_hash_inside_a_word_or_an_entity_is_not_a_channel():
    assert channels("issue c#12 and &#39;") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call https://api.example.com/hook.", "https://api.example.com/hook"),
        ("POST to http://10.0.0.1:8080/x?y=1, then", "http://10.0.0.1:8080/x?y=1"),
        ("see https://Example.com/CaseKept", "https://Example.com/CaseKept"),
    ],
)
def test_urls_keep_their_case_and_lose_trailing_punctuation(text, expected):
    assert urls(text)[0][0] == expected


@pytest.mark.parametrize(
    ("text", "cron"),
    [
        ("every 15 minutes", "*/15 * * * *"),
        ("every minute", "* * * * *"),
        ("hourly", "0 * * * *"),
        ("every 2 hours", "0 */2 * * *"),
        ("every day at 9", "0 9 * * *"),
        ("every day at 9:30pm", "30 21 * * *"),
        ("daily at 17:05", "5 17 * * *"),
        ("every weekday at 8:30am", "30 8 * * 1-5"),
        ("every monday at 7", "0 7 * * 1"),
        ("every sunday", "0 9 * * 0"),
    ],
)
def test_schedules_become_cron_expressions(text, cron):
    found = schedule(text)
    assert found is not None
    assert found.cron == cron


@pytest.mark.parametrize("text", ["every time an invoice is paid", "every day at 25:00"])
def test_no_schedule_where_none_is_named(text):
    assert schedule(text) is None


@pytest.mark.parametrize(
    ("text", "known", "expected"),
    [
        ("when a paid invoice comes in", ["invoice.paid"], "invoice.paid"),
        ("whenever an invoice is paid", [], "invoice.paid"),
        ("on invoice.paid", [], "invoice.paid"),
        ("for every new order", [], "order.created"),
        ("when an order is placed", [], "order.created"),
        ("when a payment succeeds", [], "payment_intent.succeeded"),
        ("when a charge is refunded", [], "charge.refunded"),
        ("when a subscription is cancelled", [], "customer.subscription.deleted"),
        ("when a user signs up", [], "user.signed_up"),
        ("when a shipment is delayed", [], "shipment.delayed"),
        ("when a new widget arrives", [], "widget.created"),
        # The tenant's own event type wins over the vendor vocabulary.
        ("when an order is created", ["shop.order.created"], "shop.order.created"),
    ],
)
def test_event_types_from_words(text, known, expected):
    found = find_event(text, known)
    assert found is not None
    assert found.event_type == expected


def test_no_event_type_in_words_that_name_none():
    assert find_event("make me a sandwich", ["invoice.paid"]) is None


def test_clauses_are_cut_at_punctuation_and_conjunctions_but_not_inside_addresses_or_urls():
    text = (
        "When x.y@acme.test pays over 1,000.50 EUR, call https://a.test/x?a=1&b=2 and then "
        "post to #a; also between 10 and 20"
    )
    assert [c.text for c in split_clauses(text)] == [
        "When x.y@acme.test pays over 1,000.50 EUR",
        "call https://a.test/x?a=1&b=2",
        "post to #a",
        "between 10 and 20",
    ]


def test_a_clause_tells_which_words_it_did_not_use():
    (clause,) = split_clauses("post to #billing in French")
    clause.use(re.search("#billing", clause.low).span())
    assert clause.leftover() == "French"
