"""Credential patterns need a credential: prose stays readable, real tokens are masked."""

import base64

import pytest

from automate.governance import redaction
from automate.governance.redaction import MASK, SecretMasker, redact, redact_text

# Realistic-shaped fakes (none of them is a live credential).
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
OPENAI = "sk-proj-Abc123def456GHI789jkl012MNO345"
ANTHROPIC = "sk-ant-api03-Zx9yW8vU7tS6rQ5pO4nM3lK2jI1hG0fE"


@pytest.fixture(autouse=True)
def fresh_masker(monkeypatch):
    monkeypatch.setattr(redaction, "secret_masker", SecretMasker())


PROSE = [
    # The seen case and its kind: "bearer", "basic" and "token" as English words.
    "Bearer of good news",
    "I am the bearer of bad news.",
    "Bearer bonds were popular in the 1980s",
    "the bearer instrument is payable to whoever holds it",
    "Bearer authentication is described in RFC 6750",
    "Use a Bearer token in the header",
    "missing bearer token",
    "bearer tokens/keys rotate monthly",
    "a well-known bearer well-known",
    "Coffee bearer: Anna",
    "Basic usage of the API",
    "Basic auth is disabled",
    "Basic Ohio facts",
    "Basic training starts Monday",
    "basic principles of design",
    "The basic idea is simple",
    "Basic plan: 5 seats",
    "Token ring networks are obsolete",
    "token limit reached",
    "a token of appreciation",
    "Token usage: 4096 tokens",
    "each token counts",
    "the token expired at noon",
    "token 2 of 3",
    # Header-shaped lines of prose.
    "Key: press Enter to continue",
    "Secret: the meeting moved to Friday",
    "Token: we still need to decide which provider to use",
    "Signature: please sign below",
    "Note: the key is under the mat",
    # key=value and friends that name nothing secret.
    "token_count=5 max_tokens=300",
    "keyboard=us layout",
    "monkey=banana",
    "Subject: your secret santa",
    "the secret ingredient is love",
    "an author wrote a secret note",
    "https://example.com/path?a=b",
    "the task-list of sk-items",
]


@pytest.mark.parametrize("text", PROSE)
def test_prose_is_left_alone(text):
    assert redact_text(text) == text
    assert redact({"greeting": text}) == {"greeting": text}
    assert redact([text]) == [text]


def test_the_seen_case():
    assert redact({"greeting": "Bearer of good news"}) == {"greeting": "Bearer of good news"}


BASIC = base64.b64encode(b"user:pass").decode()
BASIC_SERVICE = base64.b64encode(b"svc-account:S3cr3t!pw").decode()

TOKENS = [
    # (text, the secret part that must not survive)
    (f"Bearer {JWT}", JWT),
    (f"Bearer {OPENAI}", OPENAI),
    (f"bearer {ANTHROPIC}", ANTHROPIC),
    ("Bearer ya29.a0AfH6SMBx3kZz-example_value", "ya29.a0AfH6SMBx3kZz-example_value"),
    ("Bearer 9f86d081884c7d659a2feaa0c55ad015", "9f86d081884c7d659a2feaa0c55ad015"),
    ("Bearer abc123", "abc123"),
    ("BEARER QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
    ("Bearer AbCdEfGhIjKlMnOpQrStUvWx", "AbCdEfGhIjKlMnOpQrStUvWx"),
    (f"Basic {BASIC}", BASIC),
    ("Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
    (f"basic {BASIC_SERVICE}", BASIC_SERVICE),
    (f"Basic {JWT}", JWT),
    (
        "Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b",
        "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b",
    ),
    ("ghp_16C7e42F292c6912E7710c838347Ae178B4a", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"),
    (
        "github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRS",
        "github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRS",
    ),
    ("glpat-xY9zA8bC7dE6fG5hI4jK", "glpat-xY9zA8bC7dE6fG5hI4jK"),
    (
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    ),
    ("xoxe-1-My0xLTIzNDU2Nzg5MA", "xoxe-1-My0xLTIzNDU2Nzg5MA"),
    ("xapp-1-A0123456789-1234567890123-abcdef0123", "xapp-1-A0123456789-1234567890123-abcdef0123"),
    (
        "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        "XXXXXXXXXXXXXXXXXXXXXXXX",
    ),
    ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("rk_test_51HqLyjWDarjtT1zdp7dc", "rk_test_51HqLyjWDarjtT1zdp7dc"),
    ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    ("AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe", "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe"),
    (
        "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",
        "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",
    ),
    ("npm_abcdefghijklmnopqrstuvwxyz0123456789", "npm_abcdefghijklmnopqrstuvwxyz0123456789"),
    ("hf_abcdefghijklmnopqrstuvwxyzABCDEFGH", "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH"),
    (JWT, JWT),
    (OPENAI, OPENAI),
    ("AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
]


@pytest.mark.parametrize(("text", "secret"), TOKENS)
def test_real_looking_tokens_are_masked_in_prose_and_structures(text, secret):
    sentence = f"the call with {text} failed"
    masked = redact_text(sentence)
    assert secret not in masked
    assert MASK in masked
    assert masked.startswith("the call with ")
    assert masked.endswith(" failed")
    assert secret not in repr(redact({"note": sentence, "items": [text]}))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bearer of good news, Bearer abc123", "Bearer of good news, Bearer ********"),
        (f"Basic usage: Basic {BASIC}", "Basic usage: Basic ********"),
        ("Token ring, Token 9944b09199c62bcf", "Token ring, Token ********"),
        # Header lines: whole-line credentials, one-word values, and prose after a name.
        ("Authorization: Bearer abc.def", "Authorization: ********"),
        ("Proxy-Authorization: Basic dXNlcjpwYXNz", "Proxy-Authorization: ********"),
        ("Password: correct horse battery staple", "Password: ********"),
        ("Set-Cookie: sid=abc; Path=/; HttpOnly", "Set-Cookie: ********"),
        ("X-Api-Key: k-123456", "X-Api-Key: ********"),
        ("Token: x", "Token: ********"),
        ("Secret: hunter2", "Secret: ********"),
        ("Token: abc123def456 expires tomorrow", "Token: ******** expires tomorrow"),
        ("Key: press Enter\nPassword: hunter2", "Key: press Enter\nPassword: ********"),
        # The generic scheme rule leaves short or word-like credentials alone.
        ("Bearer abc.def", "Bearer ********"),
    ],
)
def test_only_the_credential_goes(text, expected):
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Bearer " + "a-" * 50_000,
        "Basic " + "QUFB" * 50_000,
        "Basic " + "eyJ-" * 25_000,
        "Token " * 30_000,
        "whsec_" * 20_000,
        "SG." * 40_000,
        "hooks.slack.com/services/T1/B1/" * 4_000,
        "Key: a b\n" * 10_000,
        "AIza" * 30_000,
    ],
)
def test_the_new_patterns_stay_linear_on_adversarial_text(text):
    import time

    start = time.perf_counter()
    redact_text(text)
    assert time.perf_counter() - start < 5
