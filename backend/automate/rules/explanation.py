"""Explain a rule: the value every operator node took for one piece of data.

Unlike evaluation, explaining never short-circuits: the second arm of an ``and`` whose
first arm failed is still evaluated and reported (marked ``skipped``), so the studio can
show every condition's outcome. Each node's ``value`` is still what evaluation gives, so
the root's value is always ``apply(rule, data)``.

A node is a JSON object::

    {"op": ">", "path": "/and/0", "label": "amount > 1000", "value": true,
     "passed": true, "skipped": false, "children": [...]}

Operators whose second argument runs once per item (``map``, ``filter``, ``reduce``,
``all``, ``none``, ``some``) report that argument once per item, each node carrying an
``item`` index. Literal arguments are not nodes; they show in the parent's ``label``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from numbers import Real
from typing import Any, Final

from automate.rules.convert import child_path
from automate.rules.labels import label
from automate.rules.operators import ITERATING, OPERATORS
from automate.rules.semantics import is_array, truthy

ExplainNode = dict[str, Any]

_NON_FINITE: Final = {math.inf: "Infinity", -math.inf: "-Infinity"}


def explain_rule(rule: Any, data: Any, *, always_matches: bool = False) -> ExplainNode:
    """The explanation tree of an already validated JSON ``rule`` for ``data``.

    The root has path ``""``. A rule that is not an operator gets a root of op
    ``"literal"`` (or ``"array"``, whose children are the operators inside it); the
    empty rule gets a root of op ``"always"`` that passed.
    """
    if always_matches:
        return _node("always", "", "always matches (empty rule)", True, [], skipped=False)
    value, nodes = _walk(rule, data, "", skipped=False)
    if isinstance(rule, dict):
        return nodes[0]
    op = "array" if is_array(rule) else "literal"
    return _node(op, "", label(rule), value, nodes, skipped=False)


def to_json_value(value: Any) -> Any:
    """``value`` made JSON-safe for a node: NaN and ±Infinity become the strings
    ``"NaN"``/``"Infinity"``/``"-Infinity"``, other non-JSON values their ``str()``."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return _NON_FINITE.get(value, value)
    if isinstance(value, list | tuple):
        return [to_json_value(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): to_json_value(item) for key, item in value.items()}
    if isinstance(value, Real | Decimal):
        return to_json_value(float(value))
    return str(value)


def _node(
    op: str, path: str, text: str, value: Any, children: list[ExplainNode], *, skipped: bool
) -> ExplainNode:
    return {
        "op": op,
        "path": path,
        "label": text,
        "value": to_json_value(value),
        "passed": truthy(value),
        "skipped": skipped,
        "children": children,
    }


def _walk(rule: Any, data: Any, path: str, *, skipped: bool) -> tuple[Any, list[ExplainNode]]:
    """Evaluate ``rule`` fully; return its value and the operator nodes it contributes."""
    if is_array(rule):
        values, nodes = [], []
        for index, item in enumerate(rule):
            value, found = _walk(item, data, f"{path}/{index}", skipped=skipped)
            values.append(value)
            nodes.extend(found)
        return values, nodes
    if not isinstance(rule, dict):
        return rule, []
    ((name, raw_args),) = rule.items()
    args = list(raw_args) if is_array(raw_args) else [raw_args]
    paths = [child_path(path, name, index) for index in range(len(args))]
    if name in ITERATING:
        value, children = _walk_iteration(name, args, paths, data, skipped=skipped)
    elif name in ("and", "or"):
        value, children = _walk_and_or(name, args, paths, data, skipped=skipped)
    elif name in ("if", "?:"):
        value, children = _walk_if(args, paths, data, skipped=skipped)
    else:
        values, children = [], []
        for arg, arg_path in zip(args, paths, strict=True):
            arg_value, found = _walk(arg, data, arg_path, skipped=skipped)
            values.append(arg_value)
            children.extend(found)
        op = OPERATORS[name]
        assert op.function is not None
        value = op.function(data, *values) if op.uses_data else op.function(*values)
    return value, [_node(name, path, label(rule), value, children, skipped=skipped)]


def _walk_and_or(
    name: str, args: list[Any], paths: list[str], data: Any, *, skipped: bool
) -> tuple[Any, list[ExplainNode]]:
    stop_when = name == "or"  # "and" stops at the first falsy value, "or" at the first truthy
    children: list[ExplainNode] = []
    value: Any = None
    decided = False
    for arg, arg_path in zip(args, paths, strict=True):
        arm_value, found = _walk(arg, data, arg_path, skipped=skipped or decided)
        children.extend(found)
        if not decided:
            value = arm_value
            decided = truthy(arm_value) is stop_when
    return value, children


def _walk_if(
    args: list[Any], paths: list[str], data: Any, *, skipped: bool
) -> tuple[Any, list[ExplainNode]]:
    children: list[ExplainNode] = []
    value: Any = None
    decided = False
    for index in range(0, len(args) - 1, 2):
        test, found = _walk(args[index], data, paths[index], skipped=skipped or decided)
        children.extend(found)
        taken = not decided and truthy(test)
        then, found = _walk(args[index + 1], data, paths[index + 1], skipped=skipped or not taken)
        children.extend(found)
        if taken:
            value, decided = then, True
    if len(args) % 2:
        otherwise, found = _walk(args[-1], data, paths[-1], skipped=skipped or decided)
        children.extend(found)
        if not decided:
            value = otherwise
    return value, children


def _walk_iteration(
    name: str, args: list[Any], paths: list[str], data: Any, *, skipped: bool
) -> tuple[Any, list[ExplainNode]]:
    source, children = _walk(args[0], data, paths[0], skipped=skipped)
    items = list(source) if is_array(source) else []
    accumulator: Any = None
    initial_nodes: list[ExplainNode] = []
    if name == "reduce" and len(args) > 2:
        accumulator, initial_nodes = _walk(args[2], data, paths[2], skipped=skipped)
    results = []
    stopped = False
    for index, item in enumerate(items):
        scope = {"current": item, "accumulator": accumulator} if name == "reduce" else item
        result, found = _walk(args[1], scope, paths[1], skipped=skipped or stopped)
        for node in found:
            node["item"] = index
        children.extend(found)
        results.append(result)
        accumulator = result
        # Evaluation stops at the first item that decides the answer.
        if (name == "all" and not truthy(result)) or (name in ("some", "none") and truthy(result)):
            stopped = True
    children.extend(initial_nodes)
    passed = [truthy(result) for result in results]
    if name == "map":
        return results, children
    if name == "filter":
        return [item for item, ok in zip(items, passed, strict=True) if ok], children
    if name == "reduce":
        return accumulator, children
    if name == "all":
        return bool(items) and all(passed), children
    if name == "some":
        return any(passed), children
    return not any(passed), children
