import hashlib
import hmac

import pytest

from automate.webhooks import (
    UnknownSchemeError,
    github_signature_header,
    stripe_signature_header,
    verify_signature,
)

SECRET = "whsec_test_secret"
BODY = b'{"id": "evt_1", "type": "invoice.paid"}'
NOW = 1_800_000_000


def test_stripe_signature_verifies_within_tolerance():
    header = stripe_signature_header(SECRET, BODY, timestamp=NOW)
    assert verify_signature("stripe", SECRET, {"Stripe-Signature": header}, BODY, now=NOW + 299)
    assert not verify_signature("stripe", SECRET, {"Stripe-Signature": header}, BODY, now=NOW + 301)
    assert not verify_signature("stripe", SECRET, {"Stripe-Signature": header}, BODY, now=NOW - 301)


def test_stripe_signature_computed_independently():
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    headers = {"stripe-signature": f"t={NOW},v1={expected}"}
    assert verify_signature("stripe", SECRET, headers, BODY, now=NOW)


def test_stripe_accepts_any_of_several_v1_signatures_during_a_secret_roll():
    good = stripe_signature_header(SECRET, BODY, timestamp=NOW).split("v1=")[1]
    header = f"t={NOW},v1={'0' * 64},v1={good},v0=ignored"
    assert verify_signature("stripe", SECRET, {"Stripe-Signature": header}, BODY, now=NOW)


@pytest.mark.parametrize(
    "header",
    [None, "", "t=abc,v1=00", f"t={NOW}", f"v1={'0' * 64}", f"t={NOW},v1={'0' * 64}"],
)
def test_bad_stripe_headers_fail(header):
    headers = {} if header is None else {"Stripe-Signature": header}
    assert not verify_signature("stripe", SECRET, headers, BODY, now=NOW)


def test_tampered_body_or_wrong_secret_fails():
    header = stripe_signature_header(SECRET, BODY, timestamp=NOW)
    assert not verify_signature(
        "stripe", SECRET, {"Stripe-Signature": header}, BODY + b" ", now=NOW
    )
    assert not verify_signature("stripe", "other", {"Stripe-Signature": header}, BODY, now=NOW)


def test_github_signature():
    header = github_signature_header(SECRET, BODY)
    assert header == "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert verify_signature("github", SECRET, {"X-Hub-Signature-256": header}, BODY)
    assert not verify_signature("github", SECRET, {"X-Hub-Signature-256": header[7:]}, BODY)
    assert not verify_signature("github", SECRET, {"X-Hub-Signature": header}, BODY)


def test_generic_signature_with_a_named_header():
    digest = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert verify_signature("generic", SECRET, {"X-Sig": digest}, BODY, header_name="X-Sig")
    assert verify_signature(
        "generic", SECRET, {"X-Sig": "sha256=" + digest.upper()}, BODY, header_name="X-Sig"
    )
    assert not verify_signature(
        "generic", SECRET, {"X-Signature": digest}, BODY, header_name="X-Sig"
    )


def test_empty_secret_never_verifies_and_unknown_scheme_raises():
    assert not verify_signature(
        "github", "", {"X-Hub-Signature-256": github_signature_header("", BODY)}, BODY
    )
    with pytest.raises(UnknownSchemeError, match="'md5'"):
        verify_signature("md5", SECRET, {}, BODY)


@pytest.mark.parametrize(
    ("scheme", "headers"),
    [
        ("stripe", {"Stripe-Signature": "t=\u00b2,v1=" + "0" * 64}),  # a digit isdigit() likes
        ("stripe", {"Stripe-Signature": "t=" + "9" * 5000 + ",v1=" + "0" * 64}),
        ("stripe", {"Stripe-Signature": f"t={NOW},v1=\u00e9"}),
        ("github", {"X-Hub-Signature-256": "sha256=\u00e9\u00e9"}),
        ("generic", {"X-Signature": "\u00e9"}),
    ],
)
def test_malformed_headers_just_fail(scheme, headers):
    assert verify_signature(scheme, SECRET, headers, BODY, now=NOW) is False
