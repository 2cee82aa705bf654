"""Turning what callers pass as a rule into plain JSONLogic.

A rule may be JSON (dicts, lists, str, numbers, bools, None; tuples count as lists) or a
jsonlogic-py expression such as ``Variable("amount") > 1000``, also nested inside JSON.
jsonlogic-py writes ``~expr`` as ``{"not": …}``, which is not JSONLogic; it becomes
``{"!": …}`` here. Its other non-JSONLogic operators (``//``, ``**``, ``regex``, …) pass
through unchanged and are rejected by the compiler as unknown operators.
"""

from __future__ import annotations

import json
import math
from typing import Any

from jsonlogic import Expression, Literal, Operand

from automate.rules.exceptions import RuleError

# jsonlogic-py has no public "to dict" API: str() gives JSON, except for a Literal (whose
# str() is "[Number]5") and for ~expr (which we must rewrite). So expressions are walked
# through Expression.op/o1/on, and a Literal gives its raw value (None stays None, where
# its own JSON would turn it into the string "None").
_NOT_JSONLOGIC = {"not": "!"}


def child_path(path: str, op: str, index: int) -> str:
    """The path of argument ``index`` of operator ``op`` at ``path`` (JSON Pointer style)."""
    return f"{path}/{op.replace('~', '~0').replace('/', '~1')}/{index}"


def _operand_to_json(operand: Operand) -> Any:
    if isinstance(operand, Expression):
        name = str(operand.op)
        if name == "contains":  # a.contains(b) is JSONLogic's {"in": [b, a]}
            return {"in": [operand.on[0], operand.o1]}
        return {_NOT_JSONLOGIC.get(name, name): [operand.o1, *operand.on]}
    if isinstance(operand, Literal):
        return operand._rawval
    return json.loads(str(operand))  # a Variable: its str() is its JSON


def to_jsonlogic(rule: Any) -> Any:
    """Return ``rule`` as a fresh JSON value, converting jsonlogic-py expressions.

    Only checks that the result is JSON (raising :class:`RuleError` with the path of a
    value that is not: a set, a datetime, NaN, a non-string key…); operators are checked
    by :func:`automate.rules.compile_rule`.

    >>> from jsonlogic import Variable
    >>> to_jsonlogic((Variable("amount") > 1000) & ~(Variable("currency") == "usd"))
    {'and': [{'>': [{'var': 'amount'}, 1000]}, {'!': [{'==': [{'var': 'currency'}, 'usd']}]}]}
    """
    return _to_json(rule, "")


def _to_json(value: Any, path: str) -> Any:
    while isinstance(value, Operand):
        value = _operand_to_json(value)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RuleError(f"{value!r} is not a JSON number", path=path)
        return value
    if isinstance(value, list | tuple):
        return [_to_json(item, f"{path}/{index}") for index, item in enumerate(value)]
    if isinstance(value, dict):
        converted = {}
        for key, args in value.items():
            if not isinstance(key, str):
                raise RuleError(f"object key {key!r} is not a string", path=path)
            if isinstance(args, list | tuple):
                converted[key] = [
                    _to_json(arg, child_path(path, key, index)) for index, arg in enumerate(args)
                ]
            else:
                converted[key] = _to_json(args, child_path(path, key, 0))
        return converted
    raise RuleError(f"{type(value).__name__} value {value!r} is not JSON", path=path)


def _dump_operand(value: Any) -> Any:
    if isinstance(value, Operand):
        return _operand_to_json(value)
    raise TypeError(type(value).__name__)


def canonical_json(rule: Any) -> str:
    """The rule as compact JSON with sorted keys: equal rules give equal text."""
    try:
        return json.dumps(
            rule,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
            default=_dump_operand,
        )
    except (TypeError, ValueError):
        # Walk the rule to name the offending value; json only says what went wrong.
        canonical = to_jsonlogic(rule)
        return json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
