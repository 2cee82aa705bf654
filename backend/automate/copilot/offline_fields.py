"""Which payload key a word means, and the templates the offline drafter writes.

Pure Python. ``keys`` are the catalog's sample payload keys of one event type:
``{"data.object.amount_paid": "number", "data.object.currency": "string", ...}`` (key
paths, never values).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

AMOUNT_KEYS: Final = (
    "amount_paid", "amount", "total", "amount_total", "grand_total", "amount_due",
    "amount_received", "price", "value", "subtotal", "sum",
)  # fmt: skip
"""Key names that hold "the amount", best first."""
CENTS_KEYS: Final = frozenset(
    {"amount_paid", "amount_due", "amount_remaining", "amount_total", "amount_received",
     "amount_captured", "amount_refunded"}
)  # fmt: skip
"""Stripe's names for amounts in the currency's smallest unit (cents)."""
AMOUNT_WORDS: Final = frozenset(
    {"amount", "total", "price", "value", "sum", "paid", "worth", "cost", "revenue", "it"}
)
EMAIL_KEYS: Final = ("customer_email", "email", "receipt_email", "billing_email", "user_email")
ID_KEYS: Final = ("id", "number", "reference", "order_id", "invoice_id")
NAME_KEYS: Final = ("customer_name", "name", "full_name", "title")
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def last(path: str) -> str:
    """The last segment of a key path: ``data.object.amount_paid`` → ``amount_paid``."""
    return path.rpartition(".")[2]


def payload_ref(path: str) -> str:
    """A Jinja expression for a payload key path: ``event.payload.data.object.id``
    (segments that are not identifiers are subscripted: ``event.payload["x-y"]``)."""
    parts = ["event.payload"]
    for segment in path.split("."):
        parts.append(f".{segment}" if _IDENTIFIER.fullmatch(segment) else f'["{segment}"]')
    return "".join(parts)


def template(path: str) -> str:
    """``{{ event.payload.<path> }}``."""
    return "{{ " + payload_ref(path) + " }}"


def pick_key(keys: Mapping[str, str], names: Sequence[str], *, types: Sequence[str] = ()) -> str:
    """The key path whose last segment is the earliest of ``names`` (shallowest path first
    among equals), restricted to JSON ``types`` when given; ``""`` when none matches."""
    for name in names:
        matches = [
            path
            for path, kind in keys.items()
            if last(path).lower() == name and (not types or kind in types)
        ]
        if matches:
            return sorted(matches, key=lambda p: (p.count("."), p))[0]
    return ""


def find_key(keys: Mapping[str, str], word: str) -> str:
    """The key a user's word names (``"customer email"`` → ``customer_email``), or ``""``."""
    word = word.strip().lower()
    if not word:
        return ""
    if word in keys:
        return word
    return pick_key(keys, [word.replace(" ", "_"), word.replace(" ", ""), word.replace(" ", ".")])


@dataclass(frozen=True)
class AmountKey:
    """Where the amount is; ``cents`` when the key is Stripe-like (smallest unit)."""

    path: str
    cents: bool
    sampled: bool


def amount_key(keys: Mapping[str, str], event_type: str, source: str) -> AmountKey:
    """The payload key holding the amount (``amount`` when nothing was sampled)."""
    path = pick_key(keys, AMOUNT_KEYS, types=("number",))
    if not path:
        return AmountKey("amount", False, False)
    stripe_like = path.startswith("data.object.") or source == "stripe"
    cents = last(path) in CENTS_KEYS or (stripe_like and last(path) in {"amount", "total"})
    return AmountKey(path, cents, True)


def summary_text(event_type: str, keys: Mapping[str, str], cents: bool) -> str:
    """A one-line message about the event from the keys it has, as a template.

    ``Invoice.paid {{ id }}: {{ amount }} {{ currency }} ({{ email }})``; only keys seen in
    real events are used (a template naming a missing key fails the step), so with no
    sample the message names the event type only.
    """
    title = (event_type or "event").replace(".", " ").replace("_", " ").capitalize()
    parts = [title]
    amount = pick_key(keys, AMOUNT_KEYS, types=("number",))
    prefix = amount.rpartition(".")[0]
    siblings = {k: v for k, v in keys.items() if prefix and k.startswith(prefix + ".")}
    ident = pick_key(siblings, ID_KEYS) or pick_key(keys, ID_KEYS, types=("string", "number"))
    if ident:
        parts.append(template(ident))
    text = " ".join(parts)
    if amount:
        value = (
            "{{ '%.2f' | format(" + payload_ref(amount) + " / 100) }}"
            if cents
            else template(amount)
        )
        currency = pick_key(keys, ("currency",), types=("string",))
        text += f": {value}" + (" {{ " + payload_ref(currency) + " | upper }}" if currency else "")
    email = pick_key(keys, EMAIL_KEYS, types=("string",))
    if email:
        text += f" ({template(email)})"
    elif name := pick_key(keys, NAME_KEYS, types=("string",)):
        text += f" ({template(name)})"
    if len(parts) == 1 and not amount:
        text += " event received"
    return text
