"""redact / redact_text: what gets masked, what stays readable, and that input is untouched."""

import copy
import os
import re
import subprocess
import sys
import time
from collections import namedtuple
from pathlib import Path

import pytest

from automate.governance import redaction
from automate.governance.redaction import MASK, SecretMasker, is_sensitive_key, redact, redact_text

# Realistic-shaped fakes (none of them is a live credential).
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SESSION_KEY_ID = "ASIAY34FZKBOKMUTVV7A"
STRIPE_LIVE = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
STRIPE_TEST = "sk_test_51HqLyjWDarjtT1zdp7dcABCD"
STRIPE_RESTRICTED = "rk_live_51HqLyjWDarjtT1zdp7dc"
STRIPE_RESTRICTED_TEST = "rk_test_51HqLyjWDarjtT1zdp7dc"
GITHUB_PAT_CLASSIC = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
GITHUB_OAUTH = "gho_16C7e42F292c6912E7710c838347Ae178B4a"
GITHUB_APP = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
GITHUB_USER_TO_SERVER = "ghu_16C7e42F292c6912E7710c838347Ae178B4a"
GITHUB_REFRESH = "ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9Dc86A1498"
GITHUB_FINE_GRAINED = (
    "github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRS"
)
SLACK_BOT = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
SLACK_USER = "xoxp-123456789012-123456789012-123456789012-0123456789abcdef0123456789abcdef"
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
    "-----END RSA PRIVATE KEY-----"
)


@pytest.fixture(autouse=True)
def fresh_masker(monkeypatch):
    """A private known-values registry, so no test leaks masked values into another."""
    masker = SecretMasker()
    monkeypatch.setattr(redaction, "secret_masker", masker)
    return masker


# --- keys ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "X-Api-Key",
        "x-api-key",
        "client_secret",
        "clientSecret",
        "Set-Cookie",
        "cookie",
        "csrf_token",
        "apiKey",
        "APIKey",
        "APIKEY",
        "api.key",
        "accessToken",
        "access_token",
        "refreshToken",
        "Authorization",
        "password",
        "PASSWORD",
        "db.password",
        "user password",
        "password2",
        "api_key_1",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "SECRET_KEY",
        "aws_secret_access_key",
        "key",
        "credential",
        "credentials",
        "sessionid",
        "session_id",
        "SessionID",
        "signature",
        "X-Hub-Signature",
        "privateKey",
        "private_key",
    ],
)
def test_sensitive_keys_are_recognised(key):
    assert is_sensitive_key(key)
    assert redact({key: "value-1234"}) == {key: MASK}


@pytest.mark.parametrize(
    "key",
    [
        "token_count",
        "max_tokens",
        "keyboard",
        "author",
        "cookie_consent",
        "monkey",
        "passwordless",
        "secret_name",
        "private_key_id",
        "key_id",
        "password_reset_url",
        "tokens",
        "user",
        "",
        "___",
    ],
)
def test_ordinary_keys_are_left_alone(key):
    assert not is_sensitive_key(key)
    assert redact({key: "value-1234"}) == {key: "value-1234"}


def test_non_string_keys_are_kept_and_never_sensitive():
    data = {1: "one", None: "none", (1, 2): "pair", 2.5: {"password": "x1y2"}}
    assert redact(data) == {1: "one", None: "none", (1, 2): "pair", 2.5: {"password": MASK}}
    assert not is_sensitive_key(7)


@pytest.mark.parametrize(
    "value",
    [{"user": "bob", "pass": "x"}, ["a", "b"], 12345, 3.5, True, False, 0, "hunter2", ("a",)],
)
def test_a_sensitive_key_masks_its_whole_value_whatever_its_type(value):
    assert redact({"credentials": value}) == {"credentials": MASK}


@pytest.mark.parametrize("value", [None, ""])
def test_a_sensitive_key_that_is_not_set_shows_as_not_set(value):
    assert redact({"api_key": value}) == {"api_key": value}


@pytest.mark.parametrize("ref", [{"$secret": "SLACK_TOKEN"}, "$secret:SLACK_TOKEN"])
def test_secret_references_stay_visible_even_under_sensitive_keys(ref):
    data = {"token": ref, "headers": {"Authorization": ref}, "inputs": [ref]}
    assert redact(data) == data


# --- values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Bearer abc.def", "abc.def"),
        ("bearer abc123xyz", "abc123xyz"),
        (f"Bearer {JWT}", JWT),
        ("Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ("basic Ym9iOmh1bnRlcjI=", "Ym9iOmh1bnRlcjI="),
        (JWT, JWT),
        (AWS_KEY_ID, AWS_KEY_ID),
        (AWS_SESSION_KEY_ID, AWS_SESSION_KEY_ID),
        (STRIPE_LIVE, STRIPE_LIVE),
        (STRIPE_TEST, STRIPE_TEST),
        (STRIPE_RESTRICTED, STRIPE_RESTRICTED),
        (STRIPE_RESTRICTED_TEST, STRIPE_RESTRICTED_TEST),
        (GITHUB_PAT_CLASSIC, GITHUB_PAT_CLASSIC),
        (GITHUB_OAUTH, GITHUB_OAUTH),
        (GITHUB_APP, GITHUB_APP),
        (GITHUB_USER_TO_SERVER, GITHUB_USER_TO_SERVER),
        (GITHUB_REFRESH, GITHUB_REFRESH),
        (GITHUB_FINE_GRAINED, GITHUB_FINE_GRAINED),
        (SLACK_BOT, SLACK_BOT),
        (SLACK_USER, SLACK_USER),
        ("xoxa-2-1234567890-abcdefabcdef", "xoxa-2-1234567890-abcdefabcdef"),
        ("xoxr-1234567890-abcdefabcdef", "xoxr-1234567890-abcdefabcdef"),
        ("xoxs-1234567890-abcdefabcdef", "xoxs-1234567890-abcdefabcdef"),
        (PEM, "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"),
        ("postgres://app:hunter2@db.internal:5432/app", "hunter2"),
    ],
)
def test_credential_shaped_values_are_masked_anywhere(text, secret):
    data = {
        "note": f"sent {text} to the API",
        "list": [text, [f"({text})"]],
        "tuple": (text,),
    }
    out = redact(data)
    assert secret not in repr(out)
    assert MASK in out["note"]
    assert out["note"].startswith("sent ")
    assert out["note"].endswith(" to the API")
    assert secret not in redact(text)
    assert secret not in redact_text(f"error: {text}")


def test_only_the_credential_part_is_replaced_so_text_stays_readable():
    assert redact_text("GET https://bob:hunter2@example.com/hooks") == (
        "GET https://bob:********@example.com/hooks"
    )
    assert redact_text("sent Bearer abc.def upstream") == "sent Bearer ******** upstream"
    assert redact_text(f"the key {AWS_KEY_ID} expired") == "the key ******** expired"
    assert redact_text(f"{PEM}\nnext line") == "********\nnext line"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pass@host/", "https://user:********@host/"),
        ("redis://:s3cret@cache:6379/0", "redis://:********@cache:6379/0"),
        ("amqp://guest:p@ss@rabbit/vhost", "amqp://guest:********@rabbit/vhost"),
        ("https://u:pa/ss#x@host/db", "https://u:********@host/db"),
        ("https://u:pw@host/p?email=a@b.com", "https://u:********@host/p?email=a@b.com"),
        # "@" then "/" or "#" inside the password: masked to the last "@", not the first.
        ("https://u:a@b/c#d@host", "https://u:********@host"),
        ("postgres://u:a@b/c#d@host/db", "postgres://u:********@host/db"),
        ("mysql://root:p@ss/w#rd@db.example:3306/x", "mysql://root:********@db.example:3306/x"),
        ("https://u:a@b/c#d@e/f@host:5432/db?x=1", "https://u:********@host:5432/db?x=1"),
        ("redis://:a@b/c@cache:6379/0", "redis://:********@cache:6379/0"),
        ("dsn postgres://u:a@b/c#d@host/db failed", "dsn postgres://u:********@host/db failed"),
        (
            "smtp://me@example.com:pw123@smtp.example.com",
            "smtp://me@example.com:********@smtp.example.com",
        ),
    ],
)
def test_passwords_inside_urls_are_masked_whole(url, expected):
    assert redact_text(url) == expected
    assert redact({"dsn": url}) == {"dsn": expected}


@pytest.mark.parametrize(
    "text",
    [
        "https://example.com/path?a=b",
        "https://user@example.com:8443/path",
        "https://host:8080/path",
        "missing bearer token",
        "Basic usage of the API",
        "keyboard shortcuts: ctrl+k",
        "Error: the upstream timed out",
        "token_count=5 max_tokens=300",
        "an author wrote a secret note",
        "$secret:SLACK_TOKEN",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /cb?code=1&api_key=abc123&page=2", "GET /cb?code=1&api_key=********&page=2"),
        ("next=https://x.test/?token=abc", "next=https://x.test/?token=********"),
        ("login password=hunter2 user=bob", "login password=******** user=bob"),
        ("Client(secret='hunter2', id='c1')", "Client(secret='********', id='c1')"),
        ("{'password': 'hunter2', 'user': 'bob'}", "{'password': '********', 'user': 'bob'}"),
        (
            '{"access_token": "abc", "expires_in": 3600}',
            '{"access_token": "********", "expires_in": 3600}',
        ),
        ("Authorization: Bearer abc.def", "Authorization: ********"),
        (
            "Cookie: sid=abc; theme=dark\r\nHost: example.com",
            "Cookie: ********\r\nHost: example.com",
        ),
        ("X-Debug: password=hunter2", "X-Debug: password=********"),
        ("password='never closed", "password=******** closed"),
        ("token=$secret:SLACK_TOKEN", "token=$secret:SLACK_TOKEN"),
    ],
)
def test_values_named_by_a_sensitive_key_in_text_are_masked(text, expected):
    assert redact_text(text) == expected


# --- structures ------------------------------------------------------------------------


def test_nested_structures_are_walked_and_types_kept():
    point = namedtuple("Point", "x y")
    data = {
        "steps": [
            {"name": "post", "headers": {"X-Api-Key": "k-123456"}, "args": ("Bearer abc123", 1)},
            [[{"password": "x"}]],
        ],
        "point": point("Bearer abc123", 2),
        "tags": {"ok", SLACK_BOT},
        "raw": SLACK_BOT.encode(),
    }
    out = redact(data)
    assert out["steps"][0] == {
        "name": "post",
        "headers": {"X-Api-Key": MASK},
        "args": ("Bearer ********", 1),
    }
    assert out["steps"][1] == [[{"password": MASK}]]
    assert out["point"] == point("Bearer ********", 2)
    assert isinstance(out["point"], point)
    assert out["tags"] == {"ok", MASK}
    assert out["raw"] == MASK.encode()


def test_the_input_is_never_mutated_and_the_result_is_a_copy():
    data = {"a": [{"password": "hunter2", "note": f"uses {SLACK_BOT}"}], "b": {"c": [1, 2]}}
    before = copy.deepcopy(data)
    out = redact(data)
    assert data == before
    out["b"]["c"].append(3)
    assert data["b"]["c"] == [1, 2]


def test_top_level_strings_and_scalars():
    assert redact(f"token is {SLACK_BOT}") == "token is ********"
    assert redact(42) == 42
    assert redact(None) is None
    assert redact(True) is True


def test_objects_of_other_types_are_returned_as_they_are():
    marker = object()
    assert redact({"x": marker})["x"] is marker


def test_very_deep_nesting_is_capped_instead_of_crashing():
    data = current = []
    for _ in range(5000):
        current.append([])
        current = current[0]
    out = redact(data)
    depth = 0
    while isinstance(out, list):
        out = out[0]
        depth += 1
    assert out == MASK
    assert depth == redaction.MAX_DEPTH


def test_a_cycle_does_not_crash():
    cycle = {"name": "loop"}
    cycle["self"] = cycle
    assert redact(cycle)["name"] == "loop"


# --- known secret values ---------------------------------------------------------------


def test_registered_values_are_masked_in_text_and_structures(fresh_masker):
    redaction.register_secret_value("plain-looking-value")
    assert redact_text("sent plain-looking-value to slack") == "sent ******** to slack"
    assert redact({"out": ["echo: plain-looking-value"]}) == {"out": ["echo: ********"]}


def test_registered_values_are_masked_when_url_or_json_escaped(fresh_masker):
    redaction.register_secret_value('p@ss "word"/1')
    assert (
        redact_text("https://api.test/?q=p%40ss%20%22word%22%2F1") == "https://api.test/?q=********"
    )
    assert redact_text('{"q": "p@ss \\"word\\"/1"}') == '{"q": "********"}'


def test_short_values_are_not_registered(fresh_masker):
    redaction.register_secret_value("abc")
    assert redact_text("abc abcd") == "abc abcd"
    assert len(fresh_masker) == 0


def test_a_longer_secret_is_masked_whole_when_it_contains_a_shorter_one(fresh_masker):
    fresh_masker.add("abcd")
    fresh_masker.add("abcd-efgh")
    assert fresh_masker.mask("x abcd-efgh y abcd") == "x ******** y ********"


def test_the_masker_is_bounded_and_forgets_the_oldest_first():
    masker = SecretMasker(max_values=3)
    for value in ("value-1", "value-2", "value-3", "value-4"):
        masker.add(value)
    assert len(masker) == 3
    assert "value-1" not in masker
    assert masker.mask("value-1 value-4") == "value-1 ********"


def test_the_masker_can_be_filled_from_many_threads():
    import threading

    masker = SecretMasker()
    threads = [
        threading.Thread(target=lambda n=n: [masker.add(f"secret-{n}-{i}") for i in range(50)])
        for n in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(masker) == 400
    assert masker.mask("secret-7-49") == MASK


def test_clear_forgets_every_value(fresh_masker):
    fresh_masker.add("value-1234")
    fresh_masker.clear()
    assert redact_text("value-1234") == "value-1234"


# --- cost ------------------------------------------------------------------------------


ADVERSARIAL = [
    "a." * 50_000,
    "a=" * 50_000,
    "key=" * 25_000,
    "http://a:" * 10_000,
    "xoxb-" * 20_000,
    "eyJ-" * 25_000,
    "password='" * 10_000,
    "Token: x\n" * 10_000,
]


@pytest.mark.parametrize(
    "text",
    ADVERSARIAL,
    ids=[
        "dots",
        "equals",
        "key-equals",
        "url-prefixes",
        "slack-prefixes",
        "jwt-prefixes",
        "quotes",
        "headers",
    ],
)
def test_long_adversarial_strings_are_redacted_in_linear_time(text):
    # Quadratic scanning takes tens of seconds on these; linear takes well under one.
    start = time.perf_counter()
    redact_text(text)
    assert time.perf_counter() - start < 5


def test_redaction_imports_no_django():
    backend = Path(__file__).resolve().parents[3] / "backend"
    code = (
        "import sys, automate.governance.redaction\n"
        "assert not [m for m in sys.modules if m.startswith('django')], 'django imported'\n"
    )
    env = {**os.environ, "PYTHONPATH": str(backend)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_openai_keys_are_masked_wherever_they_appear():
    key = "sk-proj-Abc123def456GHI789jkl012MNO345"
    assert key not in redact_text(f"calling with {key} failed")
    assert redact({"note": f"key={key}"})["note"] != f"key={key}"
    assert redact_text("a task-list of sk-items") == "a task-list of sk-items"


# --- Python 3.10: possessive quantifiers rewritten ---------------------------------------


def test_possessive_quantifiers_are_rewritten_as_atomic_look_aheads():
    rewritten = redaction._without_possessive(r"[a-z]++=*|\bx{4,}+\.[^\]\s]*+\++")
    assert rewritten == (
        r"(?=(?P<_p0>[a-z]+))(?P=_p0)=*|\b(?=(?P<_p1>x{4,}))(?P=_p1)\."
        r"(?=(?P<_p2>[^\]\s]*))(?P=_p2)\++"
    )
    with pytest.raises(ValueError, match="single atom"):
        redaction._without_possessive(r"(?:ab)*+")


SAMPLES = [
    "GET https://bob:hunter2@example.com/x and ftp://u:a@b/c#d@host/ too",
    "http://u:p@example.com?next=a@b.com /p?email=a@b.com",
    "Authorization: Bearer abc.def.ghi\nCookie: a=b; c=d\nKey: press Enter",
    "Basic dXNlcjpwYXNz== and Token 0123456789abcdef and bearer of good news",
    "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl AKIAABCDEFGHIJKLMNOP sk_live_abcdefgh1234",
    "whsec_ABCDEFGHIJKLMNOP== ghp_ABCDEFGHIJKLMNOPQR github_pat_ABCDEFGHIJKLMNOPQR",
    "glpat-ABCDEFGHIJKLMNOPQRST xoxb-12345678-abc xapp-1-ABCDEFGHIJK",
    "sk-proj-ABCDEFGHIJKLMNOPQRSTUV AIza" + "A" * 35 + " SG.ABCDEFGHIJKLMNOP.ABCDEFGHIJKLMNOP",
    "npm_" + "a" * 36 + " hf_" + "b" * 30 + " hooks.slack.com/services/T0/B0/abcDEF123",
    "password=hunter2&next=https://x/?token=abc 'api_key': 'v' \"secret\" : \"w\"",
    "  X-Api-Key:   abc123\r\nuser.password = 'unterminated\nk=v;a=b,c=d)",
]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="needs possessive quantifiers to compare")
@pytest.mark.parametrize(
    "pattern",
    [redaction._CREDENTIAL_PATTERN, redaction._NAMED_VALUE_PATTERN, redaction._VALUE_PATTERN],
    ids=["credentials", "named-values", "values"],
)
def test_the_python_310_patterns_match_what_the_possessive_ones_match(pattern):
    rewritten = re.compile(redaction._without_possessive(pattern.pattern), pattern.flags)
    assert rewritten.pattern != pattern.pattern
    texts = [*SAMPLES, *(text[:3000] for text in ADVERSARIAL)]
    for text in texts:
        for start in range(0, len(text), max(1, len(text) // 200)):
            ours, theirs = pattern.search(text, start), rewritten.search(text, start)
            assert (ours and ours.span()) == (theirs and theirs.span()), (text, start)
            if ours is not None and theirs is not None:
                named = {k: v for k, v in theirs.groupdict().items() if not k.startswith("_p")}
                assert named == ours.groupdict()
            if pattern is redaction._VALUE_PATTERN:
                assert pattern.match(text, start).span() == rewritten.match(text, start).span()
