"""The time and memory budget holds cumulatively, through every filter and operation, and
nothing is computed (or cached) oversized when a template is only compiled."""

import time
import tracemalloc

import pytest

from automate.templates import TemplateError, check_template, render
from automate.templates.sandbox import MAX_CACHED_CHARS, compile_input, compile_text

MB = 1_000_000
BIG = "{% set a = [1] * 100000 %}{% set b = [a] * 10000 %}"
TEXT = "{% set s = 'x' * 900000 %}"


@pytest.fixture
def template_limits(settings):
    def apply(**options):
        settings.DJANGO_AUTOMATE = {**settings.DJANGO_AUTOMATE, "TEMPLATES": options}

    return apply


def timed(func):
    """``(result or TemplateError, seconds)``, without tracemalloc slowing it down."""
    started = time.monotonic()
    try:
        result = func()
    except TemplateError as exc:
        result = exc
    return result, time.monotonic() - started


def measured(func):
    """``(result or TemplateError, seconds, peak bytes allocated)``."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = func()
    except TemplateError as exc:
        result = exc
    finally:
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return result, elapsed, peak


def test_the_reported_sum_of_sums_stops_at_the_render_limit():
    template = BIG + "{{ b|map('sum')|sum }}"
    error, elapsed = timed(lambda: render(template, {}))
    assert isinstance(error, TemplateError)
    assert "longer than the 2-second limit" in error.message
    assert error.kind == "limit"
    assert elapsed < 2.5
    _, _, peak = measured(lambda: render(template, {}))
    assert peak < 20 * MB


def test_the_reported_map_center_is_refused_without_allocating_gigabytes():
    template = "{{ (['x'] * 1500)|map('center', 900000)|list|length }}"
    error, elapsed, peak = measured(lambda: render(template, {}))
    assert isinstance(error, TemplateError)
    assert "32,000,000-byte memory limit" in error.message
    assert "max_memory_bytes" in error.message
    assert peak < 100 * MB
    assert elapsed < 2.5


@pytest.mark.parametrize(
    "template",
    [
        BIG + "{{ b|map('sum')|list|length }}",
        BIG + "{{ b|map('max')|sum }}",
        BIG + "{% for x in b %}{{ x|sum }}{% endfor %}",
        BIG + "{{ b|map('sum')|select('odd')|list|length }}",
        BIG + "{{ b|map('min')|reject('none')|list|length }}",
        BIG + "{{ b|map('sort')|map('first')|list|length }}",
        BIG + "{% for x in b %}{% for y in x %}{% endfor %}{% endfor %}",
    ],
)
def test_filters_applied_per_item_are_stopped_by_the_deadline(template, template_limits):
    template_limits(render_timeout_seconds=0.5)
    error, elapsed = timed(lambda: render(template, {}))
    assert isinstance(error, TemplateError), error
    assert "longer than the 0.5-second limit" in error.message
    assert elapsed < 1.5  # the limit, plus at most one filter call on a loaded machine
    _, _, peak = measured(lambda: render(template, {}))
    assert peak < 30 * MB


@pytest.mark.parametrize(
    "template",
    [
        "{{ (['x'] * 1500)|map('center', 900000)|list|length }}",
        "{{ (range(2000)|map('string')|map('center', 900000)|list)|length }}",
        TEXT + "{{ ([s] * 3000)|map('upper')|list|length }}",
        TEXT + "{{ ([s] * 3000)|map('list')|list|length }}",
        TEXT + "{{ ([s] * 3000)|map('replace', 'x', 'y')|list|length }}",
        TEXT + "{{ ([s] * 3000)|map('reverse')|list|length }}",
        TEXT + "{{ ([s] * 3000)|map('indent', 2)|list|length }}",
        BIG + "{{ b|map('list')|list|length }}",
        TEXT + "{% set ns = namespace(l=[]) %}"
        "{% for i in range(2000) %}{% set ns.l = ns.l + [s[i:]] %}{% endfor %}",
        TEXT + "{% set ns = namespace(l=[]) %}"
        "{% for i in range(2000) %}{% set ns.l = ns.l + [s ~ i] %}{% endfor %}",
        TEXT + "{% for i in range(2000) %}{% set t = s.upper() %}{% endfor %}",
        TEXT + "{% for i in range(2000) %}{% set t = s[1:] %}{% endfor %}",
        TEXT + "{% for i in range(2000) %}{% set t = s ~ i %}{% endfor %}",
        "{% for i in range(2000) %}{% set t = 'y' * 900000 %}{% endfor %}",
        TEXT + "{% for i in range(2000) %}{% set t %}{{ s }}{% endset %}{% endfor %}",
        TEXT + "{% for i in range(2000) %}{% set t = s.split('x') %}{% endfor %}",
        TEXT + "{% for i in range(2000) %}{% set t = '%s' % s %}{% endfor %}",
    ],
)
def test_values_built_one_after_another_are_stopped_by_the_memory_budget(template):
    error, elapsed, peak = measured(lambda: render(template, {}))
    assert isinstance(error, TemplateError), error
    assert "memory limit" in error.message
    assert error.kind == "limit"
    assert peak < 100 * MB
    assert elapsed < 2.5


def test_the_memory_budget_setting_is_checked_at_start_up(settings):
    from django.core import checks

    settings.DJANGO_AUTOMATE = {"TEMPLATES": {"max_memory_bytes": 5}}
    messages = [
        message.msg for message in checks.run_checks(databases=[])
    ]  # no database here (Django 6.1)
    assert (
        "DJANGO_AUTOMATE['TEMPLATES']['max_memory_bytes'] must be at least 1000000, not 5"
        in messages
    )


def test_the_memory_budget_is_a_setting(template_limits):
    template_limits(max_memory_bytes=2_000_000)
    template = TEXT + "{{ ([s] * 10)|map('upper')|list|length }}"
    error, _, peak = measured(lambda: render(template, {}))
    assert "2,000,000-byte memory limit" in error.message
    assert peak < 10 * MB
    template_limits(max_memory_bytes=50_000_000)
    assert render(template, {}) == "10"


@pytest.mark.parametrize(
    "template",
    [
        BIG + "{{ b|sort|length }}",
        BIG + "{{ b|max|length }}",
        BIG + "{{ b|min|length }}",
        "{% set a = (1, 2, 3) * 100000 %}{% set b = [a] * 10000 %}{{ b|unique|list|length }}",
        BIG + "{% set c = [a|list] * 10000 %}{{ b == c }}",
        BIG + "{% set c = [a|list] * 10000 %}{{ c in [b] }}",
        BIG + "{% set c = [a|list] * 10000 %}{{ b|select('equalto', c)|list|length }}",
        BIG + "{{ b|dictsort if false else b|groupby(0)|list|length }}",
    ],
)
def test_comparing_or_sorting_deep_values_is_refused_before_the_c_call(template):
    error, elapsed, _ = measured(lambda: render(template, {}))
    assert isinstance(error, TemplateError), error
    assert "would have to walk a value larger than" in error.message
    assert elapsed < 1.5


def test_ordinary_payload_work_stays_within_the_budget():
    payload = {"items": [{"sku": f"S{i}", "qty": i % 7, "tags": ["a", "b"]} for i in range(5000)]}
    template = (
        "{{ event.payload['items']|map(attribute='qty')|sum }}"
        "|{{ event.payload['items']|sort(attribute='qty')|map(attribute='sku')|first }}"
        "|{{ event.payload['items']|selectattr('qty', 'equalto', 3)|list|length }}"
        "|{{ event.payload['items']|map(attribute='sku')|join(',')|length }}"
    )
    items = payload["items"]
    expected = [
        sum(item["qty"] for item in items),
        "S0",
        sum(1 for item in items if item["qty"] == 3),
        len(",".join(item["sku"] for item in items)),
    ]
    text = render(template, {"event": {"payload": payload}})
    assert text == "|".join(str(part) for part in expected)


# --- compile time -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'a'|center(200000000) }}",
        "{{ 'a'|indent(200000000) }}",
        "{{ '%s'|format(1)|center(200000000) }}",
        "{{ '%200000000d'|format(1) }}",
        "{{ 'ab'|wordwrap(1, wrapstring='x' * 100000000) }}",
        "{{ 'x'|replace('x', 'y' * 200000000) }}",
        "{{ 'a'|center(200000000)|length }}",
        "{{ ['a']|join('x')|center(200000000) }}",
        "{{ 'a b'|replace(' ', 'y')|center(200000000) }}",
        "{{ 'x' * 200000000 }}",
        "{{ 10 ** 100000000 }}",
        "{{ range(1000000000) | list }}",
        "{{ '%s' % ('x' * 200000000) }}",
        "{{ ['x'] * 200000000 }}",
        "{{ ('x' * 1000)|center(200000)|center(200000000) }}",
    ],
)
def test_compiling_computes_nothing(template):
    # A node panel (a GET) compiles inputs with no render budget in force.
    for compile_function in (lambda: compile_input(template), lambda: compile_text(template)):
        result, elapsed, peak = measured(compile_function)
        assert not isinstance(result, TemplateError)
        assert peak < 5 * MB
        assert elapsed < 1.0
    error, _, peak = measured(lambda: render(template, {}))
    assert isinstance(error, TemplateError)
    assert error.kind == "limit"
    assert peak < 20 * MB


def test_long_templates_are_compiled_but_not_cached():
    short = "{{ event.payload.id }}" + " " * 10
    assert compile_input(short) is compile_input(short)
    long = "{{ event.payload.id }}" + " " * MAX_CACHED_CHARS
    assert compile_input(long) is not compile_input(long)
    assert compile_text(long) is not compile_text(long)


@pytest.mark.parametrize(
    "template",
    [
        "{{ " + "(" * 300 + "1" + ")" * 300 + " }}",
        "{{ " + "[" * 300 + "1" + "]" * 300 + " }}",
        "{{ x" + "|upper" * 300 + " }}",
        "{{ x" + ".a" * 300 + " }}",
        "{{ " + "-" * 300 + "1 }}",
        "{{ 1" + " + 1" * 300 + " }}",
        "{% if x %}" * 150 + "{% endif %}" * 150,
        "{% for i in x %}" * 150 + "{% endfor %}" * 150,
    ],
)
def test_deeply_nested_templates_are_a_clear_limit_error(template):
    with pytest.raises(TemplateError) as info:
        check_template(template, path="inputs.x")
    assert info.value.kind in {"limit", "syntax"}
    assert "inputs.x" in info.value.message
    with pytest.raises(TemplateError):
        render(template, {"x": "a"})


def test_oversized_and_overly_nested_templates_are_refused():
    with pytest.raises(TemplateError, match="characters long; the limit is 200,000") as info:
        check_template("x" * 200_001)
    assert info.value.kind == "limit"
    deep = "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}"
    with pytest.raises(TemplateError) as info:
        check_template(deep)
    assert info.value.kind in {"limit", "syntax"}
    with pytest.raises(TemplateError):
        render(deep, {})
