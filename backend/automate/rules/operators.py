"""The JSONLogic operators: how many arguments each takes and what it computes.

Eager operators are plain functions of their already-evaluated arguments; data operators
(``var``, ``missing``, ``missing_some``) also receive the data. Lazy operators (``if``,
``and``, ``map``, …) decide themselves which arguments to evaluate, so the compiler and the
explainer implement them and this table only records their arity.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from automate.rules.semantics import (
    NAN,
    is_array,
    less_or_equal,
    less_than,
    lookup,
    loose_equals,
    parse_float,
    split_path,
    strict_equals,
    to_integer,
    to_js_string,
    to_number,
    truthy,
)

logger = logging.getLogger("automate.rules")

ABSENT: Final = object()
"""An argument the rule did not give (JavaScript's ``undefined`` parameter)."""


@dataclass(frozen=True, slots=True)
class Operator:
    """One operator: its name, how many arguments it accepts, and its function."""

    name: str
    min_args: int
    max_args: int | None
    function: Callable[..., Any] | None = None
    uses_data: bool = False

    @property
    def lazy(self) -> bool:
        """Whether the operator chooses which arguments to evaluate (no plain function)."""
        return self.function is None

    def arity_text(self) -> str:
        """The accepted argument count in words, for error messages."""
        low, high = self.min_args, self.max_args
        if high is None:
            return f"at least {low} argument{'s' if low != 1 else ''}"
        if low == high:
            return f"exactly {low} argument{'s' if low != 1 else ''}"
        return f"{low} to {high} arguments"


def var(data: Any, path: Any = None, default: Any = None) -> Any:
    """The value at ``path`` in the data (dotted; ``""`` or none is the data itself)."""
    return lookup(data, split_path(path), default)


def missing(data: Any, *keys: Any) -> list[Any]:
    """The keys whose value is absent, ``null`` or ``""`` (one array argument is the keys)."""
    names = keys[0] if keys and is_array(keys[0]) else keys
    absent = []
    for key in names:
        # json-logic-js reads each key as {"var": key}, so an array key is [path, default].
        value = var(data, *key[:2]) if is_array(key) else lookup(data, split_path(key), None)
        if value is None or (type(value) is str and not value):
            absent.append(key)
    return absent


def missing_some(data: Any, need: Any, keys: Any) -> list[Any]:
    """``[]`` if at least ``need`` of ``keys`` are present, otherwise the missing keys."""
    names = list(keys) if is_array(keys) else [keys]
    absent = missing(data, *names)
    if less_or_equal(need, len(names) - len(absent)):
        return []
    return absent


def not_(a: Any) -> bool:
    """``!a``: the negated truthiness."""
    return not truthy(a)


def greater(a: Any, b: Any) -> bool:
    """``a > b``."""
    return less_than(b, a)


def greater_or_equal(a: Any, b: Any) -> bool:
    """``a >= b``."""
    return less_or_equal(b, a)


def less(a: Any, b: Any, c: Any = ABSENT) -> bool:
    """``a < b``, or the exclusive between ``a < b < c``."""
    if c is ABSENT:
        return less_than(a, b)
    return less_than(a, b) and less_than(b, c)


def less_equal(a: Any, b: Any, c: Any = ABSENT) -> bool:
    """``a <= b``, or the inclusive between ``a <= b <= c``."""
    if c is ABSENT:
        return less_or_equal(a, b)
    return less_or_equal(a, b) and less_or_equal(b, c)


def _numbers(values: tuple[Any, ...]) -> list[int | float]:
    return [to_number(value) for value in values]


def maximum(*values: Any) -> int | float:
    """``Math.max``: the largest number, NaN if any argument is not a number."""
    numbers = _numbers(values)
    return NAN if any(math.isnan(n) for n in numbers) else max(numbers)


def minimum(*values: Any) -> int | float:
    """``Math.min``: the smallest number, NaN if any argument is not a number."""
    numbers = _numbers(values)
    return NAN if any(math.isnan(n) for n in numbers) else min(numbers)


def add(*values: Any) -> int | float:
    """The sum, reading each argument with ``parseFloat`` (``{"+": "3"}`` casts to 3)."""
    total: int | float = 0
    for value in values:
        total += parse_float(value)
    return total


def multiply(*values: Any) -> Any:
    """The product, reading each argument with ``parseFloat``.

    As in json-logic-js, a single argument is returned unchanged (``{"*": ["2"]}`` is
    ``"2"``); use ``{"+": x}`` to cast to a number.
    """
    if len(values) == 1:
        return values[0]
    product: int | float = 1
    for value in values:
        product *= parse_float(value)
    return product


def subtract(a: Any, b: Any = ABSENT) -> int | float:
    """``a - b``, or the negation ``-a`` with one argument."""
    if b is ABSENT:
        number = to_number(a)
        return -float(number) if number == 0 else -number  # -0, as JavaScript has it
    return to_number(a) - to_number(b)


def divide(a: Any, b: Any) -> int | float:
    """``a / b`` with JavaScript's results for zero (±Infinity, or NaN for 0/0)."""
    x, y = to_number(a), to_number(b)
    if y == 0:
        if x == 0 or math.isnan(x):
            return NAN
        return math.copysign(math.inf, x) * math.copysign(1.0, y)
    try:
        return x / y
    except OverflowError:
        return float(x) / float(y)


def remainder(a: Any, b: Any) -> int | float:
    """``a % b`` with JavaScript's sign (that of ``a``): ``-3 % 2`` is ``-1``."""
    x, y = to_number(a), to_number(b)
    if isinstance(x, int) and isinstance(y, int):
        if y == 0:
            return NAN
        r = abs(x) % abs(y)
        return -r if x < 0 else r
    if y == 0 or math.isnan(x) or math.isnan(y) or math.isinf(x):
        return NAN
    return math.fmod(x, y)


def merge(*values: Any) -> list[Any]:
    """One flat array: array arguments are spread, anything else is appended."""
    merged: list[Any] = []
    for value in values:
        if is_array(value):
            merged.extend(value)
        else:
            merged.append(value)
    return merged


def contains(needle: Any, haystack: Any) -> bool:
    """``in``: substring of a string, or strict (``===``) membership of an array."""
    if type(haystack) is str:
        return bool(haystack) and to_js_string(needle) in haystack
    if is_array(haystack):
        return any(strict_equals(needle, item) for item in haystack)
    return False


def concatenate(*values: Any) -> str:
    """``cat``: the arguments as strings, joined (``null`` adds nothing, as ``join`` does)."""
    return "".join("" if value is None else to_js_string(value) for value in values)


def _substr(text: str, start: Any, length: Any = ABSENT) -> str:
    size = len(text)
    begin = to_integer(start)
    begin = max(size + begin, 0) if begin < 0 else min(begin, size)
    count = size - begin if length is ABSENT else min(max(to_integer(length), 0), size - begin)
    return text[int(begin) : int(begin + count)]


def substring(source: Any, start: Any, end: Any = ABSENT) -> str:
    """``substr``: from ``start`` (negative counts from the end), ``end`` characters long.

    A negative ``end`` drops that many characters from the end instead.
    """
    text = to_js_string(source)
    if type(start) is int:  # fast path for the usual whole-number arguments
        begin = max(len(text) + start, 0) if start < 0 else start
        if end is ABSENT:
            return text[begin:]
        if type(end) is int and end >= 0:
            return text[begin : begin + int(end)]
    if end is not ABSENT and less_than(end, 0):
        tail = _substr(text, start)
        if isinstance(end, str | list | tuple | dict):
            # JavaScript's `tail.length + end` concatenates here ("5" + "-1"), which is
            # never a valid length: the result is empty.
            return ""
        return _substr(tail, 0, len(tail) + to_number(end))
    return _substr(text, start, end)


def log(value: Any) -> Any:
    """Write the value to the ``automate.rules`` logger at DEBUG and return it unchanged."""
    logger.debug("rule log: %r", value)
    return value


def _lazy(name: str, min_args: int, max_args: int | None) -> Operator:
    return Operator(name, min_args, max_args)


OPERATORS: Final[dict[str, Operator]] = {
    op.name: op
    for op in (
        Operator("var", 0, 2, var, uses_data=True),
        Operator("missing", 0, None, missing, uses_data=True),
        Operator("missing_some", 2, 2, missing_some, uses_data=True),
        _lazy("if", 0, None),
        _lazy("?:", 3, 3),
        Operator("==", 2, 2, loose_equals),
        Operator("===", 2, 2, strict_equals),
        Operator("!=", 2, 2, lambda a, b: not loose_equals(a, b)),
        Operator("!==", 2, 2, lambda a, b: not strict_equals(a, b)),
        Operator("!", 1, 1, not_),
        Operator("!!", 1, 1, truthy),
        _lazy("or", 1, None),
        _lazy("and", 1, None),
        Operator(">", 2, 2, greater),
        Operator(">=", 2, 2, greater_or_equal),
        Operator("<", 2, 3, less),
        Operator("<=", 2, 3, less_equal),
        Operator("max", 1, None, maximum),
        Operator("min", 1, None, minimum),
        Operator("+", 0, None, add),
        Operator("-", 1, 2, subtract),
        Operator("*", 1, None, multiply),
        Operator("/", 2, 2, divide),
        Operator("%", 2, 2, remainder),
        _lazy("map", 2, 2),
        _lazy("filter", 2, 2),
        _lazy("reduce", 2, 3),
        _lazy("all", 2, 2),
        _lazy("none", 2, 2),
        _lazy("some", 2, 2),
        Operator("merge", 0, None, merge),
        Operator("in", 2, 2, contains),
        Operator("cat", 0, None, concatenate),
        Operator("substr", 2, 3, substring),
        Operator("log", 1, 1, log),
    )
}
"""Every operator a rule may use, by name."""

ITERATING: Final = frozenset({"map", "filter", "reduce", "all", "none", "some"})
"""Operators whose second argument is evaluated once per item of the first."""
