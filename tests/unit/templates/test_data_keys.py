"""Data keys win over Python attributes everywhere in the template context, and a missing
key is undefined, never a bound method (methods are reached only by calling them)."""

import pytest

from automate.templates import TemplateError, render, render_inputs

ITEMS = [{"sku": "A"}, {"sku": "B"}]

# Names of methods of dict, list or str, all valid payload keys.
METHOD_NAMES = [
    "items",
    "values",
    "keys",
    "get",
    "pop",
    "popitem",
    "update",
    "copy",
    "clear",
    "setdefault",
    "fromkeys",
    "count",
    "index",
    "append",
    "extend",
    "insert",
    "remove",
    "sort",
    "reverse",
    "upper",
    "split",
    "join",
    "format",
    "replace",
    "real",
]


def ctx(payload, **steps):
    return {"event": {"payload": payload}, "steps": steps}


def test_the_reported_items_key():
    context = ctx({"items": ITEMS})
    assert render_inputs("{{ event.payload.items | length }}", context) == 2
    assert render("{{ event.payload.items | length }}", context) == "2"
    assert render("{{ event.payload.items | tojson }}", context) == '[{"sku": "A"}, {"sku": "B"}]'
    assert render_inputs("{{ event.payload.items }}", context) == ITEMS
    assert render("{% for i in event.payload.items %}{{ i.sku }}{% endfor %}", context) == "AB"
    absent = ctx({"other": 1})
    assert render_inputs("{{ event.payload['items'] is defined }}", absent) is False
    assert render_inputs("{{ event.payload.items is defined }}", absent) is False
    assert render_inputs("{{ event.payload['items'] is defined }}", context) is True


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_a_key_named_like_a_method_is_the_data(name):
    context = ctx({name: ["x", "y", "z"]})
    for template in [
        f"{{{{ event.payload.{name} | length }}}}",
        f"{{{{ event.payload['{name}'] | length }}}}",
        f"{{{{ event.payload.{name} | tojson | length }}}}",
    ]:
        assert render_inputs(template, context) in (3, 15)
    assert render(f"{{{{ event.payload.{name} | join('-') }}}}", context) == "x-y-z"
    assert render(f"{{{{ event.payload.{name} }}}}", context) == "['x', 'y', 'z']"


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_a_missing_key_named_like_a_method_is_undefined(name):
    context = ctx({"other": 1})
    for lookup in (f"event.payload.{name}", f"event.payload['{name}']"):
        assert render_inputs(f"{{{{ {lookup} is defined }}}}", context) is False
        assert render(f"{{{{ {lookup} | default('none') }}}}", context) == "none"
        with pytest.raises(TemplateError) as info:
            render(f"{{{{ {lookup} | tojson }}}}", context)
        assert info.value.kind == "undefined"
        assert "built-in method" not in info.value.message


@pytest.mark.parametrize("name", ["items", "values", "keys", "get", "count", "index", "pop"])
def test_attribute_filters_read_data_keys(name):
    rows = [{name: 3, "id": "a"}, {name: 1, "id": "b"}, {name: 2, "id": "c"}]
    context = ctx({"rows": rows})
    assert render(f"{{{{ event.payload.rows | map(attribute='{name}') | join }}}}", context) == (
        "312"
    )
    assert render(f"{{{{ event.payload.rows | sum(attribute='{name}') }}}}", context) == "6"
    sort = f"{{{{ event.payload.rows | sort(attribute='{name}') | map(attribute='id') | join }}}}"
    assert render(sort, context) == "bca"
    select = f"{{{{ event.payload.rows | selectattr('{name}', 'gt', 1) | list | length }}}}"
    assert render(select, context) == "2"
    assert render(f"{{{{ event.payload.rows | groupby('{name}') | length }}}}", context) == "3"


def test_attribute_filters_on_rows_without_the_key_do_not_see_methods():
    context = ctx({"rows": [{"id": "a"}, {"id": "b"}]})
    for template in [
        "{{ event.payload.rows | selectattr('items') | list | length }}",
        "{{ event.payload.rows | map(attribute='items') | list | tojson }}",
        "{{ event.payload.rows | sum(attribute='values') }}",
    ]:
        with pytest.raises(TemplateError) as info:
            render(template, context)
        assert info.value.kind == "undefined"
        assert "has no attribute" in info.value.message
        assert "built-in method" not in info.value.message
    default = "{{ event.payload.rows | map(attribute='items', default='-') | join }}"
    assert render(default, context) == "--"


def test_step_outputs_and_node_ids_named_like_methods_are_data():
    context = ctx({}, values={"output": {"keys": ["k"], "count": 7}})
    assert render_inputs("{{ steps.values.output.keys }}", context) == ["k"]
    assert render_inputs("{{ steps.values.output.count }}", context) == 7
    assert render_inputs("{{ steps['values']['output']['count'] }}", context) == 7


def test_methods_still_work_when_called_and_no_key_shadows_them():
    context = ctx({"a": 1, "b": 2, "tags": ["x", "y", "x"], "name": "ada"})
    assert render("{{ event.payload.items() | list | length }}", context) == "4"
    assert render("{{ event.payload.keys() | sort | join(',') }}", context) == "a,b,name,tags"
    assert render("{{ event.payload.get('a') }}|{{ event.payload.get('z', 0) }}", context) == "1|0"
    assert render("{{ event.payload.tags.count('x') }}", context) == "2"
    assert render("{{ event.payload.tags.index('y') }}", context) == "1"
    assert render("{{ event.payload.name.upper() }}", context) == "ADA"
    assert render("{% for k, v in {'p': 1}.items() %}{{ k }}={{ v }}{% endfor %}", context) == (
        "p=1"
    )


def test_a_data_key_wins_even_when_called():
    context = ctx({"get": "data"})
    with pytest.raises(TemplateError, match="not callable"):
        render("{{ event.payload.get('x') }}", context)


@pytest.mark.parametrize(
    "template",
    [
        "{{ event.payload.tags.count }}",
        "{{ event.payload.tags.index }}",
        "{{ event.payload.tags['count'] }}",
        "{{ event.payload.tags['append'] }}",
        "{{ event.payload.name.upper }}",
        "{{ event.payload.name['split'] }}",
        "{{ event.payload.n.real }}",
    ],
)
def test_lists_strings_and_numbers_never_hand_out_bound_methods(template):
    context = ctx({"tags": ["x"], "name": "ada", "n": 5})
    with pytest.raises(TemplateError) as info:
        render_inputs({"v": template}, context)
    assert info.value.kind == "undefined"
    assert "built-in method" not in info.value.message
    is_defined = template.replace("}}", " is defined }}")
    assert render_inputs(is_defined, context) is False


def test_mutating_methods_stay_refused_when_called():
    context = ctx({"tags": ["x"]})
    with pytest.raises(TemplateError) as info:
        render("{{ event.payload.tags.append('y') }}", context)
    assert info.value.kind == "security"
    with pytest.raises(TemplateError) as info:
        render("{{ event.payload.pop('tags') }}", context)
    assert info.value.kind == "security"


def test_private_names_are_still_refused_by_the_sandbox():
    with pytest.raises(TemplateError) as info:
        render("{{ event.payload.tags.__class__ }}", ctx({"tags": []}))
    assert info.value.kind == "security"
