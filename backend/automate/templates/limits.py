"""The time and size budget of one render, and the checks that keep templates inside it.

Jinja has no timeout, and Python cannot stop a thread from the outside without tricks that
break other code (signals only work in the main thread; asynchronous exceptions land at
random places). So the budget is enforced *cooperatively*: the sandboxed environment checks
the deadline at every point where a template can spend time — each loop iteration, each
call, attribute or item lookup, intercepted operator and output chunk — and refuses, before
they run, the few single operations that could take long or allocate a lot in one C call
(``"x" * 10**9``, ``10 ** 10 ** 10``, ``"%0999999999d" % 1``, ``"x".ljust(10**9)``, …).

The budget lives in a ``ContextVar``, so one shared environment serves every thread and each
render sees only its own deadline. Nothing here imports Django.
"""

from __future__ import annotations

import re
import string
import time
import types
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from itertools import compress
from typing import Any, TypeGuard

from jinja2.runtime import Undefined

from .exceptions import TemplateViolation
from .opaque import SecretValue, refuse_secret

#: Largest ``range()`` a template may build (the same cap as Jinja's sandbox).
MAX_RANGE = 100_000
#: Default of ``DJANGO_AUTOMATE["TEMPLATES"]["max_memory_bytes"]``.
DEFAULT_MAX_MEMORY_BYTES = 32_000_000
#: ``sort``, ``==`` and friends may walk values up to this many times the output limit
#: (they run per-item Python callbacks in one call, about a microsecond each).
WORK_FACTOR = 1
#: Largest integer (in bits) that ``*`` and ``**`` may produce; Python refuses to print
#: integers over 4,300 digits (about 14,000 bits) anyway.
MAX_INT_BITS = 100_000

_SETTING = "DJANGO_AUTOMATE['TEMPLATES']"
_WIDTH_METHODS = frozenset({"ljust", "rjust", "center", "zfill"})
# Methods that can turn a small value into a huge one in one C call and that workflow
# inputs have no use for.
_DENIED_METHODS = frozenset({"translate", "maketrans", "expandtabs", "to_bytes"})
_PRINTF_SPEC = re.compile(
    r"%(?:\([^)]*\))?[#0\- +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d*))?[hlL]?[a-zA-Z%]"
)
_DIGITS = re.compile(r"\d+")


@dataclass
class RenderBudget:
    """What one ``render()``/``render_inputs()`` call may still spend."""

    timeout_seconds: float
    max_bytes: int
    #: Bytes all filters, calls and operators of the render may allocate in total.
    max_memory_bytes: int = DEFAULT_MAX_MEMORY_BYTES
    used_bytes: int = 0
    allocated_bytes: int = 0
    deadline: float = field(init=False)

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.timeout_seconds

    def check_time(self) -> None:
        """Stop the render once its deadline has passed."""
        if time.monotonic() > self.deadline:
            raise TemplateViolation(
                f"rendering took longer than the {self.timeout_seconds:g}-second limit "
                f"({_SETTING}['render_timeout_seconds'])",
                kind="limit",
            )

    def check_size(self, size: int, what: str) -> None:
        """Refuse to build a value of ``size`` bytes (or items) over the output limit."""
        if size > self.max_bytes:
            raise TemplateViolation(
                f"{what} would be larger than the {self.max_bytes:,}-byte limit "
                f"({_SETTING}['max_output_bytes'])",
                kind="limit",
            )

    def charge(self, size: int, what: str) -> None:
        """Count ``size`` bytes allocated by ``what`` against the render's memory budget.

        Cumulative: a template that builds many values, each under the output limit
        (``map('center', 900000)`` over a long list), is stopped once their total passes
        the budget, whether or not the earlier ones were freed.
        """
        self.allocated_bytes += size
        if self.allocated_bytes > self.max_memory_bytes:
            raise TemplateViolation(
                f"{what} would take the values this render built past the "
                f"{self.max_memory_bytes:,}-byte memory limit "
                f"({_SETTING}['max_memory_bytes'])",
                kind="limit",
            )
        self.check_time()

    def check_work(self, value: Any, what: str) -> None:
        """Refuse ``value`` when walking all of it (as ``sort`` or ``==`` do in one C call)
        would pass the memory budget: ``[[1] * 100000] * 10000`` is small but deep."""
        if isinstance(value, str | bytes | int | float | bool | None):
            return
        # The walk itself costs time, so it stops at a fraction of the memory budget.
        limit = min(self.max_memory_bytes, WORK_FACTOR * self.max_bytes)
        if approximate_size(value, self, limit=limit) > limit:
            raise TemplateViolation(
                f"{what} would have to walk a value larger than {limit:,} bytes "
                f"(nested or repeated lists count every time they appear)",
                kind="limit",
            )

    def add_output(self, size: int) -> None:
        """Count ``size`` bytes of rendered output against the limit."""
        self.used_bytes += size
        self.check_size(self.used_bytes, "the rendered output")
        self.check_time()


_current: ContextVar[RenderBudget | None] = ContextVar("automate_template_budget", default=None)
#: ``current_budget`` without the function call, for the sandbox's per-lookup checks.
budget_now = _current.get


@contextmanager
def active_budget(budget: RenderBudget) -> Iterator[RenderBudget]:
    """Make ``budget`` the one the sandbox enforces for the duration of the block."""
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


def current_budget() -> RenderBudget | None:
    """The budget of the render running in this thread/task, if any."""
    return _current.get()


def approximate_size(value: Any, budget: RenderBudget, *, limit: int | None = None) -> int:
    """Roughly how many bytes ``value`` takes once serialised, counting shared references
    each time they appear (which is what ``str()`` or JSON would produce).

    Stops counting as soon as the total passes the limit, so the walk itself is bounded even
    for a structure like ``[a, a]`` nested forty times. Raises the undefined error of any
    undefined value it meets inside a container.
    """
    if isinstance(value, str | bytes):
        return len(value)
    if limit is None:
        limit = budget.max_bytes
    total = 0
    pending = [value]
    visited = 0
    while pending and total <= limit:
        item = pending.pop()
        visited += 1
        if visited % 4096 == 0:
            budget.check_time()
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, dict):
            total += 2 + 2 * len(item)
            if total <= limit:
                total += _add_items(item.keys(), pending)
                total += _add_items(item.values(), pending)
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + len(item)
            if total <= limit:
                total += _add_items(item, pending)
        elif isinstance(item, Undefined):
            # ``[missing]`` would print as "[Undefined]": raise the strict error instead.
            str(item)
        elif isinstance(item, SecretValue):
            refuse_secret(item._name, "is put inside a list or dict")
        else:
            total += 8
    return total


_SCALARS = frozenset({int, float, bool, type(None)})
_TEXTS = frozenset({str, bytes})


def _add_items(items: Collection[Any], pending: list[Any]) -> int:
    """The size of the numbers and strings in ``items``, counted at C speed; the rest
    (containers, other objects) goes onto ``pending``. A list of 100,000 numbers costs one
    pass in C, not 100,000 turns of the walk."""
    if len(items) <= 32:  # small containers: the walk itself is cheaper
        pending.extend(items)
        return 0
    kinds = set(map(type, items))
    if kinds <= _SCALARS:
        return 8 * len(items)
    if kinds <= _TEXTS:
        return sum(map(len, items))
    size = 8 * sum(map(_SCALARS.__contains__, map(type, items)))
    if kinds & _TEXTS:
        size += sum(map(len, compress(items, map(_TEXTS.__contains__, map(type, items)))))
    if kinds - _SCALARS - _TEXTS:
        pending.extend(compress(items, map(_is_other, map(type, items))))
    return size


def _is_other(kind: type) -> bool:
    return kind not in _SCALARS and kind not in _TEXTS


def shallow_size(value: Any) -> int:
    """Roughly the bytes a freshly built ``value`` occupies, not counting what it shares."""
    if isinstance(value, str):
        return len(value) if value.isascii() else 4 * len(value)
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(value, list | tuple | set | frozenset):
        return 8 * len(value) + 56
    if isinstance(value, dict):
        return 100 * len(value) + 64
    if isinstance(value, int) and not isinstance(value, bool):
        return value.bit_length() // 8 + 28
    return 32


def check_value_size(value: Any, budget: RenderBudget, what: str) -> None:
    """Refuse ``value`` when serialising it would pass the output limit."""
    budget.check_size(approximate_size(value, budget), what)


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int)


def _is_sequence(value: Any) -> bool:
    return isinstance(value, str | bytes | list | tuple)


def _check_int_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise TemplateViolation(
            f"the result would be an integer of about {bits:,} bits; "
            f"the limit is {MAX_INT_BITS:,} bits",
            kind="limit",
        )


def check_binop(operator: str, left: Any, right: Any, budget: RenderBudget) -> None:
    """Refuse ``left <operator> right`` before it runs when the result would be too big."""
    budget.check_time()
    if operator == "*":
        if _is_sequence(left) and _is_int(right):
            budget.check_size(len(left) * right, "repeating a value")
        elif _is_sequence(right) and _is_int(left):
            budget.check_size(len(right) * left, "repeating a value")
        elif _is_int(left) and _is_int(right):
            _check_int_bits(abs(left).bit_length() + abs(right).bit_length())
    elif operator == "**":
        if _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
            _check_int_bits(abs(left).bit_length() * right)
    elif operator == "+":
        if _is_sequence(left) and _is_sequence(right):
            budget.check_size(len(left) + len(right), "joining two values")
    elif operator == "%" and isinstance(left, str):
        check_printf_format(left, right, budget)


def _check_width(number: str | None, budget: RenderBudget, fmt_kind: str) -> None:
    if number == "*":
        raise TemplateViolation(
            f"'*' widths are not allowed in {fmt_kind} format strings", kind="security"
        )
    if number:
        budget.check_size(int(number), f"a {fmt_kind} format field")


def check_printf_format(fmt: str, args: Any, budget: RenderBudget) -> None:
    """Refuse ``%``-formatting whose widths, precisions or arguments would be too big."""
    for match in _PRINTF_SPEC.finditer(fmt):
        _check_width(match.group("width"), budget, "%")
        _check_width(match.group("precision"), budget, "%")
    check_value_size(args, budget, "the formatted text")


def check_str_format(fmt: str, args: Any, kwargs: Mapping[str, Any], budget: RenderBudget) -> None:
    """Refuse ``str.format``/``format_map`` whose field widths or arguments are too big."""
    budget.check_time()
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError as exc:
        raise TemplateViolation(f"invalid format string: {exc}", kind="error") from None
    for _literal, _name, spec, _conversion in fields:
        if not spec:
            continue
        if "{" in spec:
            raise TemplateViolation(
                "nested replacement fields in format specs are not allowed", kind="security"
            )
        for number in _DIGITS.findall(spec):
            budget.check_size(int(number), "a format field")
    check_value_size((args, dict(kwargs)), budget, "the formatted text")


def check_replace(text: Any, old: Any, new: Any, count: Any, budget: RenderBudget) -> None:
    """Refuse ``text.replace(old, new, count)`` when the result would be too big."""
    parts = (text, old, new)
    if not (all(isinstance(p, str) for p in parts) or all(isinstance(p, bytes) for p in parts)):
        return
    hits = text.count(old) if old else len(text) + 1
    if _is_int(count) and count >= 0:
        hits = min(hits, count)
    budget.check_size(len(text) + hits * max(len(new) - len(old), 0), "the result of replace()")


def check_method_call(
    method: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any], budget: RenderBudget
) -> tuple[Any, ...]:
    """Refuse calls of built-in methods that would build a huge value in one step.

    Returns the positional arguments to call with (``str.join`` gets its iterable turned
    into a list so it can be measured first).
    """
    if not isinstance(method, types.BuiltinMethodType):
        return args
    name = method.__name__
    owner = getattr(method, "__self__", None)
    if name in _DENIED_METHODS and not isinstance(owner, types.ModuleType):
        raise TemplateViolation(
            f"{type(owner).__name__}.{name}() is not allowed in templates", kind="security"
        )
    if not isinstance(owner, str | bytes):
        return args
    if name in _WIDTH_METHODS:
        width = args[0] if args else kwargs.get("width")
        if _is_int(width):
            budget.check_size(width, f"the result of {name}()")
    elif name == "replace" and len(args) >= 2:
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        check_replace(owner, args[0], args[1], count, budget)
    elif name == "join" and args:
        items = list(args[0])
        budget.check_time()
        size = len(owner) * max(len(items) - 1, 0)
        size += sum(len(item) for item in items if isinstance(item, str | bytes))
        budget.check_size(size, "the result of join()")
        return (items, *args[1:])
    return args
