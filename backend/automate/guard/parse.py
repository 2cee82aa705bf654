"""Parse and check untrusted JSON and text within limits; no Django imports.

What is refused, and why:

- **size**: more bytes than the limit (413 ``payload_too_large``);
- **not JSON / not UTF-8** (400 ``malformed_request``);
- **depth**: nesting deeper than the limit, checked on the text *before* parsing, so a
  10,000-deep document never reaches a recursive parser (400 ``malformed_request``);
- **number size**: an integer with more digits than the limit (Python refuses to convert
  over 4,300 digits at all) and numbers JSON cannot hold (``NaN``, ``Infinity``, ``1e999``
  which is infinite as a float); PostgreSQL's ``jsonb`` refuses the last ones too
  (400 ``number_too_large`` / ``invalid_number``);
- **text**: NUL characters and unpaired surrogates, in keys or values, which PostgreSQL
  cannot store in text or ``jsonb`` and which are not valid Unicode text
  (400 ``invalid_text``).

Every refusal names where the problem is (a path such as ``payload.items[3].name``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from automate.exceptions import AutomateError

_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")
# A JSON string, unrolled so a long string does not backtrack; the closing quote is
# optional so an unterminated string is consumed once (linear), not retried from each quote.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_LOG10_2 = math.log10(2)
_MAX_PATH = 100


class InputRejected(AutomateError):
    """Input that cannot be accepted; ``http_status`` is 413 for size, 400 otherwise.

    ``reason`` says which check refused it: ``"syntax"`` (not JSON, not UTF-8; the studio
    shows these as typing feedback), ``"size"``, ``"depth"``, ``"number"`` or ``"text"``.
    """

    code = "malformed_request"
    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int = 400,
        details: dict[str, Any] | None = None,
        reason: str = "syntax",
    ) -> None:
        super().__init__(message, code=code, details=details)
        self.http_status = status
        self.reason = reason


@dataclass(frozen=True)
class JsonLimits:
    """How much JSON is accepted: bytes of text, levels of nesting, digits of an integer."""

    max_bytes: int = 2_000_000
    max_depth: int = 64
    max_number_digits: int = 1000


def too_large(what: str, size: int, limit: int, setting: str = "") -> InputRejected:
    """The 413 refusal for ``size`` bytes over ``limit``."""
    where = f" ({setting})" if setting else ""
    return InputRejected(
        _("%(what)s is %(size)s bytes; the limit is %(limit)s bytes%(where)s.")
        % {"what": what, "size": size, "limit": limit, "where": where},
        code="payload_too_large",
        status=413,
        reason="size",
        details={"size": size, "limit": limit},
    )


def _deeper_than(text: str, max_depth: int) -> bool:
    """Whether the JSON text nests deeper than ``max_depth`` (strings do not count)."""
    if text.count("[") + text.count("{") <= max_depth:
        return False
    depth = 0
    for match in _BRACKET.finditer(_JSON_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False


def load_json(data: bytes | str, *, what: str, limits: JsonLimits, setting: str = "") -> Any:
    """Parse untrusted JSON text within ``limits``; raise :class:`InputRejected` otherwise.

    ``what`` names the input in messages ("The body", "The rule"); ``setting`` names the
    setting that holds the size limit, for the 413 message.
    """
    size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    if size > limits.max_bytes:
        raise too_large(what, size, limits.max_bytes, setting)
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputRejected(
                _("%(what)s is not UTF-8 text (byte %(byte)s).")
                % {"what": what, "byte": exc.start},
                details={"byte": exc.start},
            ) from None
    else:
        text = data
    if _deeper_than(text, limits.max_depth):
        raise _too_deep(what, limits.max_depth)

    def parse_int(digits: str) -> int:
        if len(digits.lstrip("-")) > limits.max_number_digits:
            raise _number_too_large(what, limits.max_number_digits)
        return int(digits)

    def parse_float(literal: str) -> float:
        number = float(literal)
        if not math.isfinite(number):
            raise _not_finite(what, literal)
        return number

    def parse_constant(name: str) -> float:
        raise _not_finite(what, name)

    try:
        value = json.loads(
            text, parse_int=parse_int, parse_float=parse_float, parse_constant=parse_constant
        )
    except json.JSONDecodeError as exc:
        raise InputRejected(
            _("%(what)s is not valid JSON: %(problem)s (line %(line)s, column %(column)s).")
            % {"what": what, "problem": exc.msg, "line": exc.lineno, "column": exc.colno},
            details={"line": exc.lineno, "column": exc.colno},
        ) from None
    except RecursionError:  # the depth scan makes this unreachable; kept as a last line
        raise _too_deep(what, limits.max_depth) from None
    bad = bad_text_path(value, root="")
    if bad is not None:
        raise _bad_text(what, bad)
    return value


def check_json_value(value: Any, *, what: str, limits: JsonLimits) -> Any:
    """Check an already-parsed value (a DRF ``request.data``, a stored definition) against
    the same depth, number and text rules as :func:`load_json`; returns it unchanged."""
    for path, depth, item in _walk(value, ""):
        if depth > limits.max_depth:
            raise _too_deep(what, limits.max_depth, path)
        if isinstance(item, bool):
            continue
        if isinstance(item, int):
            # Digits from the bit length: converting a huge int to text is itself refused.
            if int(abs(item).bit_length() * _LOG10_2) + 1 > limits.max_number_digits:
                raise _number_too_large(what, limits.max_number_digits, path)
        elif isinstance(item, float) and not math.isfinite(item):
            raise _not_finite(what, repr(item), path)
        elif isinstance(item, str) and _BAD_CHARACTER.search(item):
            raise _bad_text(what, path)
    return value


def bad_text_path(value: Any, *, root: str = "") -> str | None:
    """The path of the first key or string holding a NUL or an unpaired surrogate."""
    for path, _depth, item in _walk(value, root):
        if isinstance(item, str) and _BAD_CHARACTER.search(item):
            return path or "(top level)"
    return None


def is_whole_number(text: str) -> bool:
    """Whether ``text`` is one or more ASCII digits 0-9. Unlike ``str.isdigit`` alone it
    refuses superscripts (``"²"``, which ``int`` cannot read: a ValueError) and other
    scripts' digits (Arabic-Indic or full-width three, which ``int`` reads as 3): check with
    this before ``int(text)``."""
    return text.isascii() and text.isdigit()


def check_text(value: str, *, what: str, max_length: int | None = None) -> str:
    """A single text value (a name, a label, a query parameter): no NUL, no unpaired
    surrogate, at most ``max_length`` characters."""
    if _BAD_CHARACTER.search(value):
        raise _bad_text(what, "")
    if max_length is not None and len(value) > max_length:
        raise InputRejected(
            _("%(what)s is %(length)s characters long; the limit is %(limit)s.")
            % {"what": what, "length": len(value), "limit": max_length},
            code="invalid_request",
            details={"length": len(value), "limit": max_length},
            reason="size",
        )
    return value


def _walk(value: Any, root: str) -> Iterator[tuple[str, int, Any]]:
    """Every key and value as ``(path, depth, item)``, without recursion (depth 1 is the
    top level; keys are reported at the depth of their object's values)."""
    stack: list[tuple[str, int, Any]] = [(root, 1, value)]
    while stack:
        path, depth, item = stack.pop()
        yield path, depth, item
        if isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{shown_key(key)}" if path else shown_key(key)
                if isinstance(key, str):
                    yield child_path, depth + 1, key
                stack.append((child_path, depth + 1, child))
        elif isinstance(item, list | tuple):
            for index, child in enumerate(item):
                stack.append((f"{path}[{index}]", depth + 1, child))


def shown_key(key: object) -> str:
    text = str(key)
    # Keys are shown escaped (a NUL or a surrogate cannot be put in a response) and short.
    return ascii(text)[1:-1][:40] if _BAD_CHARACTER.search(text) else text[:40]


def _too_deep(what: str, limit: int, path: str = "") -> InputRejected:
    path = path if len(path) <= _MAX_PATH else path[:_MAX_PATH] + "…"
    where = _(" (at %(path)s)") % {"path": path} if path else ""
    return InputRejected(
        _("%(what)s is nested more than %(limit)s levels deep%(where)s.")
        % {"what": what, "limit": limit, "where": where},
        code="malformed_request",
        details={"limit": limit, **({"path": path} if path else {})},
        reason="depth",
    )


def _number_too_large(what: str, limit: int, path: str = "") -> InputRejected:
    where = _(" at %(path)s") % {"path": path} if path else ""
    return InputRejected(
        _("%(what)s holds an integer of more than %(limit)s digits%(where)s.")
        % {"what": what, "limit": limit, "where": where},
        code="number_too_large",
        details={"limit": limit, **({"path": path} if path else {})},
        reason="number",
    )


def _not_finite(what: str, literal: str, path: str = "") -> InputRejected:
    where = _(" at %(path)s") % {"path": path} if path else ""
    return InputRejected(
        _(
            "%(what)s holds a number JSON cannot store (%(literal)s)%(where)s; NaN and "
            "infinite numbers are not accepted."
        )
        % {"what": what, "literal": literal[:20], "where": where},
        code="invalid_number",
        details={"path": path} if path else {},
        reason="number",
    )


def _bad_text(what: str, path: str) -> InputRejected:
    where = _(" at %(path)s") % {"path": path} if path else ""
    return InputRejected(
        _(
            "%(what)s holds text that cannot be stored%(where)s: a NUL character or an "
            "unpaired surrogate (\\u0000, \\ud800-\\udfff)."
        )
        % {"what": what, "where": where},
        code="invalid_text",
        details={"path": path} if path else {},
        reason="text",
    )
