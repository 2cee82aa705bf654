"""``secrets`` and ``env`` in templates, and ``$secret``/``$env`` references in inputs."""

import sys
import types

import pytest

from automate.templates import TemplateError, render, render_inputs

SECRETS = {"SLACK_TOKEN": "xoxb-123-secret", "API_KEY": "k3y-value"}


class FakeSecrets:
    """A resolver with the signature of ``automate.secrets.resolve``."""

    def __init__(self):
        self.asked = []

    def __call__(self, ref):
        self.asked.append(ref)
        name = ref.removeprefix("$secret:")
        if name not in SECRETS:
            raise LookupError(f"secret {name!r} not found")
        return SECRETS[name]


@pytest.fixture
def secrets():
    return FakeSecrets()


@pytest.fixture
def allow_env(settings):
    def apply(*names):
        settings.DJANGO_AUTOMATE = {
            **settings.DJANGO_AUTOMATE,
            "TEMPLATES": {"env_allowlist": list(names)},
        }

    return apply


def test_secrets_resolve_by_name(secrets):
    text = render("Bearer {{ secrets.SLACK_TOKEN }}", {}, secret_resolver=secrets)

    assert text == "Bearer xoxb-123-secret"
    assert secrets.asked == ["$secret:SLACK_TOKEN"]


def test_secrets_are_resolved_only_when_used_and_once_per_render(secrets):
    render_inputs(
        {"a": "{{ secrets.API_KEY }}", "b": "{{ secrets.API_KEY }}", "c": "plain"},
        {},
        secret_resolver=secrets,
    )

    assert secrets.asked == ["$secret:API_KEY"]


def test_secret_names_that_look_like_methods_are_still_secret_names(secrets):
    SECRETS["keys"] = "keys-value"
    try:
        assert render("{{ secrets.keys }}", {}, secret_resolver=secrets) == "keys-value"
        assert render("{{ secrets['keys'] }}", {}, secret_resolver=secrets) == "keys-value"
    finally:
        del SECRETS["keys"]


@pytest.mark.parametrize("reference", ["$secret:SLACK_TOKEN", {"$secret": "SLACK_TOKEN"}])
def test_secret_references_in_inputs_resolve_at_render_time(secrets, reference):
    rendered = render_inputs({"headers": {"token": reference}}, {}, secret_resolver=secrets)

    assert rendered == {"headers": {"token": "xoxb-123-secret"}}


def test_a_dict_with_more_than_a_secret_key_is_an_ordinary_dict(secrets):
    value = {"$secret": "SLACK_TOKEN", "note": "{{ 1 }}"}

    assert render_inputs(value, {}, secret_resolver=secrets) == {
        "$secret": "SLACK_TOKEN",
        "note": 1,
    }


def test_text_around_a_secret_reference_is_left_alone(secrets):
    assert render_inputs("use $secret:SLACK_TOKEN", {}, secret_resolver=secrets) == (
        "use $secret:SLACK_TOKEN"
    )


def test_a_malformed_secret_dict_is_an_error(secrets):
    with pytest.raises(TemplateError, match=r"inputs\.token.*needs a secret name"):
        render_inputs({"token": {"$secret": 42}}, {}, secret_resolver=secrets)


def test_an_unknown_secret_is_an_error_naming_it(secrets):
    with pytest.raises(TemplateError) as info:
        render_inputs({"auth": "$secret:MISSING"}, {}, secret_resolver=secrets)

    assert "inputs.auth" in info.value.message
    assert "secret 'MISSING' could not be resolved" in info.value.message
    assert info.value.details["kind"] == "secret"


def test_secret_values_never_appear_in_error_messages(secrets):
    with pytest.raises(TemplateError) as info:
        render("{{ secrets.SLACK_TOKEN }} {{ nope }}", {}, secret_resolver=secrets)

    assert "'nope' is undefined" in info.value.message
    assert "xoxb-123-secret" not in info.value.message
    assert "xoxb-123-secret" not in repr(info.value.details)
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


def test_a_resolver_error_quoting_a_resolved_value_is_redacted():
    def resolver(ref):
        if ref == "$secret:A":
            return "first-secret-value"
        raise LookupError("backend said: first-secret-value is not B")

    with pytest.raises(TemplateError) as info:
        render("{{ secrets.A }}{{ secrets.B }}", {}, secret_resolver=resolver)

    assert "first-secret-value" not in info.value.message
    assert "[redacted]" in info.value.message


def test_the_secrets_object_cannot_be_printed_listed_or_returned(secrets):
    for template in ["{{ secrets }}", "{% for name in secrets %}{{ name }}{% endfor %}"]:
        with pytest.raises(TemplateError, match=r"'secrets' can only be used as secrets\.NAME"):
            render(template, {}, secret_resolver=secrets)
    with pytest.raises(TemplateError, match=r"'secrets' can only be used as secrets\.NAME"):
        render_inputs("{{ secrets }}", {}, secret_resolver=secrets)


def test_the_default_resolver_is_automate_secrets(monkeypatch):
    fake = types.ModuleType("automate.secrets")
    fake.resolve = lambda ref: f"resolved {ref}"
    monkeypatch.setitem(sys.modules, "automate.secrets", fake)

    assert render("{{ secrets.X }}", {}) == "resolved $secret:X"
    assert render_inputs({"$secret": "Y"}, {}) == "resolved $secret:Y"


def test_without_a_secrets_backend_secrets_fail_clearly(monkeypatch):
    monkeypatch.setitem(sys.modules, "automate.secrets", None)
    monkeypatch.setitem(sys.modules, "automate.governance.secrets", None)

    assert render("no secrets used", {}) == "no secrets used"
    with pytest.raises(TemplateError, match="no secrets backend is installed"):
        render("{{ secrets.X }}", {})


def test_allow_listed_environment_variables_render(allow_env, monkeypatch):
    allow_env("APP_REGION")
    monkeypatch.setenv("APP_REGION", "eu-west-1")

    assert render("{{ env.APP_REGION }}", {}) == "eu-west-1"
    assert render_inputs({"region": "$env:APP_REGION"}, {}) == {"region": "eu-west-1"}


def test_other_environment_variables_are_refused_by_name(allow_env, monkeypatch):
    allow_env("APP_REGION")
    monkeypatch.setenv("DATABASE_PASSWORD", "hunter2")

    with pytest.raises(TemplateError) as info:
        render("{{ env.DATABASE_PASSWORD }}", {})

    assert "'DATABASE_PASSWORD' is not allow-listed" in info.value.message
    assert "env_allowlist" in info.value.message
    assert "hunter2" not in info.value.message
    assert info.value.details["kind"] == "env"


def test_env_references_in_inputs_are_checked_against_the_allow_list(allow_env, monkeypatch):
    allow_env()
    monkeypatch.setenv("HOME_DIR", "/root")

    with pytest.raises(TemplateError, match=r"in inputs\.path: .*'HOME_DIR' is not allow-listed"):
        render_inputs({"path": "$env:HOME_DIR"}, {})


def test_nothing_is_allow_listed_by_default(monkeypatch):
    monkeypatch.setenv("PATH_LIKE", "x")

    with pytest.raises(TemplateError, match="not allow-listed"):
        render("{{ env['PATH_LIKE'] }}", {})


def test_an_allow_listed_but_unset_variable_is_undefined(allow_env, monkeypatch):
    allow_env("OPTIONAL_FLAG")
    monkeypatch.delenv("OPTIONAL_FLAG", raising=False)

    assert render("{{ env.OPTIONAL_FLAG | default('off') }}", {}) == "off"
    with pytest.raises(TemplateError, match="'OPTIONAL_FLAG' is not set"):
        render("{{ env.OPTIONAL_FLAG }}", {})
    with pytest.raises(TemplateError, match="'OPTIONAL_FLAG' is not set"):
        render_inputs("$env:OPTIONAL_FLAG", {})


def test_the_environment_cannot_be_listed(allow_env):
    allow_env("A")

    with pytest.raises(TemplateError, match="cannot be listed"):
        render("{% for k in env %}{{ k }}{% endfor %}", {})
    assert render("{{ env }}", {}) == "<env>"
