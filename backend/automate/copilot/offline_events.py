"""The offline drafter's event vocabulary: which event type a phrase names.

Pure Python. The tenant's own event types (from the catalog) are tried first, each read
as ``<noun>.<verb>`` ("invoice.paid": "a paid invoice", "an invoice is paid"); then
common vendor events (Stripe's ``invoice.paid``, ``payment_intent.succeeded``…, and
generic ``order.created``…); then, in a clause that starts like a trigger ("when a
ticket is opened"), the ``noun.verb`` the words make.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from automate.copilot.offline_phrases import Span

VERB_FORMS: Final = {
    "created": ("created", "added", "placed", "submitted", "registered", "made"),
    "updated": ("updated", "changed", "modified", "edited"),
    "deleted": ("deleted", "removed"),
    "paid": ("paid", "settled"),
    "succeeded": ("succeeded", "successful", "succeeds", "goes through", "went through"),
    "failed": ("failed", "fails", "declined", "bounced"),
    "payment_failed": ("payment failed", "payment fails", "payment is declined", "fails to pay"),
    "refunded": ("refunded", "refunds"),
    "shipped": ("shipped", "ships", "dispatched", "sent out"),
    "cancelled": ("cancelled", "canceled", "cancels"),
    "canceled": ("canceled", "cancelled", "cancels"),
    "completed": ("completed", "finished", "done"),
    "opened": ("opened", "raised", "filed"),
    "closed": ("closed", "resolved"),
    "signed_up": ("signed up", "signs up", "registers", "registered"),
    "submitted": ("submitted", "sent", "filled in", "filled out"),
}
"""Words that say the verb part of an event type."""

PRESENT_FORMS: Final = {
    "created": ("places", "creates", "submits", "adds", "opens", "makes"),
    "paid": ("pays",),
    "updated": ("updates", "changes", "edits"),
    "deleted": ("deletes", "removes"),
    "cancelled": ("cancels",),
    "canceled": ("cancels",),
    "refunded": ("refunds",),
}
"""Verbs said with someone doing it: "someone places an order" (``order.created``)."""

NOMINAL_FORMS: Final = {
    "failed": "failure",
    "payment_failed": "failure",
    "created": "creation",
    "cancelled": "cancellation",
    "canceled": "cancellation",
    "deleted": "deletion",
    "updated": "update",
}
"""Nouns for verbs: "payment failure", "order cancellation"."""

NOUN_FORMS: Final = {
    "payment_intent": ("payment", "payment intent"),
    "checkout.session": ("checkout", "checkout session"),
    "customer.subscription": ("subscription",),
    "user": ("user", "account", "signup", "sign-up"),
    "form": ("form", "form submission"),
}

VENDOR_EVENTS: Final = (
    # (event type, source it usually comes from, extra phrases)
    ("invoice.paid", "stripe", ("invoice payment",)),
    ("invoice.payment_failed", "stripe", ("failed invoice", "unpaid invoice")),
    ("payment_intent.succeeded", "stripe", ("successful payment", "payment received")),
    (
        "payment_intent.payment_failed",
        "stripe",
        ("failed payment", "payment fails", r"payment failures?"),
    ),
    ("charge.refunded", "stripe", ("refund",)),
    ("customer.created", "stripe", ("new customer", "customer signs up")),
    ("customer.subscription.created", "stripe", ("new subscription", "subscribes")),
    (
        "customer.subscription.deleted",
        "stripe",
        (
            r"(?:cancell?ed|canceled|ended) subscriptions?",
            r"subscriptions? (?:is |are |was )?(?:cancell?ed|canceled|ends|ended)",
            "churn",
        ),
    ),
    ("checkout.session.completed", "stripe", ("completed checkout",)),
    ("order.created", "", ("new order", "order comes in", "someone orders")),
    ("order.shipped", "", ()),
    ("order.cancelled", "", ()),
    ("user.signed_up", "", ("new user", "new signup", "new sign-up", "someone signs up")),
    ("form.submitted", "", ("form submission",)),
    ("ticket.created", "", ("new ticket", "support ticket")),
    ("lead.created", "", ("new lead",)),
)
"""Common events, tried when the tenant has not seen a matching type yet (the extra
phrases are regular expressions)."""

TRIGGER_START: Final = re.compile(
    r"^\s*(?:(?:when|whenever|once|if|on|for|after|each time|every time|any time)\b)"
)
_GENERIC: Final = re.compile(
    r"\b(?:when|whenever|once|each time|every time|any time|if)\s+(?:(?:a|an|the|some|any)\s+)?"
    r"(?:(?P<new>new)\s+(?P<new_noun>[a-z][a-z_]{2,30}?)s?\b"
    r"|(?P<noun>[a-z][a-z_]{2,30}?)s?\s+(?:is|are|was|were|gets|get|has been|have been)\s+"
    r"(?P<verb>[a-z]{3,30}ed|won|lost|paid|sent|made|done|sold|built|hit)\b)"
)
_BEING: Final = r"(?:is|are|was|were|gets|get|has been|have been|being)"
_NOT_NOUNS: Final = frozenset({"it", "this", "that", "there", "amount", "total", "status", "one"})


@dataclass(frozen=True)
class EventMatch:
    """An event type read from words; ``source`` when the vocabulary knows the sender,
    ``guessed`` when the type was made from the words (nothing known matched)."""

    event_type: str
    source: str
    span: Span
    guessed: bool = False


def _words(part: str) -> str:
    return part.replace("_", " ").replace("-", " ")


def _phrases(event_type: str) -> list[str]:
    """Phrases (regular expressions) that name ``event_type``."""
    phrases = [re.escape(event_type.lower())]
    head, _, verb = event_type.lower().rpartition(".")
    if not head:
        return phrases
    nouns = list(NOUN_FORMS.get(head, ())) or [_words(head.rpartition(".")[2])]
    verbs = list(VERB_FORMS.get(verb, (_words(verb),)))
    for noun in nouns:
        noun_re = rf"{re.escape(noun)}(?:e?s)?"
        verb_re = "|".join(re.escape(v) for v in verbs)
        phrases.append(rf"{noun_re}\s+(?:{_BEING}\s+)?(?:{verb_re})")
        phrases.append(rf"(?:{verb_re})\s+{noun_re}")
        if present := PRESENT_FORMS.get(verb):
            phrases.append(rf"(?:{'|'.join(present)})\s+(?:an?\s+|the\s+)?{noun_re}")
        if nominal := NOMINAL_FORMS.get(verb):
            phrases.append(rf"{noun_re}\s+{nominal}s?")
        if verb == "created":
            phrases.append(rf"new\s+{noun_re}")
            phrases.append(rf"{noun_re}\s+(?:comes in|arrives|is received)")
    return phrases


def _candidates(catalog_types: Sequence[str]) -> Iterable[tuple[str, str, list[str], int]]:
    """``(event type, source, phrases, rank)``: the tenant's types before vendor ones."""
    for event_type in catalog_types:
        if not event_type.endswith("*"):
            yield event_type, "", _phrases(event_type), 0
    for event_type, source, extra in VENDOR_EVENTS:
        yield event_type, source, _phrases(event_type) + list(extra), 1


def find_event(text: str, catalog_types: Sequence[str]) -> EventMatch | None:
    """The event type ``text`` (lower-cased) names, or ``None``.

    The longest phrase wins; at equal length the tenant's own type, then the earlier one.
    """
    best: tuple[int, int, int, EventMatch] | None = None
    for event_type, source, phrases, rank in _candidates(catalog_types):
        for phrase in phrases:
            for match in re.finditer(rf"\b(?:{phrase})\b", text):
                key = (-(match.end() - match.start()), rank, match.start())
                if best is None or key < best[:3]:
                    best = (*key, EventMatch(event_type, source, match.span()))
    if best is not None:
        return best[3]
    return _generic_event(text)


def _generic_event(text: str) -> EventMatch | None:
    match = _GENERIC.search(text)
    if match is None:
        return None
    noun = match["new_noun"] or match["noun"]
    if noun in _NOT_NOUNS:
        return None
    verb = "created" if match["new"] else match["verb"]
    return EventMatch(f"{noun}.{verb}", "", match.span(), guessed=True)


def event_noun(event_type: str) -> str:
    """The thing an event is about, in words: ``invoice.paid`` → ``invoice``."""
    head = event_type.rpartition(".")[0] or event_type
    return _words(head.rpartition(".")[2])


def vendor_source(event_type: str) -> str:
    """The usual source of a vendor event type (``"stripe"``), or ``""``."""
    return next((source for t, source, _extra in VENDOR_EVENTS if t == event_type), "")
