"""JavaScript value semantics, as JSONLogic (json-logic-js) defines them.

Rules are usually written by people who know JSONLogic from the browser, so values behave
as in JavaScript: ``[]`` and ``""`` are falsy, ``==`` coerces (``1 == "1"``), ``===``
does not, and arithmetic turns strings into numbers. Python's own rules differ in many
small ways (``True == 1``, ``bool([]) is False`` but ``bool({})`` too, ``-3 % 2 == 1``),
so every coercion lives here, with a fast path for the plain types events carry.

Arrays and objects compare by identity under ``==`` and ``===``, as in JavaScript: two
lists with the same items are not equal unless they are the same list.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from numbers import Real
from typing import Any, Final

NAN: Final = math.nan


class _Missing:
    """JavaScript's ``undefined``: a property that does not exist."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

_ARRAY_TYPES: Final = (list, tuple)
# re.ASCII: JavaScript reads only ASCII digits ("١٢" is NaN), unlike Python's \d and int().
_INT_TEXT: Final = re.compile(r"[+-]?\d+", re.ASCII)
_DECIMAL_TEXT: Final = re.compile(
    r"[+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)", re.ASCII
)
_RADIX_TEXT: Final = re.compile(r"0(?:[xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)")
_INDEX_TEXT: Final = re.compile(r"0|[1-9][0-9]*")


def kind(value: Any) -> str:
    """The JavaScript type of ``value``: null, boolean, number, string, array or object."""
    if value is None:
        return "null"
    t = type(value)
    if t is bool:
        return "boolean"
    if t is int or t is float:
        return "number"
    if t is str:
        return "string"
    if t is list:
        return "array"
    if t is dict:
        return "object"
    return _kind_of_subclass(value)


def _kind_of_subclass(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Real | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, _ARRAY_TYPES):
        return "array"
    return "object"


def truthy(value: Any) -> bool:
    """JSONLogic truthiness: JavaScript's, except that an empty array is falsy too."""
    if value is True:
        return True
    if value is False or value is None:
        return False
    t = type(value)
    if t is str or t is list or t is int:
        return bool(value)
    if t is float:
        return bool(value == value and value != 0)
    if t is dict:
        return True
    k = _kind_of_subclass(value)
    if k == "number":
        return not math.isnan(value) and bool(value != 0)
    if k in ("boolean", "string", "array"):
        return bool(value)
    return True


_FLOAT_LIMIT: Final = 2**1024  # the first integer a float cannot hold


def _fit_int(number: int) -> int | float:
    """An int as a JavaScript number: exact, unless beyond float range (±Infinity).

    Python raises OverflowError mixing such ints with floats; JavaScript has Infinity.
    """
    if -_FLOAT_LIMIT < number < _FLOAT_LIMIT:
        return number
    return math.inf if number > 0 else -math.inf


def _number_from_text(text: str) -> int | float:
    if _INT_TEXT.fullmatch(text):
        try:
            return _fit_int(int(text))
        except ValueError:  # longer than Python's int-parsing limit
            return float(text)
    return float(text)


def to_number(value: Any) -> int | float:
    """JavaScript's ``Number(value)``: ``null`` is 0, ``"12"`` is 12, ``"abc"`` is NaN."""
    t = type(value)
    if t is float:
        return value  # type: ignore[no-any-return]
    if t is int:
        return _fit_int(value)
    if value is None or value is False:
        return 0
    if value is True:
        return 1
    if t is str:
        return _string_to_number(value)
    k = _kind_of_subclass(value)
    if k == "number":
        if isinstance(value, int):
            return _fit_int(int(value))
        return float(value)
    if k == "boolean":
        return 1 if value else 0
    if k == "string":
        return _string_to_number(str(value))
    if k == "array":
        return _string_to_number(to_js_string(value))
    return NAN


def _string_to_number(text: str) -> int | float:
    text = text.strip()
    if not text:
        return 0
    if _DECIMAL_TEXT.fullmatch(text):
        return _number_from_text(text)
    if _RADIX_TEXT.fullmatch(text):
        return _fit_int(int(text, 0))
    return NAN


def parse_float(value: Any) -> int | float:
    """JavaScript's ``parseFloat(value)``, which ``+`` and ``*`` use: ``"12px"`` is 12."""
    t = type(value)
    if t is float:
        return value  # type: ignore[no-any-return]
    if t is int:
        return _fit_int(value)
    match = _DECIMAL_TEXT.match(to_js_string(value).lstrip())
    if match is None:
        return NAN
    return _number_from_text(match.group(0))


def to_integer(value: Any) -> int | float:
    """JavaScript's ToIntegerOrInfinity: NaN is 0, fractions truncate toward zero."""
    number = to_number(value)
    if isinstance(number, int):
        return number
    if math.isnan(number):
        return 0
    if math.isinf(number):
        return number
    return int(number)


def number_to_string(number: float) -> str:
    """JavaScript's ``String(number)``: ``1.0`` is ``"1"``, ``1e21`` is ``"1e+21"``."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    # repr() gives the shortest digits that round-trip, which is what JavaScript prints.
    mantissa, _, exponent_text = repr(abs(number)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    all_digits = whole + fraction
    digits = all_digits.lstrip("0")
    n = len(whole) + int(exponent_text or 0) - (len(all_digits) - len(digits))
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        head = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
        text = f"{head}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + text


def to_js_string(value: Any) -> str:
    """JavaScript's ``String(value)``: arrays join with commas, ``null`` is ``"null"``."""
    t = type(value)
    if t is str:
        return value  # type: ignore[no-any-return]
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if t is int:
        return str(value)
    if t is float:
        return number_to_string(value)
    k = _kind_of_subclass(value)
    if k == "array":
        return ",".join("" if item is None else to_js_string(item) for item in value)
    if k == "number":
        return str(value) if isinstance(value, int) else number_to_string(float(value))
    if k == "boolean":
        return "true" if value else "false"
    if k == "string":
        return str(value)
    if isinstance(value, Mapping):
        return "[object Object]"
    return str(value)


def _to_primitive(value: Any) -> Any:
    k = kind(value)
    if k == "array" or k == "object":
        return to_js_string(value)
    return value


def loose_equals(a: Any, b: Any) -> bool:
    """JavaScript's ``a == b``."""
    ta = type(a)
    if ta is type(b) and (ta is str or ta is int or ta is float):
        return a == b  # type: ignore[no-any-return]
    return _loose_equals(a, b)


def _loose_equals(a: Any, b: Any) -> bool:
    ka, kb = kind(a), kind(b)
    if ka == kb:
        if ka == "array" or ka == "object":
            return a is b
        return a == b  # type: ignore[no-any-return]
    if ka == "null" or kb == "null":
        return False
    if ka == "boolean":
        return _loose_equals(1 if a else 0, b)
    if kb == "boolean":
        return _loose_equals(a, 1 if b else 0)
    if ka == "number" and kb == "string":
        return a == to_number(b)  # type: ignore[no-any-return]
    if ka == "string" and kb == "number":
        return to_number(a) == b  # type: ignore[no-any-return]
    if ka in ("array", "object") and kb in ("number", "string"):
        return _loose_equals(_to_primitive(a), b)
    if kb in ("array", "object") and ka in ("number", "string"):
        return _loose_equals(a, _to_primitive(b))
    return False


def strict_equals(a: Any, b: Any) -> bool:
    """JavaScript's ``a === b``: no coercion; ``1 === 1.0`` but never ``true === 1``."""
    ta = type(a)
    if ta is type(b) and (ta is str or ta is int or ta is float):
        return a == b  # type: ignore[no-any-return]
    ka = kind(a)
    if ka != kind(b):
        return False
    if ka == "array" or ka == "object":
        return a is b
    return a == b  # type: ignore[no-any-return]


def _relational_operands(a: Any, b: Any) -> tuple[Any, Any]:
    pa, pb = _to_primitive(a), _to_primitive(b)
    if isinstance(pa, str) and isinstance(pb, str):
        return pa, pb
    return to_number(pa), to_number(pb)


def less_than(a: Any, b: Any) -> bool:
    """JavaScript's ``a < b``: strings compare as text, anything else as numbers."""
    ta, tb = type(a), type(b)
    if ((ta is int or ta is float) and (tb is int or tb is float)) or (ta is str and tb is str):
        return a < b  # type: ignore[no-any-return]
    x, y = _relational_operands(a, b)
    return x < y  # type: ignore[no-any-return]


def less_or_equal(a: Any, b: Any) -> bool:
    """JavaScript's ``a <= b`` (false whenever a number is NaN)."""
    ta, tb = type(a), type(b)
    if ((ta is int or ta is float) and (tb is int or tb is float)) or (ta is str and tb is str):
        return a <= b  # type: ignore[no-any-return]
    x, y = _relational_operands(a, b)
    return x <= y  # type: ignore[no-any-return]


def is_array(value: Any) -> bool:
    """Whether ``value`` is a JSON array (a list, or a tuple from Python callers)."""
    return isinstance(value, _ARRAY_TYPES)


def get_property(container: Any, key: str) -> Any:
    """``container[key]`` as JavaScript reads it, or ``MISSING`` (``undefined``).

    Objects look the key up; arrays and strings take a decimal index or ``length``.
    """
    if type(container) is dict:
        return container.get(key, MISSING)
    if isinstance(container, Mapping):
        return container.get(key, MISSING)
    if isinstance(container, (list, tuple, str)):
        if key == "length":
            return len(container)
        if _INDEX_TEXT.fullmatch(key) and int(key) < len(container):
            return container[int(key)]
    return MISSING


def lookup(data: Any, parts: tuple[str, ...], default: Any) -> Any:
    """Follow a dotted path already split into ``parts``, as JSONLogic's ``var`` does.

    A missing property (or a ``null`` on the way) gives ``default``; a property that
    exists and holds ``null`` gives ``None``.
    """
    for part in parts:
        if data is None:
            return default
        data = get_property(data, part)
        if data is MISSING:
            return default
    return data


def split_path(path: Any) -> tuple[str, ...]:
    """Split a ``var`` path (``"a.b.0"``, or a number) into its parts.

    ``None`` and ``""`` mean the data itself (no parts).
    """
    if path is None or (isinstance(path, str) and not path):
        return ()
    return tuple(to_js_string(path).split("."))
