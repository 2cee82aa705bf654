"""render(): templates become text for the step that uses them."""

import subprocess
import sys
from pathlib import Path

import pytest

from automate.exceptions import AutomateError
from automate.templates import TemplateError, render

ROOT = Path(__file__).resolve().parents[3]
CONTEXT = {
    "event": {"type": "order.paid", "source": "stripe", "payload": {"id": 7, "amount": 42}},
    "execution": {"id": "run-1", "name": "Notify sales"},
    "steps": {"calculate": {"output": {"total": 1234.5, "items": ["pen", "ink"]}}},
}


def test_renders_event_execution_and_earlier_step_outputs():
    text = render(
        "{{ execution.name }}: order {{ event.payload.id }} from {{ event.source }} "
        "totals {{ steps.calculate.output.total }}",
        CONTEXT,
    )

    assert text == "Notify sales: order 7 from stripe totals 1234.5"


def test_always_returns_text_even_for_a_single_expression():
    assert render("{{ event.payload.amount }}", CONTEXT) == "42"


def test_loops_conditions_and_loop_controls_work():
    template = (
        "{% for item in steps.calculate.output['items'] %}"
        "{% if loop.index > 1 %}, {% endif %}{{ loop.index }}. {{ item | upper }}"
        "{% endfor %}"
    )

    assert render(template, CONTEXT) == "1. PEN, 2. INK"


def test_does_not_html_escape():
    assert render("{{ text }}", {"text": "<b>Tom & Jerry</b>"}) == "<b>Tom & Jerry</b>"


def test_none_renders_as_empty_text():
    assert render("[{{ value }}]", {"value": None}) == "[]"


def test_keeps_trailing_newline():
    assert render("line {{ n }}\n", {"n": 1}) == "line 1\n"


def test_default_filter_handles_an_optional_field():
    assert render("{{ event.payload.coupon | default('none') }}", CONTEXT) == "none"
    assert render("{{ 'yes' if event.payload.coupon is defined else 'no' }}", CONTEXT) == "no"


def test_same_template_with_another_context_gives_another_result():
    assert render("{{ event.payload.id }}", CONTEXT) == "7"
    assert render("{{ event.payload.id }}", {"event": {"payload": {"id": 8}}}) == "8"


def test_missing_variable_is_a_template_error_naming_it():
    with pytest.raises(TemplateError) as info:
        render("Hello {{ user.name }}", CONTEXT)

    assert "'user' is undefined" in info.value.message
    assert info.value.details["kind"] == "undefined"


def test_missing_attribute_is_a_template_error():
    with pytest.raises(TemplateError, match="has no attribute 'currency'"):
        render("{{ event.payload.currency }}", CONTEXT)


def test_template_error_is_an_automate_error_with_its_code():
    with pytest.raises(AutomateError) as info:
        render("{{ nope }}", {})

    assert info.value.code == "template_error"
    assert info.value.as_dict()["code"] == "template_error"


def test_syntax_error_names_the_line():
    with pytest.raises(TemplateError) as info:
        render("first line\nsecond line\n{% if x %}never closed", {"x": 1})

    assert info.value.message.startswith("Template syntax error on line 3:")
    assert info.value.details == {"kind": "syntax", "line": 3}


def test_runtime_error_names_the_line():
    with pytest.raises(TemplateError, match="on line 2"):
        render("ok\n{{ missing }}", {})


def test_unknown_filter_is_reported_by_name():
    with pytest.raises(TemplateError, match="No filter named 'format_currency'"):
        render("{{ 3 | format_currency }}", {})


def test_include_import_and_extends_are_not_available():
    templates = [
        '{% include "x.txt" %}',
        '{% import "m" as m %}',
        '{% from "m" import x %}',
        '{% extends "base" %}',
        "{% autoescape true %}{{ x }}{% endautoescape %}",
    ]
    for template in templates:
        with pytest.raises(TemplateError, match="not available in step templates"):
            render(template, {})


def test_other_runtime_errors_become_template_errors():
    with pytest.raises(TemplateError, match="unsupported operand"):
        render("{{ 1 + 'a' }}", {})


def test_importing_the_package_does_not_import_django_models():
    code = (
        "import sys, automate.templates; "
        "bad = [m for m in sys.modules if m == 'django.db.models' or "
        "(m.startswith('automate.') and m.endswith('.models'))]; "
        "assert not bad, bad"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": f"{ROOT / 'backend'}:{ROOT}"},
    )

    assert result.returncode == 0, result.stderr


def test_concurrent_renders_keep_their_own_context_and_budget():
    from concurrent.futures import ThreadPoolExecutor

    template = "{% for i in range(200) %}{{ who }}{% endfor %}"

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda n: render(template, {"who": n}), range(32)))

    assert results == [str(n) * 200 for n in range(32)]
