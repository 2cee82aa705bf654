"""explain(): the tree the studio colours, with every condition reported."""

import json

from automate.rules import apply, explain

RULE = {
    "and": [
        {">": [{"var": "amount"}, 1000]},
        {"or": [{"in": [{"var": "currency"}, ["usd", "eur"]]}, {"missing": ["vat_id"]}]},
    ]
}


def by_path(node, found=None):
    found = {} if found is None else found
    found.setdefault(node["path"], []).append(node)
    for child in node["children"]:
        by_path(child, found)
    return found


def test_every_operator_node_is_reported_with_its_path():
    tree = explain(RULE, {"amount": 1500, "currency": "usd"})
    assert sorted(by_path(tree)) == [
        "",
        "/and/0",
        "/and/0/>/0",
        "/and/1",
        "/and/1/or/0",
        "/and/1/or/0/in/0",
        "/and/1/or/1",
    ]
    node = by_path(tree)["/and/0"][0]
    assert node == {
        "op": ">",
        "path": "/and/0",
        "label": "amount > 1000",
        "value": True,
        "passed": True,
        "skipped": False,
        "children": [
            {
                "op": "var",
                "path": "/and/0/>/0",
                "label": "amount",
                "value": 1500,
                "passed": True,
                "skipped": False,
                "children": [],
            }
        ],
    }


def test_arms_that_evaluation_skips_are_still_evaluated_and_marked():
    tree = explain(RULE, {"amount": 10, "currency": "gbp"})
    nodes = {path: found[0] for path, found in by_path(tree).items()}
    assert tree["value"] is False
    assert tree["passed"] is False
    assert nodes["/and/0"]["passed"] is False
    assert nodes["/and/0"]["skipped"] is False
    # The or-arm never ran in evaluation, but the studio still sees why it would fail.
    assert nodes["/and/1"]["skipped"] is True
    assert nodes["/and/1/or/0"]["value"] is False
    assert nodes["/and/1/or/0/in/0"]["value"] == "gbp"
    assert nodes["/and/1/or/1"]["value"] == ["vat_id"]
    assert nodes["/and/1/or/1"]["skipped"] is True


def test_the_root_value_is_what_apply_returns():
    data = {"amount": 1500, "currency": "gbp", "vat_id": "x"}
    rule = {"or": [{"var": "nope"}, {"cat": ["a", {"var": "amount"}]}, {"var": "currency"}]}
    assert explain(rule, data)["value"] == apply(rule, data) == "a1500"
    assert explain(RULE, data)["value"] == apply(RULE, data) == []


def test_if_marks_the_branches_not_taken():
    rule = {"if": [{"var": "vip"}, {"cat": ["fast"]}, {"cat": ["slow"]}]}
    tree = explain(rule, {"vip": True})
    skipped = {node["label"]: node["skipped"] for node in tree["children"]}
    assert skipped == {"vip": False, 'cat("fast")': False, 'cat("slow")': True}
    assert tree["value"] == "fast"


def test_per_item_logic_is_reported_once_per_item():
    rule = {"all": [{"var": "lines"}, {">": [{"var": "qty"}, 0]}]}
    tree = explain(rule, {"lines": [{"qty": 1}, {"qty": 0}, {"qty": 3}]})
    assert tree["value"] is False
    source, *items = tree["children"]
    assert source["path"] == "/all/0"
    assert source["op"] == "var"
    assert [(n["path"], n["item"], n["passed"], n["skipped"]) for n in items] == [
        ("/all/1", 0, True, False),
        ("/all/1", 1, False, False),
        ("/all/1", 2, True, True),  # all() stops at the first failing item
    ]


def test_reduce_reports_items_then_initial_value():
    rule = {
        "reduce": [
            {"var": "n"},
            {"+": [{"var": "current"}, {"var": "accumulator"}]},
            {"var": "start"},
        ]
    }
    tree = explain(rule, {"n": [1, 2], "start": 10})
    assert tree["value"] == 13
    assert [(n["path"], n.get("item"), n["value"]) for n in tree["children"]] == [
        ("/reduce/0", None, [1, 2]),
        ("/reduce/1", 0, 11),
        ("/reduce/1", 1, 13),
        ("/reduce/2", None, 10),
    ]


def test_literal_and_array_roots():
    assert explain(True, {}) == {
        "op": "literal",
        "path": "",
        "label": "true",
        "value": True,
        "passed": True,
        "skipped": False,
        "children": [],
    }
    tree = explain([1, {"var": "x"}], {"x": 2})
    assert tree["op"] == "array"
    assert tree["value"] == [1, 2]
    assert [child["path"] for child in tree["children"]] == ["/1"]


def test_empty_rule_explains_as_always_matching():
    for empty in (None, {}):
        tree = explain(empty, {"anything": 1})
        assert tree["op"] == "always"
        assert tree["passed"] is True
        assert tree["children"] == []


def test_operator_names_are_escaped_in_paths():
    tree = explain({"/": [{"var": "a"}, 2]}, {"a": 4})
    assert tree["children"][0]["path"] == "/~1/0"


def test_the_tree_is_json_even_for_nan_infinity_and_python_objects():
    import datetime

    data = {"a": "x", "when": datetime.date(2024, 1, 2)}
    tree = explain({"and": [{"+": [{"var": "a"}, 1]}, {"/": [1, 0]}, {"var": "when"}]}, data)
    values = [child["value"] for child in tree["children"]]
    assert values == ["NaN", "Infinity", "2024-01-02"]
    json.dumps(tree, allow_nan=False)


def test_labels_read_like_the_rule():
    rule = {
        "or": [
            {"<=": [100, {"var": ["total", 0]}, 500]},
            {"!": {"some": [{"var": "lines"}, {"==": [{"var": "sku"}, "X"]}]}},
            {"?:": [{"var": "a"}, 1, 2]},
        ]
    }
    tree = explain(rule, {})
    assert [child["label"] for child in tree["children"]] == [
        "100 <= (total ?? 0) <= 500",
        'not some(lines, sku == "X")',
        "if a then 1 else 2",
    ]
    long = {"cat": ["x" * 200]}
    assert len(explain(long, {})["label"]) == 80
