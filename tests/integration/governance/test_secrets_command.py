import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from automate.governance.models import AuditLogEntry, StoredSecret
from automate.governance.secret_store import KEYS_VARIABLE, create_secret
from automate.secrets import resolve
from tests.integration.governance.helpers import canary_value, new_key, use_db_backend

pytestmark = pytest.mark.django_db

KEY_A = new_key()


@pytest.fixture(autouse=True)
def keys(monkeypatch, settings):
    use_db_backend(monkeypatch, settings, KEY_A)


class Terminal(io.StringIO):
    """Standard input that claims to be a terminal."""

    def isatty(self):
        return True


def secrets_command(*args, stdin=""):
    out, err = io.StringIO(), io.StringIO()
    stdin = stdin if not isinstance(stdin, str) else io.StringIO(stdin)
    call_command("automate_secrets", *args, stdin=stdin, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def test_set_reads_the_value_from_stdin_and_drops_one_trailing_newline():
    value = canary_value()
    output = secrets_command("set", "SLACK_TOKEN", "--description", "ops", stdin=value + "\n")

    assert output == (
        'Created secret "SLACK_TOKEN" for tenant "default". Its workflows reference it as '
        '{"$secret": "SLACK_TOKEN"}.\n'
    )
    assert resolve("$secret:SLACK_TOKEN") == value
    secret = StoredSecret.objects.get()
    assert secret.description == "ops"
    assert value not in secret.ciphertext
    assert AuditLogEntry.objects.get().action == "secret.create"


def test_set_keeps_everything_but_the_final_newline():
    secrets_command("set", "PEM", stdin="line one\nline two\n\n")
    assert resolve("$secret:PEM") == "line one\nline two\n"


def test_set_prompts_twice_without_echo_at_a_terminal(monkeypatch):
    value = canary_value()
    prompts = []
    monkeypatch.setattr("getpass.getpass", lambda prompt="": prompts.append(prompt) or value)
    output = secrets_command("set", "TYPED", stdin=Terminal())

    assert prompts == ["Value for TYPED (default): ", "Again, to confirm: "]
    assert resolve("$secret:TYPED") == value
    assert value not in output


def test_a_mistyped_confirmation_changes_nothing(monkeypatch):
    answers = iter([canary_value("one"), canary_value("two")])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    with pytest.raises(CommandError, match="did not match"):
        secrets_command("set", "TYPO", stdin=Terminal())
    assert not StoredSecret.objects.exists()


def test_the_value_cannot_be_given_as_an_argument():
    with pytest.raises(CommandError, match="unrecognized arguments"):
        secrets_command("set", "ARGV", canary_value())
    assert not StoredSecret.objects.exists()


def test_list_shows_names_and_descriptions_never_values():
    first, second = canary_value("first"), canary_value("second")
    create_secret("B_SECRET", first, description="the second one")
    create_secret("A_SECRET", second)
    secrets_command("rotate", "A_SECRET", stdin=canary_value())

    lines = secrets_command("list").splitlines()

    assert [line.split("\t")[:2] for line in lines] == [
        ["default", "A_SECRET"],
        ["default", "B_SECRET"],
    ]
    assert lines[0].split("\t")[2].startswith("rotated 20")
    assert lines[1].split("\t")[2].startswith("created 20")
    assert lines[1].endswith("\tthe second one")
    assert first not in "".join(lines)
    assert second not in "".join(lines)


def test_list_says_when_there_is_nothing():
    assert secrets_command("list") == "No stored secrets.\n"


def test_rotate_reads_the_new_value_from_stdin():
    create_secret("ROTATED", canary_value("old"))
    new = canary_value("new")
    assert secrets_command("rotate", "ROTATED", stdin=new) == (
        'Rotated secret "ROTATED" of tenant "default".\n'
    )
    assert resolve("$secret:ROTATED") == new


def test_delete_asks_for_the_name_at_a_terminal():
    create_secret("DOOMED", canary_value())
    with pytest.raises(CommandError, match="did not match"):
        secrets_command("delete", "DOOMED", stdin=Terminal("doomed\n"))
    assert StoredSecret.objects.exists()

    secrets_command("delete", "DOOMED", stdin=Terminal("DOOMED\n"))
    assert not StoredSecret.objects.exists()
    assert AuditLogEntry.objects.filter(action="secret.delete").count() == 1


def test_delete_with_yes_or_from_a_script_does_not_ask():
    create_secret("ONE", canary_value())
    create_secret("TWO", canary_value())
    assert secrets_command("delete", "ONE", "--yes", stdin=Terminal()) == (
        'Deleted secret "ONE" of tenant "default".\n'
    )
    assert secrets_command("delete", "TWO") == 'Deleted secret "TWO" of tenant "default".\n'
    assert not StoredSecret.objects.exists()


def test_rotate_key_re_encrypts_every_secret(monkeypatch):
    value = canary_value()
    create_secret("KEPT", value)
    key_b = new_key()
    monkeypatch.setenv(KEYS_VARIABLE, f"{key_b},{KEY_A}")

    assert secrets_command("rotate-key") == "Re-encrypted 1 secret(s) with the newest key.\n"

    monkeypatch.setenv(KEYS_VARIABLE, key_b)
    assert resolve("$secret:KEPT") == value


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["set", "EXISTS"], "x-value", 'Tenant "default" already has a secret named "EXISTS"'),
        (["set", "EMPTY"], "", "No value given"),
        (["set", "EMPTY"], "\n", "No value given"),
        (["set", "9_BAD"], "x-value", "'9_BAD' is not a valid secret name"),
        (["rotate", "MISSING"], "x-value", 'Tenant "default" has no stored secret named "MISSING"'),
        (["delete", "MISSING"], "", 'Secret "MISSING" was not found'),
        (["set", "BIG"], "x" * (64 * 1024 + 1), "at most 64 KB"),
    ],
)
def test_errors_name_the_problem(args, stdin, message):
    create_secret("EXISTS", canary_value())
    with pytest.raises(CommandError, match=message) as caught:
        secrets_command(*args, stdin=stdin)
    assert caught.value.returncode == 1
    assert StoredSecret.objects.count() == 1


def test_a_missing_key_fails_before_asking_for_a_value(monkeypatch):
    monkeypatch.delenv(KEYS_VARIABLE)
    stdin = io.StringIO(canary_value())
    with pytest.raises(CommandError, match=f"{KEYS_VARIABLE} is not set"):
        secrets_command("set", "NO_KEY", stdin=stdin)
    assert stdin.tell() == 0  # the value was never read
    with pytest.raises(CommandError, match=f"{KEYS_VARIABLE} is not set"):
        secrets_command("rotate-key")


def test_an_action_is_required():
    with pytest.raises(CommandError, match="required: ACTION"):
        call_command("automate_secrets")
