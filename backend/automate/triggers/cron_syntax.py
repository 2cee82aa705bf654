"""The cron syntax schedules accept, checked field by field (pure, no Django).

Exactly the classic five fields ``minute hour day-of-month month day-of-week``, each a
comma-separated list of ``*``, ``N``, ``N-M``, ``*/S`` or ``N-M/S`` (month and weekday
names such as ``JAN`` or ``MON-FRI`` allowed), plus the macros in ``MACROS``. Anything
else is refused with a message that says why, rather than handed to croniter, which
also reads six- and seven-field (seconds-first, Quartz-style) expressions and Quartz
tokens (``L``, ``W``, ``#``, ``?``) that mean something else than the user expects.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from automate.guard.parse import is_whole_number

__all__ = ["FIELD_NAMES", "MACROS", "cron_problem", "five_fields", "is_fixed_time"]

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
_SHAPE = "cron expressions have 5 fields (minute hour day-of-month month day-of-week)"


class _Field(NamedTuple):
    name: str
    low: int
    high: int
    names: tuple[str, ...]  # names[i] stands for low + i


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_FIELDS = (
    _Field("minute", 0, 59, ()),
    _Field("hour", 0, 23, ()),
    _Field("day-of-month", 1, 31, ()),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 0, 7, _DAYS),  # 0 and 7 are both Sunday
)
_ELEMENT = re.compile(r"(?P<start>\*|[0-9A-Za-z]+)(?:-(?P<end>[0-9A-Za-z]+))?(?:/(?P<step>[^/]*))?")
_QUARTZ_LAST = re.compile(r"[0-9]*L|LW")
_QUARTZ_WEEKDAY = re.compile(r"[0-9]+W")
_QUARTZ_TOKENS = {
    "?": "'?' (Quartz's \"no specific value\") is not supported: use '*'",
    "#": "'#' (Quartz's \"Nth weekday of the month\") is not supported",
    "L": "'L' (Quartz's \"last\") is not supported",
    "W": "'W' (Quartz's \"nearest weekday\") is not supported",
}


def five_fields(cron: str) -> str:
    """The five-field form of an accepted expression (a macro becomes its expansion)."""
    text = cron.strip()
    return MACROS.get(text.lower(), text)


def is_fixed_time(cron: str) -> bool:
    """Whether the schedule runs at fixed wall-clock times (classic cron's "fixed-time job").

    As in Vixie cron, a schedule is a *wildcard* schedule when its minute or its hour
    field starts with ``*`` (``*/5 * * * *``, ``0 * * * *``, ``*/15 2 * * *``); every
    other schedule is fixed-time (``30 2 * * *``, ``0 9-17 * * 1-5``). The two differ only
    when the clocks change: see ``automate.triggers.cron.due_ticks``.
    """
    minute, hour = five_fields(cron).split()[:2]
    return not (minute.startswith("*") or hour.startswith("*"))


def _value(text: str, field: _Field) -> int | str:
    """The number ``text`` stands for in ``field``, or a message saying why it is not one."""
    upper = text.upper()
    if is_whole_number(upper):
        number = int(upper)
    elif upper in field.names:
        number = field.low + field.names.index(upper)
    else:
        if _QUARTZ_LAST.fullmatch(upper):
            return _QUARTZ_TOKENS["L"]
        if _QUARTZ_WEEKDAY.fullmatch(upper):
            return _QUARTZ_TOKENS["W"]
        if upper == "H" or upper.startswith("H("):
            return "'H' (Jenkins's hashed value) is not supported"
        kind = "a number" + (" or a name such as " + field.names[1] if field.names else "")
        return f"{text!r} is not {kind}"
    if not field.low <= number <= field.high:
        return f"{text!r} is out of range ({field.low}-{field.high})"
    return number


def _element_problem(element: str, field: _Field) -> str | None:
    if element == "":
        return "has an empty item (two commas, or a comma at an end)"
    for token in ("?", "#"):
        if token in element:
            return _QUARTZ_TOKENS[token]
    match = _ELEMENT.fullmatch(element)
    if match is None:
        return f"{element!r} is not '*', N, N-M, */S or N-M/S"
    start, end, step = match["start"], match["end"], match["step"]
    if start == "*" and end is not None:
        return f"{element!r} is not '*', N, N-M, */S or N-M/S"
    bounds: list[int] = []
    for position, text in enumerate((start, end)):
        if text is None or text == "*":
            continue
        value = _value(text, field)
        if isinstance(value, str):
            return value
        if position == 1 and field.name == "day-of-week" and value == 0:
            value = 7  # MON-SUN: Sunday ends a week as 7
        bounds.append(value)
    if len(bounds) == 2 and bounds[0] > bounds[1]:
        return f"the range {element.split('/')[0]!r} goes backwards (write it low-high)"
    if step is not None:
        if start != "*" and end is None:
            return (
                "a step needs '*' or a range before it "
                f"(write {start}-{field.high}/{step} or */{step})"
            )
        span = field.high - field.low + 1
        if not is_whole_number(step) or not 1 <= int(step) <= span:
            return f"the step in {element!r} must be a whole number from 1 to {span}"
    return None


def cron_problem(cron: object) -> str | None:
    """Why ``cron`` is not an accepted cron expression, or ``None`` when it is.

    >>> cron_problem("0 0 9 * * 1")
    'cron expressions have 5 fields (minute hour day-of-month month day-of-week); this one has 6 — seconds are not supported'
    """  # noqa: E501
    if not isinstance(cron, str):
        return f"must be a string such as '*/5 * * * *', not {type(cron).__name__}"
    text = cron.strip()
    if not text:
        return f"is empty: {_SHAPE}, e.g. '*/5 * * * *'"
    if text.startswith("@"):
        if text.lower() in MACROS:
            return None
        return f"{text!r} is not a known macro (use one of {', '.join(MACROS)})"
    fields = text.split()
    if len(fields) != 5:
        extra = {6: " — seconds are not supported", 7: " — seconds and years are not supported"}
        return f"{_SHAPE}; this one has {len(fields)}{extra.get(len(fields), '')}"
    for value, field in zip(fields, _FIELDS, strict=True):
        for element in value.split(","):
            problem = _element_problem(element, field)
            if problem:
                return f"{field.name} field {value!r}: {problem}"
    return None
