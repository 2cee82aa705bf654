"""automate.payload_caps: what is kept of a step's inputs, outputs and error texts."""

import json

import pytest

from automate import conf
from automate.governance.redaction import register_secret_value
from automate.payload_caps import (
    cap_json,
    cap_text,
    is_truncated,
    json_size,
    text_truncation,
    truncation_of,
)
from automate.templates import TemplateError, render


def compact(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


# --- JSON values ----------------------------------------------------------------------


def test_a_value_exactly_at_the_limit_is_kept_as_it_is():
    value = {"text": "a" * 1000}
    limit = len(compact(value))
    assert json_size(value) == limit
    assert cap_json(value, limit_bytes=limit) is value


def test_one_byte_over_the_limit_becomes_a_marker_with_the_original_size():
    value = {"text": "a" * 1000}
    limit = len(compact(value)) - 1
    marker = cap_json(value, limit_bytes=limit)
    assert is_truncated(marker)
    assert marker["_truncated"] is True
    assert marker["original_bytes"] == limit + 1
    assert marker["limit_bytes"] == limit
    # The preview is the start of the JSON text, and the whole marker fits the limit.
    assert marker["preview"].startswith('{"text":"aaaa')
    assert json_size(marker) <= limit


def test_sizes_count_utf8_bytes_and_the_preview_never_splits_a_character():
    value = {"text": "é" * 3000}  # two bytes each
    marker = cap_json(value, limit_bytes=1024)
    assert marker["original_bytes"] == len(compact(value)) == 6011
    preview = marker["preview"]
    assert preview.encode("utf-8").decode("utf-8") == preview
    assert set(preview[len('{"text":"') :]) == {"é"}
    assert json_size(marker) <= 1024


def test_quotes_escaped_again_in_the_preview_still_fit_the_limit():
    value = [{'q"uote': '"\\"'} for _ in range(2000)]
    marker = cap_json(value, limit_bytes=2048)
    assert json_size(marker) <= 2048
    assert json_size(marker) > 1800  # and the room is used, not thrown away
    assert marker["preview"].startswith('[{"q\\"uote"')


@pytest.mark.parametrize(
    "value",
    [
        ["x" * 50] * 100,  # a list
        "y" * 5000,  # a string
        {"deep": {"deeper": {"rows": [{"n": n} for n in range(1000)]}}},  # nested
    ],
)
def test_any_json_value_over_the_limit_becomes_a_marker_object(value):
    marker = cap_json(value, limit_bytes=1024)
    assert isinstance(marker, dict)
    assert truncation_of(marker).original_bytes == len(compact(value))
    assert marker["preview"] == compact(value).decode()[: len(marker["preview"])]


@pytest.mark.parametrize("value", [None, 0, "short", [], {}, {"nested": {"list": [1, 2.5]}}])
def test_small_values_of_any_shape_are_unchanged(value):
    assert cap_json(value, limit_bytes=1024) is value
    assert not is_truncated(value)


def test_a_marker_capped_again_keeps_its_first_original_size():
    value = {"text": "a" * 100_000}
    once = cap_json(value, limit_bytes=50_000)
    twice = cap_json(once, limit_bytes=2048)
    assert twice["original_bytes"] == len(compact(value))
    assert twice["limit_bytes"] == 2048
    assert twice["preview"].startswith('{"text":"aaa')
    assert json_size(twice) <= 2048


def test_the_preview_is_made_of_the_redacted_value():
    register_secret_value("s3cr3t-value-123")
    value = {"password": "hunter2", "note": "token s3cr3t-value-123", "pad": "p" * 5000}
    marker = cap_json(value, limit_bytes=1024)
    assert "hunter2" not in marker["preview"]
    assert "s3cr3t" not in marker["preview"]
    assert '"password":"********"' in marker["preview"]


def test_a_look_alike_marker_over_the_limit_gets_its_preview_redacted():
    # A connector's output shaped like a marker: its preview is not trusted as redacted.
    register_secret_value("s3cr3t-value-456")
    fake = {
        "_truncated": True,
        "original_bytes": 10,
        "limit_bytes": 10,
        "preview": '{"password":"hunter2","note":"s3cr3t-value-456"}' + "p" * 5000,
    }
    marker = cap_json(fake, limit_bytes=1024)
    assert marker["_truncated"] is True
    assert "hunter2" not in marker["preview"]
    assert "s3cr3t-value-456" not in marker["preview"]
    assert marker["preview"].startswith('{"password":"********"')
    assert json_size(marker) <= 1024


def test_a_circular_value_is_left_to_fail_where_it_always_did():
    value: dict = {}
    value["self"] = value
    assert cap_json(value, limit_bytes=1024) is value


def test_the_default_limit_is_the_max_payload_bytes_setting(settings):
    settings.DJANGO_AUTOMATE = {"RETENTION": {"max_payload_bytes": 2000}}
    assert cap_json({"a": "b" * 1993})["limit_bytes"] == 2000  # 2,001 bytes
    assert cap_json({"a": "b" * 1992}) == {"a": "b" * 1992}  # 2,000 bytes


def test_a_template_reading_a_field_of_a_truncated_output_says_it_was_truncated():
    rows = {"rows": list(range(5000))}
    marker = cap_json(rows, limit_bytes=1024)
    context = {"steps": {"fetch": {"output": marker}}}
    for source in ("{{ steps.fetch.output.rows }}", "{{ steps.fetch.output['rows'] }}"):
        with pytest.raises(TemplateError) as caught:
            render(source, context)
        assert "'rows' is not available: this value was truncated" in str(caught.value)
        assert f"({len(compact(rows)):,} bytes, over the limit of 1,024" in str(caught.value)
    assert render("{{ steps.fetch.output._truncated }}", context) == "True"
    # A missing field of an ordinary output keeps Jinja's own message.
    with pytest.raises(TemplateError, match="has no attribute 'rows'"):
        render("{{ steps.fetch.output.rows }}", {"steps": {"fetch": {"output": {}}}})


# --- texts ------------------------------------------------------------------------------


def test_a_text_exactly_at_the_limit_is_kept():
    text = "e" * 1024
    assert cap_text(text, limit_bytes=1024) is text


def test_a_text_one_byte_over_is_cut_with_a_visible_suffix_within_the_limit():
    capped = cap_text("e" * 1025, limit_bytes=1024)
    assert capped.endswith(" … [truncated: 1,025 bytes, limit 1,024]")
    assert len(capped.encode()) <= 1024
    assert capped.startswith("eeee")
    found = text_truncation(capped)
    assert (found.original_bytes, found.limit_bytes) == (1025, 1024)
    assert found.preview == capped[: capped.index(" … [")]


def test_a_text_is_cut_at_a_character_boundary():
    capped = cap_text("€" * 1000, limit_bytes=1024)  # three bytes each
    kept = text_truncation(capped).preview
    assert set(kept) == {"€"}
    assert len(capped.encode()) <= 1024
    assert "3,000 bytes" in capped


def test_a_text_cut_again_keeps_its_first_original_size():
    once = cap_text("x" * 100_000, limit_bytes=8000)
    twice = cap_text(f"Step 'a' failed: {once}", limit_bytes=1024)
    assert twice.endswith(" … [truncated: 100,000 bytes, limit 1,024]")
    assert twice.count("[truncated") == 1


def test_texts_that_were_not_cut_have_no_truncation():
    assert text_truncation("boom") is None
    assert text_truncation("") is None
    assert cap_text("", limit_bytes=1024) == ""


def test_the_default_text_limit_is_the_max_error_bytes_setting(settings):
    assert conf.get("RETENTION", "max_error_bytes") == 8000
    settings.DJANGO_AUTOMATE = {"RETENTION": {"max_error_bytes": 2000}}
    assert len(cap_text("z" * 5000).encode()) == 2000


@pytest.mark.parametrize("value", [1023, 10_001, "8000"])
def test_max_error_bytes_is_checked(value):
    problems = conf.validate({"RETENTION": {"max_error_bytes": value}})
    assert problems
    assert "max_error_bytes" in problems[0]
