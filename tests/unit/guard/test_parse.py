"""The input guard's pure checks: every kind of bad JSON is refused with the right status,
code and a path, and nothing recursive ever sees a deep document."""

import json
import math

import pytest

from automate.guard.parse import (
    InputRejected,
    JsonLimits,
    bad_text_path,
    check_json_value,
    check_text,
    load_json,
)

LIMITS = JsonLimits(max_bytes=10_000, max_depth=16, max_number_digits=50)


def refused(data, limits=LIMITS):
    with pytest.raises(InputRejected) as caught:
        load_json(data, what="The body", limits=limits)
    return caught.value


def test_valid_json_comes_back_unchanged():
    doc = {"a": [1, 2.5, None, True, "é😀"], "b": {"c": -12345678901234567890}}
    assert load_json(json.dumps(doc), what="x", limits=LIMITS) == doc
    assert load_json(json.dumps(doc).encode(), what="x", limits=LIMITS) == doc


@pytest.mark.parametrize("size", [10_001, 20_000, 1_000_000])
def test_a_body_over_the_limit_is_a_413_naming_size_and_limit(size):
    exc = refused(b" " * size)
    assert (exc.http_status, exc.code, exc.reason) == (413, "payload_too_large", "size")
    assert exc.details == {"size": size, "limit": 10_000}
    assert f"{size} bytes" in exc.message


@pytest.mark.parametrize(
    "text",
    [
        "[" * 10_000 + "]" * 10_000,
        '{"a":' * 5_000 + "1" + "}" * 5_000,
        "[" * 17 + "]" * 17,
        '[{"x": ' * 9 + "1" + "}]" * 9,
    ],
)
def test_nesting_deeper_than_the_limit_is_refused_before_parsing(text):
    exc = refused(text, JsonLimits(max_bytes=10**6, max_depth=16))
    assert exc.http_status == 400
    assert exc.reason == "depth"
    assert "16 levels" in exc.message


def test_brackets_inside_strings_do_not_count_as_depth():
    text = json.dumps({"s": "[" * 1000 + '\\"{' * 100})
    assert load_json(text, what="x", limits=LIMITS)["s"].startswith("[[[")
    assert load_json("[" * 16 + "]" * 16, what="x", limits=LIMITS) == json.loads(
        "[" * 16 + "]" * 16
    )


@pytest.mark.parametrize("digits", [51, 4_301, 5_000])
def test_integers_with_too_many_digits_are_refused(digits):
    for sign in ("", "-"):
        exc = refused(f'{{"n": {sign}{"9" * digits}}}')
        assert (exc.code, exc.reason, exc.http_status) == ("number_too_large", "number", 400)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999", "-1e400"])
def test_numbers_json_cannot_store_are_refused(literal):
    exc = refused(f'{{"n": {literal}}}')
    assert exc.code == "invalid_number"


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('{"a\\u0000b": 1}', "a\\x00b"),
        ('{"a": "x\\u0000"}', "a"),
        ('{"\\ud800": 1}', "\\ud800"),
        ('{"k": ["ok", "\\udfff"]}', "k[1]"),
        ('{"deep": {"er": "\\ud83d"}}', "deep.er"),
        ('"\\u0000"', "(top level)"),
    ],
)
def test_nul_and_unpaired_surrogates_in_keys_or_values_are_refused_with_their_path(text, path):
    exc = refused(text)
    assert (exc.code, exc.reason) == ("invalid_text", "text")
    assert exc.details["path"] == path
    exc.message.encode("utf-8")  # the message itself can be sent


def test_a_paired_surrogate_escape_is_a_real_character_and_accepted():
    assert load_json('{"e": "\\ud83d\\ude00"}', what="x", limits=LIMITS) == {"e": "😀"}


@pytest.mark.parametrize("data", [b"\xff\xfe{}", b'{"a": "\xc3"}', "{oops", "", "[1,]"])
def test_malformed_input_is_a_400_naming_the_problem(data):
    exc = refused(data)
    assert (exc.http_status, exc.code, exc.reason) == (400, "malformed_request", "syntax")


def test_check_json_value_applies_the_same_rules_to_parsed_values():
    deep: list = []
    node = deep
    for _ in range(100_000):  # far deeper than any recursive walk could go
        node.append([])
        node = node[0]
    for value, reason in [
        (deep, "depth"),
        ({"n": 10**60}, "number"),
        ({"n": -(10**60)}, "number"),
        ({"f": math.inf}, "number"),
        ({"f": math.nan}, "number"),
        ({"s": "a\x00"}, "text"),
        ({"\ud800": 1}, "text"),
    ]:
        with pytest.raises(InputRejected) as caught:
            check_json_value(value, what="The graph", limits=LIMITS)
        assert caught.value.reason == reason
    ok = {"n": 10**49, "b": True, "s": "ok"}
    assert check_json_value(ok, what="x", limits=LIMITS) is ok


def test_check_text_refuses_bad_characters_and_overlong_text():
    assert check_text("fine", what="The name", max_length=10) == "fine"
    for value in ("a\x00", "\udc00"):
        with pytest.raises(InputRejected):
            check_text(value, what="The name")
    with pytest.raises(InputRejected) as caught:
        check_text("x" * 5000, what="The name", max_length=200)
    assert "5000 characters" in caught.value.message
    assert caught.value.details["limit"] == 200


def test_bad_text_path_finds_nothing_in_clean_values():
    assert bad_text_path({"a": ["b", {"c": "d"}], "n": 1}) is None


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100 + '"' + '\\"' * 500_000,  # an unterminated string full of escaped quotes
        "[" * 100 + '"a' * 500_000,
        '"' * 1_000_000,
        "[" * 100 + "\\" * 1_000_000,
    ],
    ids=["escaped-quotes", "many-strings", "only-quotes", "backslashes"],
)
def test_the_depth_scan_stays_linear_on_adversarial_text(text):
    import time

    started = time.monotonic()
    with pytest.raises(InputRejected):
        load_json(text, what="The body", limits=JsonLimits(max_bytes=2_000_000, max_depth=64))
    assert time.monotonic() - started < 3
