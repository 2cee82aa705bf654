"""Definition limits, without a database: every part, every kind, the node named."""

import pytest

from automate.workflows.limits import (
    DefinitionLimits,
    attach_node_ids,
    definition_limit_problems,
)

LIMITS = DefinitionLimits(max_bytes=2_000, max_depth=8, max_number_digits=30)


def deep(depth):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


def graph(inputs):
    return {
        "nodes": [
            {"id": "trigger", "type": "trigger"},
            {"id": "n1", "type": "transform", "inputs": inputs},
        ],
        "edges": [],
    }


def problems(**parts):
    found = definition_limit_problems(limits=LIMITS, **parts)
    return attach_node_ids(found, parts.get("graph"))


def test_a_definition_within_the_limits_has_no_problems():
    assert problems(graph=graph({"x": deep(3)}), rule_spec={"==": [1, 1]}, trigger_spec={}) == []


@pytest.mark.parametrize(
    ("parts", "field", "words"),
    [
        ({"graph": graph({"x": deep(10)})}, "graph.nodes[1]", "nested more than 8 levels"),
        ({"rule_spec": {"and": deep(10)}}, "rule_spec.and", "nested more than 8 levels"),
        ({"trigger_spec": {"w": deep(10)}}, "trigger_spec.w", "nested more than 8 levels"),
        ({"graph": graph({"x": "y" * 3_000})}, "graph", "bytes as JSON"),
        ({"graph": graph({"x": 10**40})}, "graph.nodes[1].inputs.x", "more than 30 digits"),
        ({"rule_spec": {"==": [float("nan"), 1]}}, "rule_spec.==[0]", "NaN"),
        ({"graph": graph({"x": "a\x00"})}, "graph.nodes[1].inputs.x", "NUL"),
        ({"trigger_spec": {"\ud800": 1}}, "trigger_spec.\\ud800", "surrogate"),
    ],
)
def test_each_kind_of_problem_names_the_part_and_the_limit(parts, field, words):
    found = problems(**parts)
    assert len(found) == 1
    assert found[0]["field"].startswith(field)
    assert words in found[0]["message"]


def test_a_problem_inside_a_node_names_the_node():
    found = problems(graph=graph({"x": deep(10)}))
    assert found[0]["node_id"] == "n1"
    assert "max_definition_depth" in found[0]["message"]


def test_a_definition_far_deeper_than_python_can_recurse_is_reported_not_crashed_on():
    found = problems(graph=graph({"x": deep(200_000)}))
    assert found[0]["node_id"] == "n1"
