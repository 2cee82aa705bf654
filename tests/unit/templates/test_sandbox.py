"""The sandbox: templates cannot reach Python internals or change the data they read."""

import copy

import pytest

from automate.templates import TemplateError, render, render_inputs

CONTEXT = {"x": 1, "text": "hi", "event": {"payload": {"tags": ["a"], "amount": 42}}}


@pytest.mark.parametrize(
    "template",
    [
        "{{ x.__class__ }}",
        "{{ text.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ x.__class__.__subclasses__() }}",
        "{{ dict.mro() }}",
        "{{ namespace.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__['os'] }}",
        "{{ range.__self__ }}",
        "{{ x | attr('__class__') }}",
        "{{ event.payload.tags | map(attribute='__class__') | list }}",
        '{{ "{0.__class__}".format(x) }}',
        '{{ "{0.__class__.__init__.__globals__}".format(text) }}',
        '{{ "{a.__class__}".format_map({"a": x}) }}',
        "{{ secrets.__class__ }}",
        "{{ env._allowed }}",
    ],
)
def test_python_internals_are_out_of_reach(template):
    with pytest.raises(TemplateError) as info:
        render(template, CONTEXT, secret_resolver=lambda ref: "value")

    assert info.value.code == "template_error"


def test_security_errors_say_what_was_refused():
    with pytest.raises(TemplateError) as info:
        render("{{ x.__class__ }}", CONTEXT)

    assert info.value.details["kind"] == "security"
    assert "access to attribute '__class__' of 'int' object is unsafe" in info.value.message


@pytest.mark.parametrize(
    "template",
    [
        "{{ event.payload.tags.append('b') }}",
        "{{ event.payload.tags.pop() }}",
        "{{ event.payload.tags.clear() }}",
        "{{ event.payload.update({'amount': 0}) }}",
        "{{ event.payload.pop('amount') }}",
        "{{ event.payload.setdefault('new', 1) }}",
        "{% set event.payload.amount = 0 %}",
    ],
)
def test_templates_cannot_change_the_context(template):
    context = copy.deepcopy(CONTEXT)

    with pytest.raises(TemplateError):
        render_inputs({"value": template}, context)

    assert context == CONTEXT


def test_rebinding_a_name_inside_a_template_leaves_the_context_alone():
    context = copy.deepcopy(CONTEXT)

    assert render("{% set event = 'other' %}{{ event }}", context) == "other"
    assert context == CONTEXT


def test_lipsum_is_not_available():
    with pytest.raises(TemplateError, match="'lipsum' is undefined"):
        render("{{ lipsum(10) }}", {})
