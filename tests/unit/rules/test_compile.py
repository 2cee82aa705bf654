"""compile_rule(): validated once, cached, shareable; jsonlogic-py expressions accepted."""

import pickle

import pytest
from jsonlogic import Variable

from automate.rules import (
    CompiledRule,
    RuleError,
    apply,
    compile_rule,
    evaluate,
    explain,
    to_jsonlogic,
)
from automate.rules.compiler import CACHE_SIZE, clear_cache

BIG_USD = {"and": [{">": [{"var": "amount"}, 1000]}, {"==": [{"var": "currency"}, "usd"]}]}


def test_the_same_rule_compiles_to_the_same_object():
    first = compile_rule(BIG_USD)
    assert (
        compile_rule(
            {"and": [{">": [{"var": "amount"}, 1000]}, {"==": [{"var": "currency"}, "usd"]}]}
        )
        is first
    )
    assert compile_rule(first) is first
    assert compile_rule({"and": [{">": [{"var": "amount"}, 1001]}, True]}) is not first


def test_the_cache_is_keyed_by_canonical_json_not_key_order():
    a = compile_rule({"if": [{"var": "x"}, {"cat": ["a", "b"]}, None]})
    b = compile_rule({"if": [{"var": "x"}, {"cat": ["a", "b"]}, None]})
    assert a is b
    assert a.key == '{"if":[{"var":"x"},{"cat":["a","b"]},null]}'


def test_the_cache_is_bounded():
    clear_cache()
    first = compile_rule({"==": [{"var": "n"}, -1]})
    for n in range(CACHE_SIZE):
        compile_rule({"==": [{"var": "n"}, n]})
    assert compile_rule({"==": [{"var": "n"}, -1]}) is not first


def test_a_compiled_rule_does_not_see_later_changes_to_the_source():
    source = {"in": [{"var": "currency"}, ["usd"]]}
    rule = compile_rule(source)
    source["in"][1].append("eur")
    assert rule.evaluate({"currency": "eur"}) is False
    assert rule.rule == {"in": [{"var": "currency"}, ["usd"]]}


def test_compiled_rule_methods():
    rule = compile_rule(BIG_USD)
    assert isinstance(rule, CompiledRule)
    assert rule.apply({"amount": 5000, "currency": "usd"}) is True
    assert rule.evaluate({"amount": 5000, "currency": "eur"}) is False
    assert rule.explain({"amount": 5000, "currency": "eur"})["children"][1]["passed"] is False
    assert "CompiledRule" in repr(rule)


def test_a_compiled_rule_pickles_as_its_rule():
    rule = compile_rule(BIG_USD)
    restored = pickle.loads(pickle.dumps(rule))
    assert restored is rule  # unpickling recompiles through the cache
    assert restored.evaluate({"amount": 5000, "currency": "usd"}) is True


def test_constant_subexpressions_give_the_same_answers():
    # {"+": [1, 2]} is folded at compile time; the result must not change.
    assert apply({"==": [{"var": "n"}, {"+": [1, 2]}]}, {"n": "3"}) is True
    assert apply({"in": [{"var": "x"}, {"merge": [["a"], "b"]}]}, {"x": "b"}) is True


@pytest.mark.parametrize("empty", [None, {}])
def test_the_empty_rule_always_matches(empty):
    assert evaluate(empty, {"type": "invoice.paid"}) is True
    assert evaluate(empty, None) is True
    assert compile_rule(empty).always_matches is True


def test_apply_of_null_stays_null_for_jsonlogic_compatibility():
    assert apply(None, {}) is None
    assert apply({}, {}) is True


def test_jsonlogic_py_expressions_are_accepted_everywhere():
    expression = (Variable("amount") > 1000) & (Variable("currency") == "usd")
    assert to_jsonlogic(expression) == BIG_USD
    assert compile_rule(expression) is compile_rule(BIG_USD)
    assert evaluate(expression, {"amount": 1500, "currency": "usd"}) is True
    assert apply(expression, {"amount": 15, "currency": "usd"}) is False
    assert explain(expression, {"amount": 1500, "currency": "usd"})["op"] == "and"


def test_jsonlogic_py_not_becomes_the_bang_operator():
    expression = ~(Variable("status") == "void")
    assert to_jsonlogic(expression) == {"!": [{"==": [{"var": "status"}, "void"]}]}
    assert evaluate(expression, {"status": "paid"}) is True
    with pytest.raises(RuleError, match='unknown operator "not"'):
        compile_rule({"not": [True]})


def test_jsonlogic_py_contains_and_nested_expressions():
    expression = Variable("tags").contains("urgent") | (Variable("total") + 5 >= 100)
    assert to_jsonlogic(expression) == {
        "or": [{"in": ["urgent", {"var": "tags"}]}, {">=": [{"+": [{"var": "total"}, 5]}, 100]}]
    }
    mixed = {"and": [Variable("paid"), {"var": "shipped"}]}
    assert to_jsonlogic(mixed) == {"and": [{"var": "paid"}, {"var": "shipped"}]}
    assert evaluate(mixed, {"paid": True, "shipped": 1}) is True


def test_jsonlogic_py_operators_that_jsonlogic_lacks_are_refused():
    with pytest.raises(RuleError, match='unknown operator "//"'):
        compile_rule(Variable("a") // 2 > 1)


def test_to_jsonlogic_returns_a_fresh_json_copy():
    source = {"in": [{"var": "x"}, ("a", "b")]}
    converted = to_jsonlogic(source)
    assert converted == {"in": [{"var": "x"}, ["a", "b"]]}
    converted["in"][1].append("c")
    assert source["in"][1] == ("a", "b")
