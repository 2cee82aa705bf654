"""Validate a rule once and turn it into nested Python closures.

Compiling checks every node (so a bad rule is rejected when it is saved, not when an
event arrives) and builds one closure per node, specialised on what is known up front:
a ``var`` path is split once, constant arguments are captured, comparisons against a
constant number or string take a fast path, a constant ``in`` list becomes a set, and
operators whose arguments are all constant are folded. Evaluating is then only calls,
never a dict dispatch.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable, Sequence
from typing import Any, Final

from automate.rules.convert import canonical_json, child_path
from automate.rules.exceptions import RuleError
from automate.rules.explanation import ExplainNode, explain_rule
from automate.rules.operators import OPERATORS, Operator
from automate.rules.semantics import (
    MISSING,
    get_property,
    is_array,
    less_or_equal,
    lookup,
    split_path,
    truthy,
)

Evaluator = Callable[[Any], Any]

MAX_DEPTH: Final = 64
"""The deepest nesting a rule may have (a guard against runaway or hostile rules)."""

CACHE_SIZE: Final = 2048
"""How many compiled rules :func:`compile_rule` keeps (least recently used go first)."""

_SCALARS: Final = (type(None), bool, int, float, str)


class _Compiled:
    """A compiled node: its closure, and its value when known without data."""

    __slots__ = ("const", "fn", "value")

    def __init__(self, fn: Evaluator, *, const: bool = False, value: Any = None) -> None:
        self.fn = fn
        self.const = const
        self.value = value

    @property
    def scalar(self) -> bool:
        """A constant that is immutable, so it can be captured and shared safely."""
        return self.const and isinstance(self.value, _SCALARS)


def _constant(value: Any) -> _Compiled:
    return _Compiled(lambda _data: value, const=True, value=value)


def split_operation(rule: dict[str, Any], path: str) -> tuple[str, Operator, list[Any]]:
    """Check an operator object and return its name, operator and argument list."""
    if len(rule) != 1:
        keys = ", ".join(json.dumps(key) for key in rule) or "none"
        raise RuleError(f"an operator object must have exactly one key, got {keys}", path=path)
    ((name, raw_args),) = rule.items()
    op = OPERATORS.get(name)
    if op is None:
        raise RuleError(f"unknown operator {json.dumps(name)}", path=path)
    args = list(raw_args) if isinstance(raw_args, list | tuple) else [raw_args]
    count = len(args)
    if count < op.min_args or (op.max_args is not None and count > op.max_args):
        raise RuleError(f'"{name}" takes {op.arity_text()}, got {count}', path=path)
    return name, op, args


def compile_node(rule: Any, path: str = "", depth: int = 0) -> _Compiled:
    """Validate ``rule`` (JSON) and compile it; ``path`` and ``depth`` locate it."""
    if depth > MAX_DEPTH:
        raise RuleError(f"rule is nested deeper than {MAX_DEPTH} levels", path=path)
    if isinstance(rule, dict):
        name, op, raw_args = split_operation(rule, path)
        args = [
            compile_node(arg, child_path(path, name, index), depth + 1)
            for index, arg in enumerate(raw_args)
        ]
        builder = _BUILDERS.get(name, _build_eager)
        return builder(op, args)
    if isinstance(rule, list | tuple):
        items = [compile_node(item, f"{path}/{i}", depth + 1) for i, item in enumerate(rule)]
        fns = tuple(item.fn for item in items)
        value = [item.value for item in items]
        # A fresh list per call: callers may mutate what apply() returns.
        return _Compiled(
            lambda data: [fn(data) for fn in fns],
            const=all(item.const for item in items),
            value=value,
        )
    return _constant(rule)


def _build_eager(op: Operator, args: list[_Compiled]) -> _Compiled:
    function = op.function
    assert function is not None
    fns = tuple(arg.fn for arg in args)
    if op.uses_data:
        return _build_missing(op, args) or _Compiled(
            lambda data: function(data, *[fn(data) for fn in fns])
        )
    if op.name != "log" and all(arg.const for arg in args):
        folded = function(*[arg.value for arg in args])
        if isinstance(folded, _SCALARS):
            return _constant(folded)
    if len(args) == 1:
        (a,) = fns
        return _Compiled(lambda data: function(a(data)))
    if len(args) == 2:
        if op.name in _FAST_COMPARISONS and args[1].scalar:
            return _build_comparison(op, fns[0], args[1].value)
        a, b = fns
        if args[1].scalar:
            b_value = args[1].value
            return _Compiled(lambda data: function(a(data), b_value))
        return _Compiled(lambda data: function(a(data), b(data)))
    if len(args) == 3:
        a, b, c = fns
        return _Compiled(lambda data: function(a(data), b(data), c(data)))
    return _Compiled(lambda data: function(*[fn(data) for fn in fns]))


def _build_missing(op: Operator, args: list[_Compiled]) -> _Compiled | None:
    """``missing``/``missing_some`` over constant keys: each key becomes a compiled ``var``."""
    if op.name == "missing" and all(arg.const for arg in args):
        keys = (
            args[0].value if len(args) == 1 and is_array(args[0].value) else [a.value for a in args]
        )
    elif op.name == "missing_some" and args[0].scalar and args[1].const:
        need, keys = args[0].value, args[1].value
    else:
        return None
    if not is_array(keys) or not all(isinstance(key, _SCALARS) for key in keys):
        return None
    readers = tuple((key, _build_var(OPERATORS["var"], [_constant(key)]).fn) for key in keys)

    def missing_keys(data: Any) -> list[Any]:
        absent = []
        for key, read in readers:
            value = read(data)
            if value is None or (type(value) is str and not value):
                absent.append(key)
        return absent

    if op.name == "missing":
        return _Compiled(missing_keys)
    count = len(readers)

    def missing_some_keys(data: Any) -> list[Any]:
        absent = missing_keys(data)
        return [] if less_or_equal(need, count - len(absent)) else absent

    return _Compiled(missing_some_keys)


_FAST_COMPARISONS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "==": operator.eq,
    "===": operator.eq,
    "!=": operator.ne,
    "!==": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def _build_comparison(op: Operator, left: Evaluator, right: Any) -> _Compiled:
    """``left OP constant``: Python's operator is exact when both sides are numbers or
    both are strings; anything else goes through the JavaScript rules."""
    function = op.function
    assert function is not None
    fast = _FAST_COMPARISONS[op.name]
    kind = type(right)
    if kind is int or kind is float:

        def compare_number(data: Any) -> Any:
            value = left(data)
            t = type(value)
            if t is int or t is float:
                return fast(value, right)
            return function(value, right)

        return _Compiled(compare_number)
    if kind is str:

        def compare_string(data: Any) -> Any:
            value = left(data)
            if type(value) is str:
                return fast(value, right)
            return function(value, right)

        return _Compiled(compare_string)
    return _Compiled(lambda data: function(left(data), right))


def _build_var(op: Operator, args: list[_Compiled]) -> _Compiled:
    if args and not args[0].const:
        path_fn = args[0].fn
        default_fn = args[1].fn if len(args) > 1 else lambda _data: None
        return _Compiled(lambda data: lookup(data, split_path(path_fn(data)), default_fn(data)))
    parts = split_path(args[0].value if args else None)
    if not parts:
        return _Compiled(lambda data: data)
    default = args[1] if len(args) > 1 else _constant(None)
    if not default.scalar:
        default_fn = default.fn

        def read_or_compute_default(data: Any) -> Any:
            value = lookup(data, parts, MISSING)
            return default_fn(data) if value is MISSING else value

        return _Compiled(read_or_compute_default)
    fallback = default.value
    if len(parts) == 1:
        (key,) = parts

        def read_key(data: Any) -> Any:
            if type(data) is dict:
                value = data.get(key, MISSING)
                return fallback if value is MISSING else value
            return lookup(data, parts, fallback)

        return _Compiled(read_key)
    if len(parts) == 2:
        outer, inner = parts

        def read_nested_key(data: Any) -> Any:
            if type(data) is dict:
                parent = data.get(outer, MISSING)
                if type(parent) is dict:
                    value = parent.get(inner, MISSING)
                    return fallback if value is MISSING else value
            return lookup(data, parts, fallback)

        return _Compiled(read_nested_key)

    def read_path(data: Any) -> Any:
        for part in parts:
            if type(data) is dict:
                data = data.get(part, MISSING)
            elif data is None:
                return fallback
            else:
                data = get_property(data, part)
            if data is MISSING:
                return fallback
        return data

    return _Compiled(read_path)


def _build_in(op: Operator, args: list[_Compiled]) -> _Compiled:
    needle, haystack = args
    if not (haystack.const and isinstance(haystack.value, list)) or needle.const:
        return _build_eager(op, args)
    # Strict (===) membership: strings match strings, numbers match numbers (1 == 1.0),
    # booleans booleans. Arrays built by the rule are fresh objects and never match.
    strings = frozenset(item for item in haystack.value if type(item) is str)
    others = frozenset(k for k in map(_strict_key, haystack.value) if k is not None)
    get_needle = needle.fn

    def member(data: Any) -> bool:
        value = get_needle(data)
        if type(value) is str:
            return value in strings
        key = _strict_key(value)
        return key is not None and key in others

    return _Compiled(member)


def _strict_key(value: Any) -> tuple[str, Any] | None:
    if value is None:
        return ("null", None)
    t = type(value)
    if t is bool:
        return ("boolean", value)
    if (t is int or t is float) and value == value:
        return ("number", value)
    return None


def _build_and(op: Operator, args: list[_Compiled]) -> _Compiled:
    if len(args) == 1:
        return args[0]
    fns = tuple(arg.fn for arg in args)
    if len(fns) == 2:
        first, second = fns

        def and_two(data: Any) -> Any:
            value = first(data)
            return second(data) if truthy(value) else value

        return _Compiled(and_two)

    def and_many(data: Any) -> Any:
        value = None
        for fn in fns:
            value = fn(data)
            if not truthy(value):
                return value
        return value

    return _Compiled(and_many)


def _build_or(op: Operator, args: list[_Compiled]) -> _Compiled:
    if len(args) == 1:
        return args[0]
    fns = tuple(arg.fn for arg in args)
    if len(fns) == 2:
        first, second = fns

        def or_two(data: Any) -> Any:
            value = first(data)
            return value if truthy(value) else second(data)

        return _Compiled(or_two)

    def or_many(data: Any) -> Any:
        value = None
        for fn in fns:
            value = fn(data)
            if truthy(value):
                return value
        return value

    return _Compiled(or_many)


def _build_if(op: Operator, args: list[_Compiled]) -> _Compiled:
    if not args:
        return _constant(None)
    if len(args) == 1:
        return args[0]
    fns = [arg.fn for arg in args]
    if len(fns) <= 3:
        test, then = fns[0], fns[1]
        otherwise = fns[2] if len(fns) == 3 else lambda _data: None
        return _Compiled(lambda data: then(data) if truthy(test(data)) else otherwise(data))
    pairs = tuple(zip(fns[0:-1:2], fns[1::2], strict=False))
    final = fns[-1] if len(fns) % 2 else lambda _data: None

    def if_chain(data: Any) -> Any:
        for test, then in pairs:
            if truthy(test(data)):
                return then(data)
        return final(data)

    return _Compiled(if_chain)


def _build_iteration(op: Operator, args: list[_Compiled]) -> _Compiled:
    source, each = args[0].fn, args[1].fn
    name = op.name

    def items_of(data: Any) -> Sequence[Any]:
        items = source(data)
        return items if is_array(items) else ()

    if name == "map":
        return _Compiled(lambda data: [each(item) for item in items_of(data)])
    if name == "filter":
        return _Compiled(lambda data: [item for item in items_of(data) if truthy(each(item))])
    if name == "all":

        def all_items(data: Any) -> bool:
            items = items_of(data)
            return bool(items) and all(truthy(each(item)) for item in items)

        return _Compiled(all_items)
    if name == "some":
        return _Compiled(lambda data: any(truthy(each(item)) for item in items_of(data)))
    if name == "none":
        return _Compiled(lambda data: not any(truthy(each(item)) for item in items_of(data)))
    initial = args[2].fn if len(args) > 2 else lambda _data: None

    def reduce_items(data: Any) -> Any:
        items = source(data)
        accumulator = initial(data)
        if not is_array(items):
            return accumulator
        for item in items:
            accumulator = each({"current": item, "accumulator": accumulator})
        return accumulator

    return _Compiled(reduce_items)


_BUILDERS: Final[dict[str, Callable[[Operator, list[_Compiled]], _Compiled]]] = {
    "var": _build_var,
    "in": _build_in,
    "and": _build_and,
    "or": _build_or,
    "if": _build_if,
    "?:": _build_if,
    **dict.fromkeys(("map", "filter", "reduce", "all", "none", "some"), _build_iteration),
}


def is_empty_rule(rule: Any) -> bool:
    """Whether ``rule`` is the empty rule (``None`` or ``{}``), which always matches."""
    return rule is None or (isinstance(rule, dict) and not rule)


class CompiledRule:
    """A validated rule, compiled to closures: cheap to evaluate many times.

    Obtain one with :func:`compile_rule` (which caches them), keep it, and call
    :meth:`evaluate` per event. It is immutable, thread-safe, and pickles as its rule.
    """

    __slots__ = ("_rule", "_run", "always_matches", "key")

    def __init__(self, rule: Any, key: str) -> None:
        """Validate and compile ``rule`` (plain JSON); prefer :func:`compile_rule`."""
        self._rule = rule
        self.key = key
        self.always_matches = is_empty_rule(rule)
        if isinstance(rule, dict) and not rule:
            self._run: Evaluator = lambda _data: True
        else:
            self._run = compile_node(rule).fn

    @property
    def rule(self) -> Any:
        """The rule as canonical JSON (a fresh copy each time)."""
        return json.loads(self.key)

    def apply(self, data: Any = None) -> Any:
        """The rule's JSONLogic value for ``data`` (any JSON value, usually a dict)."""
        return self._run(data)

    def evaluate(self, data: Any = None) -> bool:
        """Whether the rule matches ``data``: the truthiness of :meth:`apply`.

        The empty rule (``None`` or ``{}``) always matches.
        """
        return self.always_matches or truthy(self._run(data))

    def explain(self, data: Any = None) -> ExplainNode:
        """The tree of every operator's value for ``data``; see :func:`explain_rule`."""
        return explain_rule(self._rule, data, always_matches=self.always_matches)

    def __reduce__(self) -> tuple[Callable[[Any], CompiledRule], tuple[Any]]:
        return (compile_rule, (self._rule,))

    def __repr__(self) -> str:
        text = self.key if len(self.key) <= 60 else self.key[:59] + "…"
        return f"<CompiledRule {text}>"


def compile_rule(rule: Any) -> CompiledRule:
    """Validate and compile ``rule``, returning a cached :class:`CompiledRule`.

    ``rule`` is JSONLogic (or a jsonlogic-py expression, or an already compiled rule).
    Rules with the same canonical JSON share one compiled object, kept in a bounded LRU
    cache of :data:`CACHE_SIZE` entries.

    Raises :class:`RuleError` naming the path of the first malformed node.

    >>> rule = compile_rule({">": [{"var": "amount"}, 1000]})
    >>> rule.evaluate({"amount": 1500}), rule is compile_rule({">": [{"var": "amount"}, 1000]})
    (True, True)
    """
    if isinstance(rule, CompiledRule):
        return rule
    return _compile_canonical(canonical_json(rule))


@functools.lru_cache(maxsize=CACHE_SIZE)
def _compile_canonical(key: str) -> CompiledRule:
    return CompiledRule(json.loads(key), key)


def clear_cache() -> None:
    """Forget every cached compiled rule (for tests and long-lived processes)."""
    _compile_canonical.cache_clear()
