"""Filters every template gets on top of Jinja's own.

Two kinds live here:

* **Guarded versions** of the Jinja filters that can build a huge value from small arguments
  (``center``, ``indent``, ``replace``, ``format``, ``join``, ``batch``, ``slice``, ``sum``,
  ``wordwrap``, ``string``, ``pprint``, ``urlencode``, ``xmlattr``). They check the size
  budget first, then call Jinja's implementation unchanged.
* **Helpers for workflow authors**: ``tojson`` (plain JSON, not HTML-escaped — step inputs are
  not HTML), ``fromjson``, ``b64encode`` and ``b64decode``.

Filters registered by apps (``register_filter``) live in :mod:`automate.templates.registry`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jinja2 import filters as jinja_filters
from jinja2 import pass_environment, pass_eval_context
from jinja2.environment import Environment
from jinja2.nodes import EvalContext
from markupsafe import soft_str

from .exceptions import TemplateViolation
from .limits import (
    MAX_RANGE,
    check_printf_format,
    check_replace,
    check_value_size,
    current_budget,
)


def _check_size(size: int, what: str) -> None:
    budget = current_budget()
    if budget is not None:
        budget.check_size(size, what)


def _check_value(value: Any, what: str) -> None:
    budget = current_budget()
    if budget is not None:
        check_value_size(value, budget, what)


def center(value: Any, width: int = 80) -> str:
    """Jinja's ``center``, refusing widths over the output limit."""
    if isinstance(width, int):
        _check_size(width, "the result of center")
    return jinja_filters.do_center(value, width)


def indent(s: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    """Jinja's ``indent``, refusing indentation that would pass the output limit."""
    text = str(s)
    pad = len(width) if isinstance(width, str) else width
    if isinstance(pad, int):
        _check_size(len(text) + (text.count("\n") + 1) * pad, "the result of indent")
    return jinja_filters.do_indent(text, width, first, blank)


@pass_eval_context
def replace(eval_ctx: EvalContext, s: Any, old: Any, new: Any, count: int | None = None) -> str:
    """Jinja's ``replace``, refusing replacements that would pass the output limit."""
    budget = current_budget()
    if budget is not None:
        check_replace(str(s), old, new, -1 if count is None else count, budget)
    return jinja_filters.do_replace(eval_ctx, s, old, new, count)


def format_(value: Any, *args: Any, **kwargs: Any) -> str:
    """Jinja's ``format`` (``"%s, %s"|format(a, b)``), refusing huge widths and values."""
    budget = current_budget()
    if budget is not None:
        check_printf_format(str(value), kwargs or args, budget)
    return jinja_filters.do_format(value, *args, **kwargs)


@pass_eval_context
def join(
    eval_ctx: EvalContext, value: Iterable[Any], d: str = "", attribute: str | int | None = None
) -> str:
    """Jinja's ``join``, refusing results over the output limit."""
    if isinstance(value, str):  # measured without making a list of its characters
        _check_size(len(value) * (1 + len(str(d))), "the result of join")
    items = list(value)
    _check_value(items, "the result of join")
    _check_size(len(str(d)) * len(items), "the result of join")
    return jinja_filters.sync_do_join(eval_ctx, items, d, attribute)


def batch(value: Iterable[Any], linecount: int, fill_with: Any = None) -> Iterator[list[Any]]:
    """Jinja's ``batch``, refusing batch sizes over the output limit when padding."""
    if fill_with is not None and isinstance(linecount, int):
        _check_size(linecount, "a padded batch")
    return jinja_filters.do_batch(value, linecount, fill_with)


def slice_(value: Any, slices: int, fill_with: Any = None) -> Iterator[list[Any]]:
    """Jinja's ``slice``, refusing more than ``MAX_RANGE`` slices."""
    if isinstance(slices, int) and slices > MAX_RANGE:
        raise TemplateViolation(
            f"slice() into {slices:,} parts is over the {MAX_RANGE:,} limit", kind="limit"
        )
    return jinja_filters.sync_do_slice(value, slices, fill_with)


@pass_environment
def sum_(
    environment: Environment,
    iterable: Iterable[Any],
    attribute: str | int | None = None,
    start: Any = 0,
) -> Any:
    """Jinja's ``sum``, for numbers only (adding lists together is quadratic)."""
    if isinstance(start, bool) or not isinstance(start, int | float):
        raise TemplateViolation("sum() adds numbers only; use join for text", kind="security")
    return jinja_filters.sync_do_sum(environment, iterable, attribute, start)


@pass_environment
def wordwrap(
    environment: Environment,
    s: Any,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> str:
    """Jinja's ``wordwrap``, refusing a ``wrapstring`` that would pass the output limit."""
    text = str(s)
    separator = environment.newline_sequence if wrapstring is None else str(wrapstring)
    if isinstance(width, int):
        breaks = len(text) // max(width, 1) + text.count(" ") + 1
        _check_size(len(text) + breaks * len(separator), "the result of wordwrap")
    return jinja_filters.do_wordwrap(
        environment, text, width, break_long_words, wrapstring, break_on_hyphens
    )


def _serialising(name: str, func: Callable[..., str]) -> Callable[..., str]:
    def guarded(value: Any, *args: Any, **kwargs: Any) -> str:
        _check_value(value, f"the result of {name}")
        return func(value, *args, **kwargs)

    guarded.__name__ = name
    guarded.__doc__ = f"Jinja's ``{name}``, refusing values over the output limit."
    return guarded


@pass_eval_context
def xmlattr(eval_ctx: EvalContext, d: Any, autospace: bool = True) -> str:
    """Jinja's ``xmlattr``, refusing values over the output limit."""
    _check_value(d, "the result of xmlattr")
    return jinja_filters.do_xmlattr(eval_ctx, d, autospace)


def tojson(value: Any, indent: int | None = None) -> str:
    """Serialise ``value`` as JSON: ``{{ event.payload | tojson }}``.

    Unlike Jinja's HTML-oriented ``tojson``, ``<``, ``>``, ``&`` and ``'`` are left as they
    are and non-ASCII text is kept readable. Values JSON does not know (dates, decimals)
    become strings.
    """
    _check_value(value, "the result of tojson")
    return json.dumps(value, indent=indent, ensure_ascii=False, default=str)


def fromjson(value: Any) -> Any:
    """Parse a JSON string into data: ``{{ (event.payload.body | fromjson).id }}``."""
    if not isinstance(value, str | bytes):
        raise TemplateViolation(
            f"fromjson expects a JSON string, not {type(value).__name__}", kind="error"
        )
    _check_size(len(value), "the input of fromjson")
    try:
        return json.loads(value)
    except ValueError as exc:
        # The message names the position only, never the text (it may hold a secret).
        raise TemplateViolation(f"fromjson: invalid JSON ({exc})", kind="error") from None


def b64encode(value: Any) -> str:
    """Base64-encode text (UTF-8): ``{{ (user ~ ':' ~ secrets.API_KEY) | b64encode }}``."""
    data = value if isinstance(value, bytes) else str(value).encode("utf-8")
    _check_size(len(data) * 4 // 3 + 4, "the result of b64encode")
    return base64.b64encode(data).decode("ascii")


def b64decode(value: Any) -> str:
    """Decode Base64 into UTF-8 text."""
    try:
        return base64.b64decode(str(value), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise TemplateViolation(
            "b64decode: the value is not Base64-encoded UTF-8 text", kind="error"
        ) from None


#: Installed into the shared environment, replacing Jinja's filters of the same name.
BUILTIN_FILTERS: dict[str, Callable[..., Any]] = {
    "center": center,
    "indent": indent,
    "replace": replace,
    "format": format_,
    "join": join,
    "batch": batch,
    "slice": slice_,
    "sum": sum_,
    "wordwrap": wordwrap,
    "string": _serialising("string", soft_str),
    "pprint": _serialising("pprint", jinja_filters.do_pprint),
    "urlencode": _serialising("urlencode", jinja_filters.do_urlencode),
    "xmlattr": xmlattr,
    "tojson": tojson,
    "fromjson": fromjson,
    "b64encode": b64encode,
    "b64decode": b64decode,
}
