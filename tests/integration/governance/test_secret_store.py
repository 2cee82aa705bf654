import pytest
from django.core import checks, serializers
from django.db import connection
from django.test import override_settings

from automate.governance.exceptions import (
    InvalidSecretRefError,
    SecretNotFoundError,
    SecretsConfigurationError,
)
from automate.governance.models import AuditLogEntry, StoredSecret
from automate.governance.secret_store import (
    KEYS_VARIABLE,
    MAX_SECRET_VALUE_BYTES,
    DatabaseSecretsBackend,
    InvalidSecretValueError,
    SecretAlreadyExistsError,
    create_secret,
    delete_secret,
    rotate_encryption_key,
    rotate_secret,
    update_secret_description,
)
from automate.secrets import get_backend, redact_text, resolve
from automate.templates import render
from tests.factories import make_user
from tests.integration.governance.helpers import canary_value, new_key, use_db_backend

pytestmark = pytest.mark.django_db

KEY_A = new_key()
KEY_B = new_key()


@pytest.fixture
def key_a(monkeypatch, settings):
    use_db_backend(monkeypatch, settings, KEY_A)


def raw_column(name):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ciphertext FROM {StoredSecret._meta.db_table} WHERE name = %s", [name]
        )
        return cursor.fetchone()[0]


def test_a_stored_secret_round_trips_through_resolve(monkeypatch):
    monkeypatch.setenv(KEYS_VARIABLE, KEY_A)
    value = canary_value()
    create_secret("SLACK_TOKEN", value, description="Posts to #ops")

    with override_settings(DJANGO_AUTOMATE={"SECRETS": {"backend": "db"}}):
        assert isinstance(get_backend(), DatabaseSecretsBackend)
        assert resolve("$secret:SLACK_TOKEN") == value
        assert resolve({"$secret": "SLACK_TOKEN"}) == value
        assert render("{{ secrets.SLACK_TOKEN }}", {}) == value
        assert get_backend().list_keys() == ["SLACK_TOKEN"]

    stored = raw_column("SLACK_TOKEN")
    assert value not in stored
    assert stored.startswith("gAAAA")  # a Fernet token, not the value in some other dress
    # Resolved values are masked from then on, wherever they show up.
    assert redact_text(f"token was {value}") == "token was ********"


def test_an_unknown_secret_says_how_to_create_it(key_a):
    with pytest.raises(SecretNotFoundError) as caught:
        resolve("$secret:NOPE")
    assert caught.value.details == {"secret": "NOPE"}
    assert "automate_secrets set NOPE" in caught.value.message


def test_rotating_a_secret_keeps_its_name_so_references_keep_working(key_a):
    old, new = canary_value("old"), canary_value("new")
    created = create_secret("STRIPE_KEY", old)
    old_cipher = raw_column("STRIPE_KEY")

    rotated = rotate_secret("STRIPE_KEY", new)

    assert rotated.pk == created.pk
    assert rotated.rotated_at is not None
    assert resolve({"$secret": "STRIPE_KEY"}) == new
    assert raw_column("STRIPE_KEY") != old_cipher
    assert new not in raw_column("STRIPE_KEY")


def test_rotating_the_encryption_key_lets_the_old_key_be_dropped(monkeypatch, settings):
    use_db_backend(monkeypatch, settings, KEY_A)
    values = {"ONE": canary_value("one"), "TWO": canary_value("two")}
    for name, value in values.items():
        create_secret(name, value)

    monkeypatch.setenv(KEYS_VARIABLE, f"{KEY_B},{KEY_A}")
    assert rotate_encryption_key() == 2

    monkeypatch.setenv(KEYS_VARIABLE, KEY_B)
    for name, value in values.items():
        assert resolve(f"$secret:{name}") == value
    # And the old key alone no longer can: every row really was re-encrypted.
    monkeypatch.setenv(KEYS_VARIABLE, KEY_A)
    with pytest.raises(SecretsConfigurationError):
        resolve("$secret:ONE")


def test_key_rotation_changes_nothing_when_a_row_cannot_be_decrypted(monkeypatch, settings):
    use_db_backend(monkeypatch, settings, KEY_A)
    create_secret("FROM_A", canary_value())
    monkeypatch.setenv(KEYS_VARIABLE, KEY_B)
    create_secret("FROM_B", canary_value())
    before = dict(StoredSecret.objects.values_list("name", "ciphertext"))

    monkeypatch.setenv(KEYS_VARIABLE, f"{new_key()},{KEY_B}")  # KEY_A is missing
    with pytest.raises(SecretsConfigurationError, match='"FROM_A" cannot be decrypted'):
        rotate_encryption_key()

    assert dict(StoredSecret.objects.values_list("name", "ciphertext")) == before
    assert not AuditLogEntry.objects.filter(action="secret.rotate_key").exists()


def test_a_wrong_key_is_a_configuration_error_that_shows_no_ciphertext(monkeypatch, settings):
    use_db_backend(monkeypatch, settings, KEY_A)
    value = canary_value()
    create_secret("HOOK_TOKEN", value)
    ciphertext = raw_column("HOOK_TOKEN")

    monkeypatch.setenv(KEYS_VARIABLE, KEY_B)
    with pytest.raises(SecretsConfigurationError) as caught:
        resolve("$secret:HOOK_TOKEN")

    message = caught.value.message
    assert message.startswith(
        f'Stored secret "HOOK_TOKEN" cannot be decrypted with the keys in {KEYS_VARIABLE}'
    )
    assert "rotate-key" in message
    assert ciphertext not in message
    assert ciphertext[:20] not in message
    assert value not in message
    assert caught.value.__cause__ is None  # no InvalidToken chained with the token in it


def backend_check_errors():
    return [
        message
        for message in checks.run_checks()
        if message.id in {"automate.E010", "automate.E012", "automate.E013"}
    ]


def test_a_missing_key_fails_the_system_check_and_every_use(monkeypatch, settings):
    use_db_backend(monkeypatch, settings, KEY_A)
    monkeypatch.delenv(KEYS_VARIABLE)

    [error] = backend_check_errors()
    assert error.id == "automate.E012"
    assert error.level == checks.ERROR
    assert error.msg.startswith(f"{KEYS_VARIABLE} is not set")
    assert (
        'python -c "from cryptography.fernet import Fernet; '
        'print(Fernet.generate_key().decode())"' in error.hint
    )

    with pytest.raises(SecretsConfigurationError, match=KEYS_VARIABLE):
        resolve("$secret:ANYTHING")
    with pytest.raises(SecretsConfigurationError, match=KEYS_VARIABLE):
        create_secret("ANYTHING", "value")
    assert not StoredSecret.objects.exists()


def test_in_debug_the_missing_key_error_says_exactly_what_to_export(monkeypatch, settings):
    use_db_backend(monkeypatch, settings, "")
    settings.DEBUG = True

    [error] = backend_check_errors()
    assert error.msg == (
        f"{KEYS_VARIABLE} is empty, so the db secrets backend can neither encrypt nor "
        "decrypt secrets."
    )
    assert error.hint.startswith(
        f'For development, run: export {KEYS_VARIABLE}=$(python -c "from cryptography'
    )
    with pytest.raises(SecretsConfigurationError, match=f"export {KEYS_VARIABLE}="):
        resolve("$secret:ANYTHING")


def test_a_malformed_key_is_named_by_position_not_repeated(monkeypatch, settings):
    typo = KEY_B[:-3] + "!!="
    use_db_backend(monkeypatch, settings, f"{KEY_A}, {typo}")

    [error] = backend_check_errors()
    assert error.id == "automate.E013"
    assert error.msg == (
        f"{KEYS_VARIABLE} entry 2 of 2 is not a valid Fernet key (it must be 32 url-safe "
        "base64-encoded bytes)."
    )
    assert typo not in error.msg + error.hint
    with pytest.raises(SecretsConfigurationError, match="entry 2 of 2"):
        resolve("$secret:ANYTHING")


def test_well_configured_keys_pass_the_check(key_a):
    assert backend_check_errors() == []


def test_every_write_is_audited_with_the_name_and_never_the_value(key_a):
    admin = make_user(superuser=True)
    first, second = canary_value("first"), canary_value("second")

    created = create_secret("API_TOKEN", first, actor=admin, description="for the ERP")
    rotate_secret("API_TOKEN", second, actor=admin)
    update_secret_description("API_TOKEN", "for the new ERP", actor=admin)
    assert rotate_encryption_key(actor=admin) == 1
    delete_secret("API_TOKEN", actor=admin)

    entries = list(AuditLogEntry.objects.order_by("pk"))
    assert [(e.action, e.actor, e.resource_type) for e in entries] == [
        ("secret.create", admin, "stored_secret"),
        ("secret.rotate", admin, "stored_secret"),
        ("secret.update", admin, "stored_secret"),
        ("secret.rotate_key", admin, "stored_secret"),
        ("secret.delete", admin, "stored_secret"),
    ]
    assert entries[0].details == {"name": "API_TOKEN", "description": "for the ERP"}
    assert entries[1].details == {"name": "API_TOKEN"}
    assert entries[3].details == {"count": 1}
    assert entries[4].details == {"name": "API_TOKEN"}
    assert {e.resource_id for e in entries if e.action != "secret.rotate_key"} == {str(created.pk)}
    dump = serializers.serialize("json", AuditLogEntry.objects.all())
    assert first not in dump
    assert second not in dump


def test_secret_names_follow_the_reference_rules(key_a):
    with pytest.raises(InvalidSecretRefError, match="not a valid secret name"):
        create_secret("1_STARTS_WITH_A_DIGIT", "value")
    with pytest.raises(InvalidSecretRefError):
        create_secret("has-dash", "value")
    with pytest.raises(InvalidSecretRefError):
        create_secret("A" * 129, "value")
    create_secret("A" * 128, "value")  # the longest name there is


def test_values_must_be_non_empty_text_of_at_most_64_kb(key_a):
    with pytest.raises(InvalidSecretValueError, match="cannot be empty"):
        create_secret("EMPTY", "")
    with pytest.raises(InvalidSecretValueError, match="must be a string, not bytes"):
        create_secret("BYTES", b"value")
    with pytest.raises(InvalidSecretValueError, match="at most 64 KB"):
        create_secret("BIG", "x" * (MAX_SECRET_VALUE_BYTES + 1))
    with pytest.raises(InvalidSecretValueError, match="at most 64 KB"):
        create_secret("BIG", "é" * (MAX_SECRET_VALUE_BYTES // 2 + 1))  # counted in UTF-8
    create_secret("BIG", "x" * MAX_SECRET_VALUE_BYTES)
    assert resolve("$secret:BIG") == "x" * MAX_SECRET_VALUE_BYTES
    with pytest.raises(InvalidSecretValueError):
        rotate_secret("BIG", "")
    assert list(StoredSecret.objects.values_list("name", flat=True)) == ["BIG"]


def test_unicode_values_survive_the_round_trip(key_a):
    value = "pässwörd-🔑-" + canary_value()
    create_secret("UNICODE", value)
    assert resolve("$secret:UNICODE") == value


def test_a_taken_name_conflicts_and_missing_names_are_not_found(key_a):
    create_secret("TAKEN", canary_value())
    with pytest.raises(SecretAlreadyExistsError, match="rotate it"):
        create_secret("TAKEN", canary_value())
    with pytest.raises(SecretNotFoundError):
        rotate_secret("MISSING", "value")
    with pytest.raises(SecretNotFoundError):
        delete_secret("MISSING")
    assert list(AuditLogEntry.objects.values_list("action", flat=True)) == ["secret.create"]


def test_deleted_secrets_stop_resolving(key_a):
    create_secret("GONE", canary_value())
    delete_secret("GONE")
    with pytest.raises(SecretNotFoundError):
        resolve("$secret:GONE")
    assert get_backend().list_keys() == []
