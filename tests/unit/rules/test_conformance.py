"""The official JsonLogic conformance suite (shared/conformance/jsonlogic/tests.json)."""

import json
import math
from pathlib import Path

import pytest

from automate.rules import apply

SUITE = (
    Path(__file__).resolve().parents[3].parent
    / "shared"
    / "conformance"
    / "jsonlogic"
    / "tests.json"
)


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
    if not SUITE.exists():
        pytest.skip(f"conformance suite not found at {SUITE} (shared/ is not beside the repo)")
    cases = [entry for entry in json.loads(SUITE.read_text()) if not isinstance(entry, str)]
    failures = []
    for rule, data, expected in cases:
        got = apply(json.loads(json.dumps(rule)), json.loads(json.dumps(data)))
        if not json_equal(got, expected):
            failures.append(f"{json.dumps(rule)} on {json.dumps(data)}: {got!r} != {expected!r}")
    assert failures == []
    assert len(cases) == 277
