"""Limits: a template cannot hang the worker or produce (or build) huge values."""

import time

import pytest

from automate.templates import TemplateError, render, render_inputs


@pytest.fixture
def template_limits(settings):
    """Set DJANGO_AUTOMATE["TEMPLATES"] options for one test."""

    def apply(**options):
        settings.DJANGO_AUTOMATE = {**settings.DJANGO_AUTOMATE, "TEMPLATES": options}

    return apply


def rendering_fails_fast(template, *, within=1.0, **context):
    """Render ``template``, expect a TemplateError, and check it came quickly."""
    started = time.monotonic()
    with pytest.raises(TemplateError) as info:
        render(template, context)
    elapsed = time.monotonic() - started
    assert elapsed < within, f"took {elapsed:.2f}s"
    return info.value


def test_output_over_the_limit_is_refused(template_limits):
    template_limits(max_output_bytes=100)

    assert len(render("{{ 'x' * 100 }}", {})) == 100
    error = rendering_fails_fast("{% for i in range(101) %}x{% endfor %}")

    assert error.details["kind"] == "limit"
    assert "larger than the 100-byte limit" in error.message
    assert "max_output_bytes" in error.message


def test_output_limit_counts_bytes_not_characters(template_limits):
    template_limits(max_output_bytes=10)

    with pytest.raises(TemplateError, match="10-byte limit"):
        render("{{ text }}", {"text": "€€€€"})  # 4 characters, 12 bytes


def test_output_limit_covers_all_inputs_together(template_limits):
    template_limits(max_output_bytes=100)
    inputs = {"a": "{{ 'x' * 60 }}", "b": "{{ 'y' * 60 }}"}

    with pytest.raises(TemplateError, match="100-byte limit"):
        render_inputs(inputs, {})


def test_native_values_count_towards_the_output_limit(template_limits):
    template_limits(max_output_bytes=100)

    with pytest.raises(TemplateError, match="100-byte limit"):
        render_inputs("{{ big }}", {"big": ["x" * 50, "y" * 60]})


def test_the_default_output_limit_is_one_megabyte():
    assert len(render("{{ 'x' * 1000000 }}", {})) == 1_000_000
    rendering_fails_fast("{{ 'x' * 1000001 }}")


def test_a_template_that_runs_too_long_is_stopped(template_limits):
    template_limits(render_timeout_seconds=0.2)
    error = rendering_fails_fast(
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    )

    assert error.details["kind"] == "limit"
    assert "0.2-second limit" in error.message
    assert "render_timeout_seconds" in error.message


def test_the_timeout_also_stops_exponential_macros(template_limits):
    template_limits(render_timeout_seconds=0.2)

    rendering_fails_fast(
        "{% macro grow(n) %}{% if n %}{{ grow(n - 1) }}{{ grow(n - 1) }}{% endif %}"
        "{% endmacro %}{{ grow(60) }}"
    )


def test_the_timeout_stops_loops_over_context_data(template_limits):
    template_limits(render_timeout_seconds=0.2)
    rows = list(range(10_000))

    rendering_fails_fast(
        "{% for a in rows %}{% for b in rows %}{% if a == b %}{% endif %}{% endfor %}{% endfor %}",
        rows=rows,
    )


def test_the_timeout_applies_to_render_inputs(template_limits):
    template_limits(render_timeout_seconds=0.2)
    started = time.monotonic()

    with pytest.raises(TemplateError, match=r"in inputs\.slow.*0.2-second limit"):
        render_inputs(
            {
                "slow": "{% for i in range(100000) %}{% for j in range(100000) %}"
                "{% endfor %}{% endfor %}"
            },
            {},
        )

    assert time.monotonic() - started < 1.0


def test_huge_ranges_are_refused_at_once():
    error = rendering_fails_fast("{% for i in range(10**9) %}{% endfor %}", within=0.5)

    assert "range() of more than 100,000 numbers" in error.message


def test_recursion_is_stopped():
    error = rendering_fails_fast("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")

    assert "recurses too deeply" in error.message


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'x' * 10**9 }}",
        "{{ [0] * 10**9 }}",
        "{{ 10 ** 10000000 }}",
        "{% set n = 10**2000 %}{{ n * n * n * n * n * n * n * n * n * n * n * n * n * n * n * n }}",
        "{{ '%0999999999d' % 1 }}",
        "{{ '%*d' % (10**9, 1) }}",
        "{{ '%.999999999f' % 1.5 }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ '{:{w}}'.format(1, w=999999999) }}",
        "{{ '{a:>999999999}'.format_map({'a': 1}) }}",
        "{{ 'x'.ljust(10**9) }}",
        "{{ 'x'.center(10**9) }}",
        "{{ '1'.zfill(10**9) }}",
        "{{ 'a\tb'.expandtabs(10**9) }}",
        "{{ (1).to_bytes(10**9, 'big') }}",
        "{% set big = 'x' * 1000000 %}{{ big.replace('x', 'xx') }}",
        "{% set big = 'x' * 1000 %}{{ big.join([big] * 1000) }}",
        "{% set s = 'x' * 1000 %}{% set s = s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s %}"
        "{% set s = s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s %}"
        "{% set s = s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s %}{% set s = s ~ s %}{{ s | length }}",
        "{% set s = 'x' * 600000 %}{% set t = s + s %}{{ t | length }}",
        "{% set ns = namespace(a=[1]) %}{% for i in range(40) %}{% set ns.a = [ns.a, ns.a] %}"
        "{% endfor %}{{ ns.a | tojson }}",
        "{% set ns = namespace(a=[1]) %}{% for i in range(40) %}{% set ns.a = [ns.a, ns.a] %}"
        "{% endfor %}{{ ns.a | string | length }}",
        "{% set big = 'x' * 1000 %}{{ ([big] * 2000) | join }}",
        "{% macro m() %}{% for i in range(2000) %}{{ 'x' * 1000 }}{% endfor %}{% endmacro %}"
        "{{ m() | length }}",
        "{{ 'x' | center(10**9) }}",
        "{{ 'x' | indent(10**9, true) }}",
        "{% set big = 'x' * 1000000 %}{{ big | replace('x', 'xx') }}",
        "{{ '%0999999999d' | format(1) }}",
        "{{ [1] | batch(10**9, 0) | list }}",
        "{{ [1] | slice(10**9) | list }}",
        "{{ ([[0] * 1000] * 1000) | sum(start=[]) }}",
        "{{ 'a b' | wordwrap(1, wrapstring='x' * 1000000) }}",
    ],
)
def test_single_steps_that_would_build_a_huge_value_are_refused(template):
    error = rendering_fails_fast(template, within=2.0)

    assert error.details["kind"] in {"limit", "security"}


def test_limit_errors_do_not_hide_normal_use():
    template = (
        "{{ 'ab' * 3 }} {{ 2 ** 10 }} {{ '%05d' % 42 }} {{ '{:>4}'.format(7) }} "
        "{{ 'a-b'.replace('-', '+') }} {{ ', '.join(['x', 'y']) }} {{ [1, 2] | join('/') }} "
        "{{ [1, 2, 3] | sum }} {{ 'x' | center(3) }} {{ [1, 2, 3] | batch(2) | list }}"
    )

    assert render(template, {}) == ("ababab 1024 00042    7 a+b x, y 1/2 6  x  [[1, 2], [3]]")
