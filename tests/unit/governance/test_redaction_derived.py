"""A known secret is masked in its derived forms too: base64 (alone and inside HTTP Basic
credentials), any letter case, reversed, and their URL/JSON spellings."""

import base64
import json
import time

import pytest

from automate.governance import redaction
from automate.governance.redaction import MASK, SecretMasker, redact, redact_text

SECRETS = [
    "s3cr3t-Value_XYZ+/abc",
    "canary-7f3a9c2e5b1d4e8f",
    "pässwörd-ünïcode-42",
    "short123",
]


@pytest.fixture
def masker(monkeypatch):
    masker = SecretMasker()
    monkeypatch.setattr(redaction, "secret_masker", masker)
    return masker


def b64(text):
    return base64.b64encode(text.encode()).decode()


def urlsafe(text):
    return base64.urlsafe_b64encode(text.encode()).decode()


def forms(value):
    return {
        "upper": value.upper(),
        "lower": value.lower(),
        "title": value.title(),
        "swapcase": value.swapcase(),
        "reversed": value[::-1],
        "reversed upper": value[::-1].upper(),
        "base64": b64(value),
        "base64 unpadded": b64(value).rstrip("="),
        "base64 url-safe": urlsafe(value),
        "json-escaped": json.dumps(value)[1:-1],
    }


@pytest.mark.parametrize("value", SECRETS)
def test_every_derived_form_is_masked_whole_in_text(masker, value):
    redaction.register_secret_value(value)
    for name, form in forms(value).items():
        masked = redact_text(f"before {form} after")
        assert masked == f"before {MASK} after", name


@pytest.mark.parametrize("value", SECRETS)
@pytest.mark.parametrize("user", ["", "u", "us", "use", "user", "admin@example.com"])
def test_basic_credentials_of_any_user_are_masked(masker, value, user):
    redaction.register_secret_value(value)
    credential = b64(f"{user}:{value}")
    for text in (
        credential,
        f'{{"auth": "{credential}"}}',
        f"Authorization: Basic {credential}",
        f"sent Basic {credential} upstream",
        urlsafe(f"{user}:{value}"),
        b64(f"{user}:{value}:trailing"),
    ):
        masked = redact_text(text)
        assert credential not in masked
        # What stays visible is at most the user part and a character or two of padding.
        assert MASK in masked
        hidden = masked.split(MASK)
        assert all(len(part.strip('"{}: ').removeprefix("auth")) <= 30 for part in hidden)


@pytest.mark.parametrize("value", SECRETS)
def test_structures_are_masked_in_every_form(masker, value):
    redaction.register_secret_value(value)
    data = {"echo": list(forms(value).values()), "note": "kept"}
    out = redact(data)
    assert out["note"] == "kept"
    assert out["echo"] == [MASK] * len(forms(value))


def test_exception_text_is_masked_in_every_form(masker):
    value = "canary-7f3a9c2e5b1d4e8f"
    redaction.register_secret_value(value)
    error = RuntimeError(f"upstream refused {value.upper()} and {b64('bob:' + value)}")
    masked = redact_text(str(error))
    assert value.upper() not in masked
    assert b64("bob:" + value) not in masked
    assert masked.startswith("upstream refused ")


def test_unrelated_text_is_left_alone(masker):
    redaction.register_secret_value("canary-7f3a9c2e5b1d4e8f")
    text = "Good news: invoice in_1 was paid by CANARY-USER (dXNlcjpwYXNz is another user)."
    assert redact_text(text) == text


def test_known_values_are_counted_once_with_all_their_spellings(masker):
    masker.add("value-1234")
    masker.add("value-1234")
    assert len(masker) == 1
    assert "value-1234" in masker
    assert masker.mask("VALUE-1234 4321-eulav") == f"{MASK} {MASK}"


def test_many_values_still_mask_quickly(masker):
    values = [f"secret-{n:04d}-{'x' * 20}" for n in range(500)]
    for value in values:
        masker.add(value)
    text = ("an ordinary log line with numbers 12345 and words " * 2000) + values[-1].upper()
    started = time.perf_counter()
    masked = masker.mask(text)
    assert time.perf_counter() - started < 2.0
    assert masked.endswith(MASK)


def test_a_longer_secret_registered_much_later_is_still_masked_whole(masker):
    masker.add("abcd-1234")
    for n in range(100):  # the two end up compiled separately
        masker.add(f"filler-value-{n:03d}")
    masker.add("abcd-1234-efgh-5678")
    assert masker.mask("x abcd-1234-efgh-5678 y abcd-1234") == f"x {MASK} y {MASK}"


def test_text_whose_lower_case_changes_length_is_masked_too(masker):
    masker.add("canary-7f3a9c2e5b1d4e8f")
    text = "İstanbul CANARY-7F3A9C2E5B1D4E8F"
    assert masker.mask(text) == f"İstanbul {MASK}"
