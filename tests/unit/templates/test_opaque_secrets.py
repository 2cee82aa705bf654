"""A secret is opaque inside templates: it can be printed whole, and nothing else.

Every transformation is refused twice over: by the static check (at save, publish and
compile time) and, should that be bypassed, at render time, where the template only ever
holds an opaque value and a placeholder.
"""

import base64

import pytest

from automate.templates import (
    TemplateError,
    check_template,
    render,
    render_inputs,
    sandbox,
    secret_names,
    template_problems,
)

SECRET = "sk_live_Zq8Xw3Vb7Nm2Lk5J"
OTHER = "whsec_Pp4Rr9Tt1Yy6Uu0Ii"
VALUES = {"TOKEN": SECRET, "SIGNING": OTHER}


def resolver(ref):
    return VALUES[ref.removeprefix("$secret:")]


CONTEXT = {"event": {"payload": {"n": "SIGNING", "i": 9, "word": "x"}}}

# Each reveals the secret (or a derived form) under plain Jinja.
TRANSFORMATIONS = [
    "{{ secrets.TOKEN | reverse }}",
    "{{ secrets.TOKEN | upper }}",
    "{{ secrets.TOKEN | lower }}",
    "{{ secrets.TOKEN | b64encode }}",
    "{{ secrets.TOKEN | list }}",
    "{{ secrets.TOKEN | join(' ') }}",
    "{{ secrets.TOKEN | length }}",
    "{{ secrets.TOKEN | replace('s', 'S') }}",
    "{{ secrets.TOKEN | string }}",
    "{{ secrets.TOKEN | tojson }}",
    "{{ secrets.TOKEN | first }}",
    "{{ secrets.TOKEN | truncate(12) }}",
    "{{ secrets.TOKEN | default('x') }}",
    "{{ secrets.TOKEN[:9] }}",
    "{{ secrets.TOKEN[9:] }}",
    "{{ secrets.TOKEN[0] }}",
    "{{ secrets.TOKEN[::-1] }}",
    "{{ secrets['TOKEN'][:9] }}",
    "{{ secrets.TOKEN.upper() }}",
    "{{ secrets.TOKEN.split('_') }}",
    "{{ secrets.TOKEN.startswith('sk_live') }}",
    "{{ secrets.TOKEN ~ '' }}",
    "{{ 'Bearer ' ~ secrets.TOKEN }}",
    "{{ secrets.TOKEN + 'x' }}",
    "{{ secrets.TOKEN * 2 }}",
    "{{ '%s' % secrets.TOKEN }}",
    "{{ '{}'.format(secrets.TOKEN) }}",
    "{{ secrets.TOKEN == 'sk_live_Zq8Xw3Vb7Nm2Lk5J' }}",
    "{{ secrets.TOKEN > 'sk_m' }}",
    "{{ 'sk_' in secrets.TOKEN }}",
    "{{ secrets.TOKEN is string }}",
    "{{ secrets.TOKEN is startingwith('sk') }}",
    "{{ secrets.TOKEN if secrets.TOKEN else 'x' }}",
    "{{ secrets.TOKEN and 'yes' }}",
    "{{ not secrets.TOKEN }}",
    "{% if secrets.TOKEN == 'a' %}a{% endif %}",
    "{% for c in secrets.TOKEN %}{{ c }}-{% endfor %}",
    "{{ [secrets.TOKEN] | join }}",
    "{{ {'a': secrets.TOKEN} | tojson }}",
    "{{ dict(a=secrets.TOKEN) }}",
    "{{ namespace(a=secrets.TOKEN).a | reverse }}",
    "{% set t = secrets.TOKEN %}{{ t | reverse }}",
    "{% with t = secrets.TOKEN %}{{ t[1:] }}{% endwith %}",
    "{% set t %}{{ secrets.TOKEN }}{% endset %}{{ t | reverse }}",
    "{% set t %}{{ secrets.TOKEN }}{% endset %}{{ t[:9] }}",
    "{% macro m() %}{{ secrets.TOKEN }}{% endmacro %}{{ m() | upper }}",
    "{% macro m(x) %}{{ x | reverse }}{% endmacro %}{{ m(secrets.TOKEN) }}",
    "{% filter reverse %}{{ secrets.TOKEN }}{% endfilter %}",
    "{% macro m() %}{{ caller() | reverse }}{% endmacro %}"
    "{% call m() %}{{ secrets.TOKEN }}{% endcall %}",
    "{% block b %}{{ secrets.TOKEN }}{% endblock %}{{ self.b() | reverse }}",
    "{% for i in [1] recursive %}{{ secrets.TOKEN }}{% endfor %}",
    "{{ secrets.TOKEN | map('upper') | join }}",
    "{{ [secrets.TOKEN] | map('reverse') | join }}",
    "{{ secrets.TOKEN | batch(3) | list }}",
    "{{ (secrets.TOKEN | wordcount) }}",
    "{{ secrets.A and secrets['X' ~ event.payload.n] }}",
    "{{ secrets[event.payload.n] }}",
    "{{ secrets['SIGN' ~ 'ING'] }}",
    "{{ secrets[event.payload.n] | reverse }}",
    "{% set s = secrets %}{{ s.TOKEN }}",
    "{{ secrets | list }}",
    "{{ secrets }}",
    "{% for k in secrets %}{{ k }}{% endfor %}",
    "{% set secrets = {'TOKEN': 'x'} %}{{ secrets.TOKEN }}",
    "{{ secrets.TOKEN.x }}",
    "{{ secrets[0] }}",
]


def forms_of(value):
    """The secret and the derived forms the attacks above would produce."""
    forms = {value, value[::-1], value.upper(), value[:9], value[9:], " ".join(value)}
    forms.add(base64.b64encode(value.encode()).decode())
    forms.add(str(list(value)))
    forms.add("-".join(value))
    return {form for form in forms if len(form) >= 6}


def assert_hidden(text):
    for value in (SECRET, OTHER):
        for form in forms_of(value):
            assert form not in text


@pytest.mark.parametrize("template", TRANSFORMATIONS)
def test_every_transformation_is_refused_statically(template):
    with pytest.raises(TemplateError) as info:
        check_template(template, path="inputs.auth")
    assert info.value.kind == "secret"
    assert info.value.path == "inputs.auth"
    assert info.value.line == 1
    assert "Template error in inputs.auth on line 1:" in info.value.message
    assert_hidden(info.value.message)


@pytest.mark.parametrize("template", TRANSFORMATIONS)
def test_every_transformation_is_refused_when_rendered(template):
    for render_call in (render, lambda t, c, **k: render_inputs({"a": t}, c, **k)):
        with pytest.raises(TemplateError) as info:
            render_call(template, CONTEXT, secret_resolver=resolver)
        assert info.value.kind == "secret"
        assert_hidden(info.value.message)
        assert_hidden(repr(info.value.details))


@pytest.fixture
def without_static_check(monkeypatch):
    """Defence in depth: what the render does if the static check missed something."""
    monkeypatch.setattr(sandbox, "template_violations", lambda tree: [])
    sandbox.clear_compile_cache()
    yield
    sandbox.clear_compile_cache()


@pytest.mark.parametrize("template", TRANSFORMATIONS)
def test_the_render_never_reveals_a_transformed_secret_even_unchecked(
    template, without_static_check
):
    try:
        output = render_inputs({"a": template}, CONTEXT, secret_resolver=resolver)
    except TemplateError as exc:
        output = (exc.message, exc.__context__, exc.__cause__)
    # Only whole placements survive a render: the value is there whole, or not at all.
    text = str(output)
    for value in (SECRET, OTHER):
        for form in forms_of(value) - {value}:
            assert form not in text.replace(value, "")


@pytest.mark.parametrize(
    "template",
    [
        "{% set t %}{{ secrets.TOKEN }}{% endset %}{{ t | reverse }}",
        "{% set t %}{{ secrets.TOKEN }}{% endset %}{{ t[:20] }}{{ t[20:] | upper }}",
        "{% macro m() %}{{ secrets.TOKEN }}{% endmacro %}{{ m() | b64encode }}",
        "{% filter upper %}{{ secrets.TOKEN }}{% endfilter %}",
        "{% set t %}{{ secrets.TOKEN }}{% endset %}{{ t }}{{ t }}",
        "{% set t %}{{ secrets.TOKEN }}{% endset %}nothing",
    ],
)
def test_a_captured_placeholder_that_was_changed_is_refused_at_render(
    template, without_static_check
):
    with pytest.raises(TemplateError, match="transformed, repeated or dropped") as info:
        render(template, {}, secret_resolver=resolver)
    assert info.value.kind == "secret"
    assert_hidden(info.value.message)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ secrets.TOKEN }}", SECRET),
        ("{{ secrets['TOKEN'] }}", SECRET),
        ('{{ secrets["TOKEN"] }}', SECRET),
        ("Bearer {{ secrets.TOKEN }}", f"Bearer {SECRET}"),
        ("{{ secrets.TOKEN }}:{{ secrets.SIGNING }}", f"{SECRET}:{OTHER}"),
        ("{% if event.payload.i > 3 %}key={{ secrets.TOKEN }}{% endif %}", f"key={SECRET}"),
        ("{% for i in range(2) %}{{ secrets.TOKEN }};{% endfor %}", f"{SECRET};{SECRET};"),
        ("{% with x = 1 %}{{ secrets.TOKEN }}{% endwith %}", SECRET),
    ],
)
def test_a_secret_placed_whole_renders(template, expected):
    check_template(template)
    assert render(template, CONTEXT, secret_resolver=resolver) == expected
    assert render_inputs({"a": template}, CONTEXT, secret_resolver=resolver) == {"a": expected}


def test_a_whole_secret_in_native_mode_is_the_plain_string():
    value = render_inputs("{{ secrets.TOKEN }}", {}, secret_resolver=resolver)
    assert value == SECRET
    assert type(value) is str


def test_the_error_names_the_problem_and_the_line():
    with pytest.raises(TemplateError) as info:
        check_template("hello\n{{ x }}\n{{ secrets.TOKEN | reverse }}", path="inputs.text")
    assert info.value.message == (
        "Template error in inputs.text on line 3: a secret can only be placed whole into "
        "the output, as {{ secrets.NAME }}; secrets.TOKEN is passed to the filter 'reverse'"
    )
    with pytest.raises(TemplateError, match="names must be written literally"):
        check_template("{{ secrets.A and secrets['X' ~ event.payload.n] }}")
    with pytest.raises(TemplateError, match=r"joined with '~' \(write 'Bearer"):
        check_template("{{ 'Bearer ' ~ secrets.TOKEN }}")
    with pytest.raises(TemplateError, match=r"inside a \{% set %\} block"):
        check_template("{% set x %}{{ secrets.TOKEN }}{% endset %}")


def test_the_static_check_refuses_before_any_secret_is_resolved():
    asked = []

    def counting(ref):
        asked.append(ref)
        return SECRET

    with pytest.raises(TemplateError):
        render("{{ secrets.TOKEN | reverse }}", {}, secret_resolver=counting)
    assert asked == []


def test_check_template_reports_syntax_and_unavailable_tags():
    with pytest.raises(TemplateError) as info:
        check_template("{{ oops", path="inputs.x")
    assert info.value.kind == "syntax"
    assert info.value.message.startswith("Template syntax error in inputs.x on line 1:")
    with pytest.raises(TemplateError, match="include") as info:
        check_template("{% include 'x' %}")
    assert info.value.kind == "security"
    check_template("plain {{ event.payload.id }}")


def test_template_problems_walks_nested_inputs():
    problems = template_problems(
        {
            "auth": "Bearer {{ secrets.TOKEN }}",
            "headers": {"X-Sig": "{{ secrets.SIGNING | b64encode }}"},
            "list": ["ok", "{{ secrets.TOKEN[:4] }}"],
            "ref": {"$secret": "TOKEN"},
            "plain": 3,
        }
    )
    assert [(p.path, p.kind) for p in problems] == [
        ("inputs.headers['X-Sig']", "secret"),
        ("inputs.list[1]", "secret"),
    ]


def test_secret_names_lists_literal_names_only():
    names = secret_names(
        {
            "a": "{{ secrets.TOKEN }}",
            "b": "x {{ secrets['SIGNING'] }}",
            "c": "$secret:REF",
            "d": {"$secret": "DICT"},
            "e": "{{ secrets[event.payload.n] }}",
        }
    )
    assert names == {"TOKEN", "SIGNING", "REF", "DICT"}


def test_a_custom_filter_never_receives_a_secret(without_static_check):
    from automate.templates import register_filter, unregister_filter

    seen = []

    @register_filter("spy")
    def spy(value, *args):
        seen.append((value, args))
        return "spied"

    try:
        for template in [
            "{{ secrets.TOKEN | spy }}",
            "{{ 'x' | spy(secrets.TOKEN) }}",
            "{{ ['a'] | map('spy', secrets.TOKEN) | list }}",
        ]:
            with pytest.raises(TemplateError) as info:
                render(template, {}, secret_resolver=resolver)
            assert "secrets.TOKEN is passed to the filter" in info.value.message
        assert seen == []
    finally:
        unregister_filter("spy")
