"""Secret references, resolve() and the backends behind it."""

from importlib.metadata import EntryPoint

import pytest
from django.core.checks import Error, Warning
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

import automate.secrets
from automate.exceptions import AutomateError
from automate.governance import redaction
from automate.governance import secrets as secrets_module
from automate.governance.redaction import MASK, SecretMasker, redact, redact_text
from automate.governance.secrets import (
    ENTRY_POINT_GROUP,
    EnvSecretsBackend,
    SecretsBackend,
    check_secrets_backend,
    collect_secret_refs,
    get_backend,
    is_secret_ref,
    resolve,
    resolve_secret_refs,
)
from automate.secrets import InvalidSecretRefError, SecretNotFoundError, SecretsConfigurationError

SLACK_TOKEN = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"


class DictBackend(SecretsBackend):
    """A backend holding secrets in a dict, loaded by dotted path or entry point below."""

    values = {"VAULT_TOKEN": "from-the-vault-1234", "SLACK_TOKEN": "from-the-vault-slack"}

    def get_secret(self, key):
        try:
            return self.values[key]
        except KeyError:
            raise SecretNotFoundError(key, hint="Add it to the vault.") from None

    def list_keys(self):
        return sorted(self.values)


class NotABackend:
    pass


class BytesBackend(SecretsBackend):
    def get_secret(self, key):
        return b"raw-bytes"


def secrets_setting(**section):
    return override_settings(DJANGO_AUTOMATE={"SECRETS": section})


@pytest.fixture(autouse=True)
def isolated(monkeypatch):
    """A private masker and an empty backend cache for every test."""
    masker = SecretMasker()
    monkeypatch.setattr(redaction, "secret_masker", masker)
    secrets_module.clear_backend_cache()
    yield masker
    secrets_module.clear_backend_cache()


def fake_entry_points(*entries):
    def entry_points(*, group, name=None):
        return [e for e in entries if e.group == group and (name is None or e.name == name)]

    return entry_points


# --- references ------------------------------------------------------------------------


@pytest.mark.parametrize("ref", [{"$secret": "SLACK_TOKEN"}, "$secret:SLACK_TOKEN"])
def test_resolve_reads_the_prefixed_environment_variable(monkeypatch, ref):
    monkeypatch.setenv("AUTOMATE_SLACK_TOKEN", SLACK_TOKEN)
    assert resolve(ref) == SLACK_TOKEN


def test_a_resolved_value_is_masked_wherever_it_appears_later(monkeypatch):
    monkeypatch.setenv("AUTOMATE_WEBHOOK_SIGNING", "plain-words-no-pattern")
    value = resolve("$secret:WEBHOOK_SIGNING")
    assert redact_text(f"signed with {value}") == "signed with ********"
    assert redact({"step": {"echo": value}}) == {"step": {"echo": MASK}}


@pytest.mark.parametrize(
    "ref",
    [
        "SLACK_TOKEN",
        "secret:SLACK_TOKEN",
        {"secret": "SLACK_TOKEN"},
        {"$secret": 1},
        {"$secret": None},
        {"$secret": "SLACK_TOKEN", "extra": 1},
        "$secret:",
        "$secret:1PASSWORD",
        "$secret:has-dash",
        "$secret:has space",
        "$secret:" + "A" * 129,
        {"$secret": ""},
        None,
        42,
        ["$secret:SLACK_TOKEN"],
    ],
)
def test_anything_but_a_well_formed_reference_is_rejected(ref):
    with pytest.raises(InvalidSecretRefError) as caught:
        resolve(ref)
    assert caught.value.code == "invalid_secret_ref"
    assert isinstance(caught.value, AutomateError)


def test_names_may_be_up_to_128_characters():
    assert secrets_module.secret_ref_name("$secret:_" + "a" * 127) == "_" + "a" * 127


def test_a_secret_pasted_instead_of_a_reference_is_not_echoed_back():
    with pytest.raises(InvalidSecretRefError) as caught:
        resolve(SLACK_TOKEN)
    assert SLACK_TOKEN not in str(caught.value)
    with pytest.raises(InvalidSecretRefError) as caught:
        resolve("$secret:" + SLACK_TOKEN)
    assert SLACK_TOKEN not in str(caught.value)
    assert "not a valid secret name" in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"$secret": "A"}, True),
        ("$secret:A", True),
        ({"$secret": "bad name"}, True),
        ("$secret", False),
        ("A", False),
        ({"secret": "A"}, False),
        (["$secret:A"], False),
        (None, False),
    ],
)
def test_is_secret_ref_recognises_the_shape(value, expected):
    assert is_secret_ref(value) is expected


def test_collect_secret_refs_walks_nested_inputs():
    inputs = {
        "url": "https://hooks.example.com",
        "headers": {"Authorization": {"$secret": "HOOK_TOKEN"}},
        "steps": [{"args": ("$secret:DB_PASSWORD", "x")}, ["$secret:HOOK_TOKEN"]],
        "note": "mentions $secret:NOT_A_REF inside text",
    }
    assert collect_secret_refs(inputs) == {"HOOK_TOKEN", "DB_PASSWORD"}
    assert collect_secret_refs({"a": 1, "b": [None, "x"]}) == set()


def test_collect_secret_refs_reports_a_malformed_reference():
    with pytest.raises(InvalidSecretRefError):
        collect_secret_refs({"steps": [{"token": "$secret:bad-name"}]})


def test_resolve_secret_refs_returns_a_resolved_copy(monkeypatch):
    monkeypatch.setenv("AUTOMATE_HOOK_TOKEN", "hook-token-value")
    inputs = {
        "headers": {"Authorization": {"$secret": "HOOK_TOKEN"}},
        "args": ["$secret:HOOK_TOKEN", 1],
    }
    resolved = resolve_secret_refs(inputs)
    assert resolved == {
        "headers": {"Authorization": "hook-token-value"},
        "args": ["hook-token-value", 1],
    }
    assert inputs["headers"]["Authorization"] == {"$secret": "HOOK_TOKEN"}


# --- not found -------------------------------------------------------------------------


def test_a_missing_secret_names_the_reference_and_the_variable(monkeypatch):
    monkeypatch.delenv("AUTOMATE_SLACK_TOKEN", raising=False)
    with pytest.raises(SecretNotFoundError) as caught:
        resolve({"$secret": "SLACK_TOKEN"})
    error = caught.value
    assert error.code == "secret_not_found"
    assert "$secret:SLACK_TOKEN" in str(error)
    assert "AUTOMATE_SLACK_TOKEN" in str(error)
    assert error.as_dict()["details"] == {"secret": "SLACK_TOKEN"}


def test_an_empty_variable_counts_as_missing(monkeypatch):
    monkeypatch.setenv("AUTOMATE_SLACK_TOKEN", "")
    with pytest.raises(SecretNotFoundError, match="AUTOMATE_SLACK_TOKEN is empty"):
        resolve("$secret:SLACK_TOKEN")


def test_a_not_found_error_never_carries_a_value(monkeypatch):
    # The value exists under the default prefix, but the configured prefix differs.
    monkeypatch.setenv("AUTOMATE_SLACK_TOKEN", SLACK_TOKEN)
    with secrets_setting(prefix="MYAPP_"), pytest.raises(SecretNotFoundError) as caught:
        resolve("$secret:SLACK_TOKEN")
    assert "SLACK_TOKEN" in str(caught.value)
    assert "MYAPP_SLACK_TOKEN" in str(caught.value)
    assert SLACK_TOKEN not in str(caught.value)
    assert SLACK_TOKEN not in repr(caught.value.as_dict())


def test_a_not_found_error_survives_pickling_for_process_workers():
    import pickle

    error = pickle.loads(pickle.dumps(SecretNotFoundError("SLACK_TOKEN", hint="Set it.")))
    assert str(error) == 'Secret "SLACK_TOKEN" was not found ($secret:SLACK_TOKEN). Set it.'
    assert error.as_dict()["details"] == {"secret": "SLACK_TOKEN"}


# --- backends --------------------------------------------------------------------------


def test_the_prefix_setting_is_honoured(monkeypatch):
    monkeypatch.setenv("MYAPP_SLACK_TOKEN", "from-myapp-prefix")
    with secrets_setting(backend="env", prefix="MYAPP_"):
        assert resolve("$secret:SLACK_TOKEN") == "from-myapp-prefix"
        assert get_backend().prefix == "MYAPP_"


def test_get_backend_is_cached_but_follows_setting_changes():
    first = get_backend()
    assert get_backend() is first
    assert isinstance(first, EnvSecretsBackend)
    with secrets_setting(prefix="OTHER_"):
        assert get_backend() is not first
        assert get_backend().prefix == "OTHER_"
    assert get_backend() is first


def test_a_dotted_path_backend_is_used():
    with secrets_setting(backend=f"{__name__}.DictBackend"):
        assert isinstance(get_backend(), DictBackend)
        assert resolve("$secret:VAULT_TOKEN") == "from-the-vault-1234"
        with pytest.raises(SecretNotFoundError, match="Add it to the vault"):
            resolve("$secret:MISSING")


def test_a_backend_from_an_entry_point_is_used(monkeypatch):
    entry = EntryPoint(name="vault", value=f"{__name__}:DictBackend", group=ENTRY_POINT_GROUP)
    other = EntryPoint(name="vault", value="nowhere:Nothing", group="some.other.group")
    monkeypatch.setattr(secrets_module, "entry_points", fake_entry_points(other, entry))
    with secrets_setting(backend="vault"):
        assert isinstance(get_backend(), DictBackend)
        assert resolve({"$secret": "SLACK_TOKEN"}) == "from-the-vault-slack"


def test_an_entry_point_that_fails_to_load_is_a_configuration_error(monkeypatch):
    entry = EntryPoint(name="vault", value="no_such_module_xyz:Backend", group=ENTRY_POINT_GROUP)
    monkeypatch.setattr(secrets_module, "entry_points", fake_entry_points(entry))
    with secrets_setting(backend="vault"), pytest.raises(SecretsConfigurationError) as caught:
        get_backend()
    assert "no_such_module_xyz:Backend" in str(caught.value)


def test_an_unknown_backend_name_is_a_configuration_error_naming_the_value(monkeypatch):
    monkeypatch.setattr(secrets_module, "entry_points", fake_entry_points())
    with (
        secrets_setting(backend="no_such_backend"),
        pytest.raises(SecretsConfigurationError) as caught,
    ):
        resolve("$secret:SLACK_TOKEN")
    message = str(caught.value)
    assert "'no_such_backend'" in message
    assert "DJANGO_AUTOMATE['SECRETS']['backend']" in message
    assert isinstance(caught.value, ImproperlyConfigured)
    assert caught.value.code == "secrets_misconfigured"


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        (f"{__name__}.NotABackend", "not a SecretsBackend subclass"),
        ("no_such_package_xyz.Backend", "cannot be imported"),
        (f"{__name__}.NoSuchName", "cannot be imported"),
    ],
)
def test_a_bad_dotted_path_is_a_configuration_error(path, fragment):
    with secrets_setting(backend=path), pytest.raises(SecretsConfigurationError, match=fragment):
        get_backend()


def test_a_backend_returning_something_else_than_text_is_a_configuration_error():
    with (
        secrets_setting(backend=f"{__name__}.BytesBackend"),
        pytest.raises(SecretsConfigurationError, match="returned bytes, not str"),
    ):
        resolve("$secret:ANY")


def test_the_env_backend_lists_names_never_values(monkeypatch):
    monkeypatch.setenv("LISTTEST_ALPHA", "alpha-value")
    monkeypatch.setenv("LISTTEST_BETA", "beta-value")
    monkeypatch.setenv("LISTTEST_EMPTY", "")
    monkeypatch.setenv("OTHER_GAMMA", "gamma-value")
    assert EnvSecretsBackend({"prefix": "LISTTEST_"}).list_keys() == ["ALPHA", "BETA"]


def test_a_backend_needs_only_get_secret():
    backend = DictBackend()
    assert backend.check() == []
    assert SecretsBackend.list_keys(backend) == []
    assert backend.options == {}


# --- system check ----------------------------------------------------------------------


def test_the_default_configuration_passes_the_check():
    assert check_secrets_backend() == []


def test_an_unloadable_backend_fails_the_check(monkeypatch):
    monkeypatch.setattr(secrets_module, "entry_points", fake_entry_points())
    with secrets_setting(backend="nope"):
        [message] = check_secrets_backend()
    assert isinstance(message, Error)
    assert message.id == "automate.E010"
    assert "'nope'" in message.msg


def test_an_empty_env_prefix_is_warned_about():
    with secrets_setting(prefix=""):
        [message] = check_secrets_backend()
    assert isinstance(message, Warning)
    assert message.id == "automate.W011"
    assert "every environment variable" in message.msg


# --- public facade ---------------------------------------------------------------------


def test_the_public_module_exposes_the_api():
    for name in ("resolve", "redact", "SecretsBackend", "SecretNotFoundError", "get_backend"):
        assert hasattr(automate.secrets, name)
    assert automate.secrets.resolve is resolve
    assert set(automate.secrets.__all__) <= set(dir(automate.secrets))


@pytest.mark.parametrize("name", ["SECRETS_KEYS", "TEST_DATABASE_URL", "WORKER_MODE"])
def test_the_env_backend_never_hands_out_django_automates_own_settings(monkeypatch, name):
    from automate.governance.secrets import EnvSecretsBackend

    monkeypatch.setenv(f"AUTOMATE_{name}", "sensitive-configuration-value")
    backend = EnvSecretsBackend({"prefix": "AUTOMATE_"})
    with pytest.raises(SecretNotFoundError) as caught:
        backend.get_secret(name)
    assert "own setting" in str(caught.value)
    assert "sensitive-configuration-value" not in str(caught.value)
    assert name not in backend.list_keys()
