"""render_inputs(): nested step inputs, native types and references."""

import copy

import pytest

from automate.templates import TemplateError, render_inputs

CONTEXT = {
    "event": {
        "payload": {
            "amount": 42,
            "price": 9.5,
            "paid": True,
            "coupon": None,
            "customer": {"name": "Ada", "tags": ["vip"]},
            "lines": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}],
        }
    },
    "steps": {"calculate": {"output": {"total": 19.0}}},
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ event.payload.amount }}", 42),
        ("{{ event.payload.price }}", 9.5),
        ("{{ event.payload.paid }}", True),
        ("{{ event.payload.coupon }}", None),
        ("{{ event.payload.customer }}", {"name": "Ada", "tags": ["vip"]}),
        ("{{ event.payload.customer.tags }}", ["vip"]),
        ("{{ event.payload.amount * 2 }}", 84),
        ("{{- event.payload.amount -}}", 42),
        ("{{ event.payload.lines | map(attribute='sku') }}", ["A", "B"]),
        ("{{ range(3) }}", [0, 1, 2]),
    ],
)
def test_a_single_expression_keeps_its_native_type(template, expected):
    assert render_inputs({"value": template}, CONTEXT) == {"value": expected}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Amount: {{ event.payload.amount }}", "Amount: 42"),
        (" {{ event.payload.amount }}", " 42"),
        ("{{ event.payload.amount }}\n", "42\n"),
        ("{{ event.payload.amount }}{{ event.payload.amount }}", "4242"),
        ("{{ event.payload.amount | string }}", "42"),
        ("{% if event.payload.paid %}{{ event.payload.amount }}{% endif %}", "42"),
    ],
)
def test_anything_else_renders_to_text(template, expected):
    assert render_inputs(template, CONTEXT) == expected


def test_nested_inputs_render_every_string_and_keep_other_values():
    inputs = {
        "channel": "#sales",
        "message": "Total {{ steps.calculate.output.total }}",
        "count": 3,
        "enabled": False,
        "nothing": None,
        "attachments": [{"title": "{{ event.payload.customer.name }}", "qty": 2}, 5],
        "coords": (1, "{{ event.payload.amount }}"),
    }

    assert render_inputs(inputs, CONTEXT) == {
        "channel": "#sales",
        "message": "Total 19.0",
        "count": 3,
        "enabled": False,
        "nothing": None,
        "attachments": [{"title": "Ada", "qty": 2}, 5],
        "coords": (1, 42),
    }


def test_keys_are_not_templated():
    assert render_inputs({"{{ x }}": "{{ x }}"}, {"x": 1}) == {"{{ x }}": 1}


def test_inputs_and_context_are_not_modified():
    inputs = {"a": ["{{ event.payload.amount }}"], "b": {"c": "{{ 1 }}"}}
    inputs_before = copy.deepcopy(inputs)
    context_before = copy.deepcopy(CONTEXT)

    render_inputs(inputs, CONTEXT)

    assert inputs == inputs_before
    assert context_before == CONTEXT


def test_native_results_are_copies_of_the_context_data():
    result = render_inputs("{{ event.payload.customer }}", CONTEXT)
    result["tags"].append("changed")

    assert CONTEXT["event"]["payload"]["customer"]["tags"] == ["vip"]


def test_a_value_that_is_not_data_is_an_error():
    with pytest.raises(TemplateError, match="Namespace, not a value"):
        render_inputs("{{ namespace(a=1) }}", {})
    with pytest.raises(TemplateError, match="not a value"):
        render_inputs("{{ range }}", {})


def test_errors_name_the_input_path():
    inputs = {"headers": {"X-Id": "ok"}, "items": ["ok", "{{ nope }}"]}

    with pytest.raises(TemplateError) as info:
        render_inputs(inputs, {})

    assert info.value.message == "Template error in inputs.items[1]: 'nope' is undefined"
    assert info.value.details["path"] == "inputs.items[1]"


def test_error_path_quotes_keys_that_are_not_identifiers():
    with pytest.raises(TemplateError, match=r"in inputs\.headers\['X-Id'\] on line 1"):
        render_inputs({"headers": {"X-Id": "{{ 'a' ~ nope }}"}}, {})


def test_syntax_error_names_path_and_line():
    with pytest.raises(TemplateError) as info:
        render_inputs({"text": "Hi\n{{ name"}, {"name": "x"})

    assert info.value.message.startswith("Template syntax error in inputs.text on line 2:")
    assert info.value.details == {"kind": "syntax", "path": "inputs.text", "line": 2}


def test_the_root_of_the_path_can_be_named():
    with pytest.raises(TemplateError, match=r"in config\.url"):
        render_inputs({"url": "{{ nope }}"}, {}, path="config")


def test_strings_without_template_syntax_are_returned_as_they_are():
    text = "Price in {curly} braces, 100% sure"

    assert render_inputs([text], {}) == [text]
