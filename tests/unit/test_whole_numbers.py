"""Every number read from text outside the API (cron, signatures, Retry-After, variable
paths, the studio's forms) takes only ASCII digits."""

from __future__ import annotations

import time

import pytest

from automate.connectors.builtins.webhook import sign, verify_signature
from automate.governance.http import parse_retry_after
from automate.guard.parse import is_whole_number
from automate.triggers.cron_syntax import cron_problem

ODD_DIGITS = ["\u00b2", "\u0663", "\uff13", "1\u00b2", "\u0967"]


@pytest.mark.parametrize("text", ["0", "7", "123456789012345678901"])
def test_ascii_digits_are_whole_numbers(text):
    assert is_whole_number(text)


@pytest.mark.parametrize("text", [*ODD_DIGITS, "", "-1", "1.5", " 1", "0x10"])
def test_other_digits_are_not(text):
    assert not is_whole_number(text)


@pytest.mark.parametrize("digit", ODD_DIGITS)
@pytest.mark.parametrize("template", ["{d} * * * *", "*/{d} * * * *", "0 {d} * * *"])
def test_cron_with_other_digits_is_a_problem_not_a_crash(template, digit):
    assert cron_problem(template.format(d=digit))


@pytest.mark.parametrize("digit", ODD_DIGITS)
def test_retry_after_with_other_digits_is_not_a_number(digit):
    assert parse_retry_after(digit) is None


@pytest.mark.parametrize("digit", ODD_DIGITS)
def test_a_signature_timestamp_with_other_digits_is_refused(digit):
    body = b"{}"
    now = int(time.time())
    good = sign("s3cret", body, now)
    assert verify_signature("s3cret", body, f"t={now},v1={good}", now=now)
    assert not verify_signature("s3cret", body, f"t={digit},v1={good}", now=now)
