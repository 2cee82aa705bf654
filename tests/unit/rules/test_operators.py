"""Operators and their JavaScript semantics, as a rule author sees them through apply()."""

import math

import pytest

from automate.rules import apply, evaluate

INVOICE = {
    "amount": 1500,
    "currency": "usd",
    "customer": {"name": "Ada", "tier": None, "email": ""},
    "lines": [{"sku": "A", "qty": 2, "price": 10.5}, {"sku": "B", "qty": 1, "price": 99}],
}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"var": "amount"}, 1500),
        ({"var": "customer.name"}, "Ada"),
        ({"var": "lines.1.sku"}, "B"),
        ({"var": "lines.length"}, 2),
        ({"var": "customer.tier"}, None),
        ({"var": ["customer.tier", "gold"]}, None),  # present but null: not the default
        ({"var": ["customer.phone", "n/a"]}, "n/a"),
        ({"var": "customer.name.first"}, None),
        (
            {"missing": ["amount", "customer.email", "customer.tier", "due"]},
            ["customer.email", "customer.tier", "due"],
        ),
        ({"missing_some": [1, ["due", "amount"]]}, []),
        ({"missing_some": [2, ["due", "amount"]]}, ["due"]),
    ],
)
def test_reading_the_data(rule, expected):
    assert apply(rule, INVOICE) == expected


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"==": [1, "1"]}, True),
        ({"==": [0, ""]}, True),
        ({"==": [None, 0]}, False),
        ({"==": [None, None]}, True),
        ({"==": [True, 1]}, True),
        ({"==": [True, "1"]}, True),
        ({"==": [[1], 1]}, True),
        ({"==": [[1], [1]]}, False),  # arrays compare by identity, as in JavaScript
        ({"===": [1, 1.0]}, True),
        ({"===": [True, 1]}, False),
        ({"!==": ["1", 1]}, True),
        ({"!=": ["abc", "abc"]}, False),
        ({">": ["10", 9]}, True),
        ({">": ["10", "9"]}, False),  # two strings compare as text
        ({"<": [None, 1]}, True),  # null is 0
        ({"<": ["abc", 1]}, False),  # NaN compares false
        ({">=": ["abc", 1]}, False),
        ({"<": [1, 2, 3]}, True),
        ({"<": [1, 3, 3]}, False),
        ({"<=": [1, 3, 3]}, True),
    ],
)
def test_comparisons_follow_javascript(rule, expected):
    assert apply(rule, {}) is expected


@pytest.mark.parametrize(
    ("value", "passes"),
    [
        ([], False),
        ([0], True),
        ("", False),
        ("0", True),
        (0, False),
        (0.0, False),
        (math.nan, False),
        (-1, True),
        ({}, True),
        (None, False),
    ],
)
def test_truthiness_is_jsonlogic_truthiness(value, passes):
    assert apply({"!!": [{"var": "x"}]}, {"x": value}) is passes
    assert apply({"!": [{"var": "x"}]}, {"x": value}) is (not passes)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"+": ["1", 2.5]}, 3.5),
        ({"+": "3"}, 3),
        ({"+": ["12px", 1]}, 13),  # parseFloat, as json-logic-js
        ({"-": ["10", 4]}, 6),
        ({"-": [5]}, -5),
        ({"*": [2, "3"]}, 6),
        ({"/": [1, 4]}, 0.25),
        ({"%": [-7, 3]}, -1),  # the sign of the dividend
        ({"%": [7.5, 2]}, 1.5),
        ({"max": [1, "5", 3]}, 5),
        ({"min": [4, -2.5]}, -2.5),
    ],
)
def test_arithmetic_coerces_like_javascript(rule, expected):
    assert apply(rule, {}) == expected


def test_arithmetic_that_javascript_cannot_do_gives_nan_or_infinity():
    assert math.isnan(apply({"+": ["abc", 1]}, {}))
    assert math.isnan(apply({"max": [1, "x"]}, {}))
    assert apply({"/": [1, 0]}, {}) == math.inf
    assert apply({"/": [-1, 0]}, {}) == -math.inf
    assert math.isnan(apply({"/": [0, 0]}, {}))
    assert math.isnan(apply({"%": [1, 0]}, {}))


def test_logic_returns_the_deciding_value_and_short_circuits():
    assert apply({"and": [1, "x", 0, {"var": "never"}]}, {}) == 0
    assert apply({"or": [0, "", "first", "second"]}, {}) == "first"
    assert apply({"or": [0, []]}, {}) == []
    # The second arm would divide by a missing value; it must not matter.
    assert apply({"or": [True, {"/": [1, {"var": "missing"}]}]}, {}) is True


def test_if_chains_pick_the_first_truthy_branch():
    rule = {"if": [{">": [{"var": "n"}, 100]}, "big", {">": [{"var": "n"}, 10]}, "medium", "small"]}
    assert [apply(rule, {"n": n}) for n in (500, 50, 5)] == ["big", "medium", "small"]
    assert apply({"?:": [{"var": "vip"}, "fast", "normal"]}, {"vip": []}) == "normal"


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"cat": ["Order #", 42, " for ", {"var": "customer.name"}]}, "Order #42 for Ada"),
        ({"cat": [1.5, True, None, [1, 2]]}, "1.5true1,2"),
        ({"cat": [1e21, 1e-7, 2.0]}, "1e+211e-72"),
        ({"substr": ["invoice-2024", -4]}, "2024"),
        ({"substr": ["invoice-2024", 0, 7]}, "invoice"),
        ({"substr": ["invoice-2024", 8, -2]}, "20"),
        ({"in": ["voice", "invoice"]}, True),
        ({"in": ["usd", ["usd", "eur"]]}, True),
        ({"in": [1, ["1", 2]]}, False),  # membership is strict
        ({"in": [1, [1.0]]}, True),
        ({"in": ["x", None]}, False),
        ({"merge": [[1], 2, [[3]]]}, [1, 2, [3]]),
    ],
)
def test_string_and_array_operators(rule, expected):
    assert apply(rule, INVOICE) == expected


def test_membership_in_a_list_that_depends_on_the_data():
    rule = {"in": [{"var": "currency"}, [{"var": "home"}, "eur"]]}
    assert apply(rule, {"currency": "gbp", "home": "gbp"}) is True
    assert apply(rule, {"currency": True, "home": 1}) is False


def test_array_operators_iterate_over_line_items():
    lines = {"var": "lines"}
    assert apply({"map": [lines, {"*": [{"var": "qty"}, {"var": "price"}]}]}, INVOICE) == [21, 99]
    assert apply({"filter": [lines, {">": [{"var": "price"}, 50]}]}, INVOICE) == [
        INVOICE["lines"][1]
    ]
    total = {"reduce": [lines, {"+": [{"var": "accumulator"}, {"var": "current.qty"}]}, 0]}
    assert apply(total, INVOICE) == 3
    assert apply({"all": [lines, {">": [{"var": "qty"}, 0]}]}, INVOICE) is True
    assert apply({"some": [lines, {"==": [{"var": "sku"}, "B"]}]}, INVOICE) is True
    assert apply({"none": [lines, {"==": [{"var": "sku"}, "C"]}]}, INVOICE) is True


def test_array_operators_on_something_that_is_not_an_array():
    assert apply({"map": [{"var": "nope"}, 1]}, INVOICE) == []
    assert apply({"all": [{"var": "lines"}, True]}, {"lines": []}) is False
    assert apply({"none": [{"var": "amount"}, True]}, INVOICE) is True
    assert apply({"reduce": [{"var": "amount"}, 1, "start"]}, INVOICE) == "start"


def test_log_returns_its_argument_and_logs_it(caplog):
    caplog.set_level("DEBUG", logger="automate.rules")
    assert apply({"log": [{"var": "amount"}]}, INVOICE) == 1500
    assert "1500" in caplog.text


def test_literals_and_arrays_with_logic():
    assert apply("plain", {}) == "plain"
    assert apply([1, {"var": "amount"}], INVOICE) == [1, 1500]


def test_results_are_fresh_objects_each_time():
    first = apply(["a", ["b"]], {})
    first[1].append("mutated")
    assert apply(["a", ["b"]], {}) == ["a", ["b"]]


def test_data_may_be_python_tuples():
    assert apply({"in": ["b", {"var": "tags"}]}, {"tags": ("a", "b")}) is True
    assert apply({"var": "tags.1"}, {"tags": ("a", "b")}) == "b"


def test_evaluate_is_truthiness():
    assert evaluate({"var": "lines"}, INVOICE) is True
    assert evaluate({"var": "nope"}, INVOICE) is False
    assert evaluate({"missing": ["amount"]}, INVOICE) is False  # [] is falsy


def test_numbers_beyond_float_range_become_infinity_instead_of_crashing():
    huge = 10**400
    assert apply({"+": [{"var": "x"}, 1.5]}, {"x": huge}) == math.inf
    assert apply({"max": [{"var": "x"}, 1]}, {"x": -huge}) == 1
    assert apply({"<": [{"var": "x"}, 1e308]}, {"x": huge}) is False


def test_substr_with_negative_length_as_text_is_empty_like_javascript():
    # json-logic-js computes `length + "-1"`, a string concatenation: nothing is kept.
    assert apply({"substr": ["abcdef", 1, "-1"]}, {}) == ""
    assert apply({"substr": ["abcdef", 1, -1]}, {}) == "bcde"
