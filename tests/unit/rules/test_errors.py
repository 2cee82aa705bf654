"""RuleError: a malformed rule is refused when compiled, naming the bad node's path."""

import datetime
import math
from decimal import Decimal

import pytest

from automate.exceptions import AutomateError
from automate.rules import RuleError, apply, compile_rule, evaluate, explain


def rule_error(rule):
    with pytest.raises(RuleError) as caught:
        compile_rule(rule)
    return caught.value


@pytest.mark.parametrize(
    ("rule", "path", "says"),
    [
        ({"frobnicate": [1]}, "", 'unknown operator "frobnicate"'),
        ({"and": [True, {"or": [False, {"nope": 1}]}]}, "/and/1/or/1", 'unknown operator "nope"'),
        ({"not": [True]}, "", 'unknown operator "not"'),
        ({"map": [[1], {"bogus": []}]}, "/map/1", 'unknown operator "bogus"'),
        ({"in": ["a", [1, {"x": 1}]]}, "/in/1/1", 'unknown operator "x"'),
    ],
)
def test_unknown_operators(rule, path, says):
    error = rule_error(rule)
    assert error.path == path
    assert says in error.message


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        ({"==": [1, 1], "!=": [1, 2]}, ""),
        ({"and": [{"var": "a", "missing": []}]}, "/and/0"),
        ({"or": [True, {}]}, "/or/1"),
    ],
)
def test_operator_objects_need_exactly_one_key(rule, path):
    error = rule_error(rule)
    assert error.path == path
    assert "exactly one key" in error.message


@pytest.mark.parametrize(
    ("rule", "path", "says"),
    [
        ({"==": [1]}, "", '"==" takes exactly 2 arguments, got 1'),
        ({"and": [{">": [1, 2, 3]}]}, "/and/0", '">" takes exactly 2 arguments, got 3'),
        ({"!": []}, "", '"!" takes exactly 1 argument, got 0'),
        ({"and": []}, "", '"and" takes at least 1 argument, got 0'),
        ({"var": ["a", 1, 2]}, "", '"var" takes 0 to 2 arguments, got 3'),
        ({"<": [1, 2, 3, 4]}, "", '"<" takes 2 to 3 arguments, got 4'),
        ({"some": [{"var": "x"}]}, "", '"some" takes exactly 2 arguments, got 1'),
        ({"?:": [True, 1]}, "", '"?:" takes exactly 3 arguments, got 2'),
        ({"substr": "abc"}, "", '"substr" takes 2 to 3 arguments, got 1'),
    ],
)
def test_wrong_arity(rule, path, says):
    error = rule_error(rule)
    assert error.path == path
    assert says in error.message


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        ({"==": [{"var": "when"}, datetime.date(2024, 1, 1)]}, "/==/1"),
        ({"in": ["a", {"a", "b"}]}, "/in/1"),
        ({">": [{"var": "x"}, Decimal("1.5")]}, "/>/1"),
        ({"and": [True, {"==": [1, math.nan]}]}, "/and/1/==/1"),
        ({"==": [1, math.inf]}, "/==/1"),
        ({"in": ["a", ["b", b"bytes"]]}, "/in/1/1"),
        ({"and": [{1: 2}]}, "/and/0"),
        (object(), ""),
    ],
)
def test_values_that_are_not_json(rule, path):
    assert rule_error(rule).path == path


def test_deeply_nested_rules_are_refused():
    rule = True
    for _ in range(100):
        rule = {"!": [rule]}
    assert "nested deeper" in rule_error(rule).message


def test_rule_error_is_an_automate_error_with_the_api_shape():
    error = rule_error({"and": [{"nope": 1}]})
    assert isinstance(error, AutomateError)
    assert error.code == "invalid_rule"
    assert error.as_dict() == {
        "code": "invalid_rule",
        "message": 'unknown operator "nope" (at /and/0)',
        "details": {"path": "/and/0"},
    }


def test_every_entry_point_validates_before_touching_the_data():
    bad = {"and": [{"var": "x"}, {"nope": 1}]}
    for entry_point in (apply, evaluate, explain):
        with pytest.raises(RuleError):
            entry_point(bad, {"x": False})  # x is falsy: evaluation would never reach "nope"


@pytest.mark.parametrize(
    "rule",
    [
        17,
        "text",
        None,
        [1, 2],
        [1, {"var": "x"}],
        {"var": ""},
        {"var": None},
        {"var": []},
        {"var": ["a", 1]},
        {"var": [{"?:": [True, "a", "b"]}]},
        {"if": []},
        {"merge": []},
        {"missing": {"merge": ["a", {"if": [True, ["b"], []]}]}},
        ("tuples", "are", "arrays"),
    ],
)
def test_unusual_but_valid_rules_compile(rule):
    compile_rule(rule)


def test_rule_error_survives_pickling_between_worker_processes():
    import pickle

    error = pickle.loads(pickle.dumps(rule_error({"or": [{"nope": 1}]})))
    assert error.path == "/or/0"
    assert error.as_dict()["message"] == 'unknown operator "nope" (at /or/0)'
