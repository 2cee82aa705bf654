import hashlib
import hmac

import pytest

from automate.webhooks import (
    UnknownSchemeError,
    generic_signature_header,
    generic_signing_string,
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


def _generic_digest(secret, timestamp, delivery_id, body):
    message = f"{timestamp}.{delivery_id}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def test_generic_signature_signs_timestamp_delivery_id_and_body():
    digest = _generic_digest(SECRET, NOW, "d-1", BODY)
    headers = {"X-Signature": f"t={NOW},v1={digest}", "X-Delivery-Id": "d-1"}
    assert verify_signature("generic", SECRET, headers, BODY, now=NOW)
    assert generic_signature_header(SECRET, BODY, "d-1", timestamp=NOW) == headers["X-Signature"]
    assert generic_signing_string(NOW, "d-1", BODY) == f"{NOW}.d-1.".encode() + BODY


def test_generic_signature_with_named_headers_and_several_v1():
    header = generic_signature_header(SECRET, BODY, "abc", timestamp=NOW)
    good = header.split("v1=")[1]
    headers = {"X-Sig": f"t={NOW},v1={'0' * 64},v1={good.upper()}", "X-Id": "abc"}
    assert verify_signature(
        "generic", SECRET, headers, BODY, now=NOW, header_name="X-Sig", delivery_id_header="X-Id"
    )
    # The default header names are not read when the endpoint names others.
    assert not verify_signature(
        "generic",
        SECRET,
        {"X-Signature": header, "X-Delivery-Id": "abc"},
        BODY,
        now=NOW,
        header_name="X-Sig",
        delivery_id_header="X-Id",
    )


@pytest.mark.parametrize(
    ("headers", "now", "why"),
    [
        ({"X-Delivery-Id": "d-2"}, NOW, "the delivery id was changed"),
        ({"X-Delivery-Id": ""}, NOW, "the delivery id was emptied"),
        ({"X-Delivery-Id": None}, NOW, "the delivery id was dropped"),
        ({}, NOW + 301, "too old"),
        ({}, NOW - 301, "too far in the future"),
        ({"X-Signature": _generic_digest(SECRET, NOW, "d-1", BODY)}, NOW, "no timestamp"),
        (
            {"X-Signature": "sha256=" + hmac.new(SECRET.encode(), BODY, "sha256").hexdigest()},
            NOW,
            "the old body-only signature",
        ),
        ({"X-Signature": f"t={NOW}"}, NOW, "no v1"),
    ],
)
def test_generic_replays_and_old_formats_fail(headers, now, why):
    base = {
        "X-Signature": generic_signature_header(SECRET, BODY, "d-1", timestamp=NOW),
        "X-Delivery-Id": "d-1",
    }
    merged = {name: value for name, value in {**base, **headers}.items() if value is not None}
    assert verify_signature("generic", SECRET, merged, BODY, now=now) is False, why


def test_generic_tolerance_is_configurable():
    headers = {
        "X-Signature": generic_signature_header(SECRET, BODY, "d-1", timestamp=NOW),
        "X-Delivery-Id": "d-1",
    }
    assert verify_signature("generic", SECRET, headers, BODY, now=NOW + 299)
    assert not verify_signature("generic", SECRET, headers, BODY, now=NOW + 61, tolerance_s=60)


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
        ("generic", {"X-Signature": "\u00e9", "X-Delivery-Id": "d"}),
        ("generic", {"X-Signature": f"t={NOW},v1=\u00e9", "X-Delivery-Id": "\u00e9"}),
        ("generic", {"X-Signature": "t=" + "9" * 5000 + ",v1=" + "0" * 64, "X-Delivery-Id": "d"}),
    ],
)
def test_malformed_headers_just_fail(scheme, headers):
    assert verify_signature(scheme, SECRET, headers, BODY, now=NOW) is False
