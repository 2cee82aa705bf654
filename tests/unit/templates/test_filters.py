"""Custom filters (register_filter) and the filters built in for workflow authors."""

import pytest

from automate.templates import (
    TemplateError,
    register_filter,
    registered_filters,
    render,
    render_inputs,
    unregister_filter,
)


@pytest.fixture
def cleanup_filters():
    before = registered_filters()
    yield
    for name in registered_filters() - before:
        unregister_filter(name)


@pytest.mark.usefixtures("cleanup_filters")
def test_registered_filter_is_usable_in_every_template():
    @register_filter("format_currency")
    def format_currency(value, currency="USD"):
        return f"{currency} {value:,.2f}"

    context = {"steps": {"calculate": {"output": {"total": 1234.5}}}}
    inputs = {"message": "Order total: {{ steps.calculate.output.total | format_currency('EUR') }}"}

    assert render_inputs(inputs, context) == {"message": "Order total: EUR 1,234.50"}
    assert format_currency(1, "GBP") == "GBP 1.00"  # the decorator returns the function


@pytest.mark.usefixtures("cleanup_filters")
def test_registering_again_replaces_the_filter_even_for_compiled_templates():
    register_filter("shout")(lambda value: value.upper())
    assert render("{{ 'hi' | shout }}", {}) == "HI"

    register_filter("shout")(lambda value: value.upper() + "!")

    assert render("{{ 'hi' | shout }}", {}) == "HI!"


@pytest.mark.usefixtures("cleanup_filters")
def test_unregistered_filter_is_gone():
    register_filter("twice")(lambda value: value * 2)
    assert render("{{ 2 | twice }}", {}) == "4"

    unregister_filter("twice")

    with pytest.raises(TemplateError, match="No filter named 'twice'"):
        render("{{ 2 | twice }}", {})
    assert "twice" not in registered_filters()


def test_unregistering_an_unknown_filter_is_an_error():
    with pytest.raises(KeyError):
        unregister_filter("never_registered")


@pytest.mark.parametrize("name", ["upper", "join", "tojson", "fromjson"])
def test_built_in_filters_cannot_be_replaced(name):
    with pytest.raises(ValueError, match="built-in filter"):
        register_filter(name)


@pytest.mark.parametrize("name", ["", "has space", "1st", "a-b"])
def test_filter_names_must_be_identifiers(name):
    with pytest.raises(ValueError, match="must be a Python identifier"):
        register_filter(name)


def test_tojson_is_plain_json_not_html_escaped():
    value = {"name": "Zoë <admin> & co", "n": [1, None, True]}

    assert render("{{ value | tojson }}", {"value": value}) == (
        '{"name": "Zoë <admin> & co", "n": [1, null, true]}'
    )


def test_tojson_can_indent():
    assert render("{{ {'a': 1} | tojson(2) }}", {}) == '{\n  "a": 1\n}'


def test_fromjson_parses_a_json_string_into_data():
    body = '{"order": {"id": 5}}'

    assert render_inputs("{{ (body | fromjson).order.id }}", {"body": body}) == 5


def test_fromjson_reports_invalid_json_without_quoting_it():
    with pytest.raises(TemplateError) as info:
        render("{{ body | fromjson }}", {"body": "{not json, sekrit"})

    assert "fromjson: invalid JSON" in info.value.message
    assert "sekrit" not in info.value.message


def test_base64_round_trip():
    encoded = render("{{ ('user:' ~ password) | b64encode }}", {"password": "pässword"})

    assert encoded == "dXNlcjpww6Rzc3dvcmQ="
    assert render("{{ value | b64decode }}", {"value": encoded}) == "user:pässword"


def test_b64decode_rejects_garbage():
    with pytest.raises(TemplateError, match="not Base64"):
        render("{{ '***' | b64decode }}", {})
