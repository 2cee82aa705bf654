"""The offline drafter's reading of a sentence: words to numbers, durations, addresses.

Pure Python, no Django imports. Every reader takes lower-cased text (the same length as
the original, so spans index both) and returns what it found with the ``(start, end)``
span it used, so the drafter can tell which words it did not use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

Span = tuple[int, int]

NUMBER_WORDS: Final = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty-five": 45, "forty five": 45, "sixty": 60, "once": 1, "twice": 2,
}  # fmt: skip
_NUMBER_WORD = "|".join(sorted((re.escape(w) for w in NUMBER_WORDS), key=len, reverse=True))

UNIT_SECONDS: Final = {
    "second": 1, "sec": 1, "s": 1, "minute": 60, "min": 60, "m": 60, "hour": 3600, "hr": 3600,
    "h": 3600, "day": 86400, "d": 86400, "week": 604800, "wk": 604800,
}  # fmt: skip
_UNIT = r"(?P<unit>seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|wks?|[smhd])\b"
_COUNT = rf"(?P<count>\d+(?:\.\d+)?|half an?|{_NUMBER_WORD})"

DURATION: Final = re.compile(rf"\b{_COUNT}[ -]?{_UNIT}")
"""``5 minutes``, ``an hour``, ``half an hour``, ``2h``, ``ten days``."""

CURRENCIES: Final = {
    "eur": "EUR", "euro": "EUR", "euros": "EUR", "€": "EUR",
    "usd": "USD", "dollar": "USD", "dollars": "USD", "bucks": "USD", "$": "USD",
    "gbp": "GBP", "pound": "GBP", "pounds": "GBP", "£": "GBP",
    "chf": "CHF", "jpy": "JPY", "yen": "JPY", "¥": "JPY", "cad": "CAD", "aud": "AUD",
    "sek": "SEK", "nok": "NOK", "dkk": "DKK", "pln": "PLN", "inr": "INR", "brl": "BRL",
}  # fmt: skip
CURRENCY_WORDS = "|".join(
    sorted((re.escape(c) for c in CURRENCIES if c.isalpha()), key=len, reverse=True)
)
_SYMBOL = r"[$€£¥]"

AMOUNT: Final = re.compile(
    rf"(?:(?P<sym>{_SYMBOL})|(?P<pre>{CURRENCY_WORDS})\s)?\s?(?P<num>\d{{1,3}}(?:[,_']\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    rf"(?:\s?(?P<mult>k|m|thousand|million)\b)?(?:\s?(?P<code>{CURRENCY_WORDS})\b)?"
)
"""``1000``, ``1,000.50``, ``$1k``, ``1000 EUR``, ``€ 50``, ``2 million dollars``."""

COMPARATORS: Final = (
    (r"more than|greater than|higher than|bigger than|larger than|in excess of", ">"),
    (r"at least|no less than|not less than|a minimum of|minimum of|min\.?|>=|≥", ">="),
    (r"less than|lower than|smaller than|fewer than", "<"),
    (r"at most|no more than|not more than|up to|a maximum of|maximum of|max\.?|<=|≤", "<="),
    (r"over|above|exceeds?|exceeding|beyond|>", ">"),
    (r"under|below|<", "<"),
    (r"exactly|equal to|equals?|==|=", "=="),
)
_COMPARE_WORDS = "|".join(f"(?:{words})" for words, _op in COMPARATORS)
_NOT_A_FIELD = r"(?!(?:no|not|and|also|then|but|plus|at|up|or)\b)"
COMPARISON: Final = re.compile(
    rf"(?:\b{_NOT_A_FIELD}(?P<field>[a-z_][a-z0-9_.]*)\s+)?(?:(?:is|are|was|of)\s+)?"
    rf"(?<![a-z])(?P<op>{_COMPARE_WORDS})\s*(?P<amount>{AMOUNT.pattern})"
    r"(?!\s*(?:times|retries|attempts|tries|x)\b)"
    rf"(?P<post>\s+or\s+(?:more|above|higher|less|below|lower))?"
)
BETWEEN: Final = re.compile(
    rf"(?:\b{_NOT_A_FIELD}(?P<field>[a-z_][a-z0-9_.]*)\s+)?(?:(?:is|are)\s+)?between\s+"
    rf"(?P<low>{AMOUNT.pattern.replace('?P<', '?P<low_')})\s+and\s+"
    rf"(?P<high>{AMOUNT.pattern.replace('?P<', '?P<high_')})"
)

EMAIL: Final = re.compile(r"[a-z0-9][a-z0-9._%+\-]*@[a-z0-9\-]+(?:\.[a-z0-9\-]+)+")
URL: Final = re.compile(r"https?://[^\s,;\"'<>()]+")
CHANNEL: Final = re.compile(r"(?<![\w&])#(?P<name>[a-z0-9][a-z0-9_\-]{0,79})")
NAMED_CHANNELS: Final = (
    re.compile(r"\b(?P<name>[a-z0-9][a-z0-9_\-]{0,79})\s+channel\b"),
    re.compile(r"\bchannel\s+(?P<name>[a-z0-9][a-z0-9_\-]{0,79})\b"),
)
_NOT_CHANNEL_NAMES: Final = frozenset(
    {"the", "a", "an", "to", "in", "on", "into", "slack", "same", "right", "this", "that",
     "my", "our", "your", "their", "its", "team", "of", "for", "is", "it", "as"}
)  # fmt: skip
QUOTED: Final = re.compile(r"\"(?P<d>[^\"]{1,500})\"|“(?P<c>[^”]{1,500})”|'(?P<s>[^']{1,500})'")


@dataclass(frozen=True)
class Amount:
    """A number read from text, with the currency written next to it (``None`` if none)."""

    value: int | float
    currency: str | None
    span: Span


def number(text: str) -> int | float:
    """``"1,000.50"`` → 1000.5, ``"12"`` → 12; ints stay ints."""
    cleaned = re.sub(r"[,_']", "", text)
    value = float(cleaned)
    return int(value) if value.is_integer() else value


def scaled(value: int | float, mult: str | None) -> int | float:
    factor = {"k": 1000, "thousand": 1000, "m": 1_000_000, "million": 1_000_000}.get(mult or "", 1)
    result = value * factor
    return int(result) if float(result).is_integer() else result


def amount_of(match: re.Match[str], prefix: str = "") -> Amount:
    """The :class:`Amount` of an ``AMOUNT`` match (groups named ``prefix + "num"`` etc.)."""
    group = match.groupdict()
    value = scaled(number(group[f"{prefix}num"]), group.get(f"{prefix}mult"))
    code = group.get(f"{prefix}code") or group.get(f"{prefix}sym") or group.get(f"{prefix}pre")
    return Amount(value, CURRENCIES.get(code) if code else None, match.span())


def operator_of(words: str) -> str:
    """The JSONLogic operator for comparison words (``"more than"`` → ``">"``)."""
    for pattern, op in COMPARATORS:
        if re.fullmatch(pattern, words):
            return op
    raise ValueError(f"not a comparison: {words!r}")


def count_of(words: str) -> float:
    """``"5"`` → 5, ``"an"`` → 1, ``"half an"`` → 0.5, ``"ten"`` → 10."""
    if words.startswith("half"):
        return 0.5
    if words in NUMBER_WORDS:
        return NUMBER_WORDS[words]
    return float(words)


@dataclass(frozen=True)
class Duration:
    """A duration in whole seconds, with the words it came from (``"5 minutes"``)."""

    seconds: int
    words: str
    span: Span


def durations(text: str) -> list[Duration]:
    """Every duration in ``text``, in order."""
    found = []
    for match in DURATION.finditer(text):
        unit = match["unit"].rstrip("s") if len(match["unit"]) > 1 else match["unit"]
        unit = {"sec": "sec", "min": "min", "hr": "hr", "wk": "wk"}.get(unit, unit)
        seconds = int(count_of(match["count"]) * UNIT_SECONDS[unit])
        found.append(Duration(seconds, match.group(0), match.span()))
    return found


def duration_words(seconds: int) -> str:
    """``300`` → ``"5 minutes"``, ``3600`` → ``"1 hour"``, ``90`` → ``"90 seconds"``."""
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} second{'' if seconds == 1 else 's'}"


def emails(text: str) -> list[tuple[str, Span]]:
    """Every email address in ``text`` with its span."""
    return [(m.group(0).rstrip("."), m.span()) for m in EMAIL.finditer(text)]


def urls(original: str) -> list[tuple[str, Span]]:
    """Every http(s) URL in ``original`` (case kept), without trailing punctuation."""
    found = []
    for match in URL.finditer(original):
        url = match.group(0).rstrip(".!?:")
        found.append((url, (match.start(), match.start() + len(url))))
    return found


def channels(text: str) -> list[tuple[str, Span]]:
    """Slack channels: ``#billing``, ``the billing channel``, ``channel billing``."""
    found = [(f"#{m['name'].rstrip('.-')}", m.span()) for m in CHANNEL.finditer(text)]
    if found:
        return found
    for pattern in NAMED_CHANNELS:
        for match in pattern.finditer(text):
            if match["name"] not in _NOT_CHANNEL_NAMES:
                found.append((f"#{match['name']}", match.span()))
    return sorted(found, key=lambda item: item[1])


def quoted(original: str) -> tuple[str, Span] | None:
    """The first quoted text (``"..."``, ``“...”`` or ``'...'``) with its span."""
    match = QUOTED.search(original)
    if match is None:
        return None
    return next(g for g in (match["d"], match["c"], match["s"]) if g), match.span()


SCHEDULE: Final = re.compile(
    r"\b(?:(?P<daily>daily|hourly|weekly|monthly|nightly)|(?:every|each)\s+(?:(?P<n>\d+)\s+)?"
    r"(?P<unit>minutes?|hours?|days?|weeks?|months?|weekdays?|morning|evening|night|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?)\b"
    r"(?:\s+(?:at|@)\s+(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>am|pm|h)?)?"
)
_WEEKDAYS: Final = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")


@dataclass(frozen=True)
class Schedule:
    """A cron expression read from words, the words, and what was assumed (may be empty)."""

    cron: str
    words: str
    assumption: str
    span: Span


def schedule(text: str) -> Schedule | None:
    """``every 15 minutes`` → ``*/15 * * * *``; ``every day at 9`` → ``0 9 * * *``;
    ``every monday at 8:30am`` → ``30 8 * * 1``; ``hourly``; ``every weekday at 17:00``.
    ``None`` when ``text`` names no schedule (or names an impossible time)."""
    match = SCHEDULE.search(text)
    if match is None:
        return None
    unit = (match["unit"] or "").rstrip("s") or {
        "daily": "day",
        "hourly": "hour",
        "weekly": "week",
        "monthly": "month",
        "nightly": "night",
    }[match["daily"]]
    n = int(match["n"]) if match["n"] else 1
    hour, minute, assumption = _time_of(match, unit)
    if hour is None:
        return None
    if unit == "minute":
        if not 1 <= n <= 59:
            return None
        cron = "* * * * *" if n == 1 else f"*/{n} * * * *"
    elif unit == "hour":
        if not 1 <= n <= 23:
            return None
        cron = f"{minute} * * * *" if n == 1 else f"{minute} */{n} * * *"
    elif unit in ("day", "morning", "evening", "night"):
        cron = f"{minute} {hour} * * *" if n == 1 else f"{minute} {hour} */{n} * *"
    elif unit == "weekday":
        cron = f"{minute} {hour} * * 1-5"
    elif unit == "week":
        cron = f"{minute} {hour} * * 1"
        assumption = (assumption + " " if assumption else "") + "I assumed weekly means Mondays."
    elif unit == "month":
        cron = f"{minute} {hour} 1 * *"
        assumption = (assumption + " " if assumption else "") + "I assumed monthly means the 1st."
    else:
        cron = f"{minute} {hour} * * {_WEEKDAYS.index(unit)}"
    return Schedule(cron, match.group(0), assumption, match.span())


def _time_of(match: re.Match[str], unit: str) -> tuple[int | None, int, str]:
    if match["hour"] is None:
        default = {"morning": 9, "evening": 18, "night": 22}.get(unit, 9)
        if unit in ("minute", "hour"):
            return 0, 0, ""
        return default, 0, f"I assumed {default:02d}:00 (UTC), as no time was given."
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    if match["ampm"] == "pm" and hour < 12:
        hour += 12
    elif match["ampm"] == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None, 0, ""
    return hour, minute, ""
