"""The official JsonLogic conformance suite, from the copy vendored in the repository
(tests/conformance/jsonlogic/tests.json, byte-identical to shared/conformance's)."""

import hashlib
import json
import math
from pathlib import Path

from automate.rules import apply

SUITE = Path(__file__).resolve().parents[2] / "conformance" / "jsonlogic" / "tests.json"
SUITE_SHA256 = "3f2ef4252eb0285e5e0105b2c2fc14155d6e691519ecf46a4591c6f480587c31"


def json_equal(a, b):
    """JSON equality: a bool is never a number, 1 == 1.0, key order is irrelevant."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if a is None or b is None:
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def test_json_equal_is_strict_about_booleans():
    assert not json_equal(True, 1)
    assert json_equal(1, 1.0)
    assert not json_equal([1], [True])


def test_every_case_of_the_conformance_suite_passes():
    raw = SUITE.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SUITE_SHA256, "the vendored suite was modified"
    cases = [entry for entry in json.loads(raw) if not isinstance(entry, str)]
    assert len(cases) == 277
    failures = []
    for rule, data, expected in cases:
        got = apply(json.loads(json.dumps(rule)), json.loads(json.dumps(data)))
        if not json_equal(got, expected):
            failures.append(f"{json.dumps(rule)} on {json.dumps(data)}: {got!r} != {expected!r}")
    assert failures == []
    assert len(cases) == 277
