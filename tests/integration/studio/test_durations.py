"""One way to write durations in the studio: ``99 ms``, ``1.2 s``, ``3 min 4 s``."""

import pytest
from django.template import Context, Template
from django.utils import translation

from studio.durations import human_duration


@pytest.mark.parametrize(
    ("ms", "shown"),
    [
        (None, ""),
        ("", ""),
        ("not a number", ""),
        (0, "0 ms"),
        (99, "99 ms"),
        (999, "999 ms"),
        (1000, "1.0 s"),
        (1234, "1.2 s"),
        (9_500, "9.5 s"),
        (59_949, "59.9 s"),
        (59_950, "0 min 59 s"),
        (184_000, "3 min 4 s"),
        (3_600_000, "1 h 0 min"),
        (7_530_000, "2 h 5 min"),
    ],
)
def test_human_duration(ms, shown):
    assert human_duration(ms) == shown


def test_the_template_filters_write_the_same():
    from datetime import datetime, timedelta

    from automate.compat import UTC

    start = datetime(2026, 1, 1, tzinfo=UTC)
    rendered = Template(
        "{% load studio_time %}{{ 1234|duration_ms }}|{{ start|duration_until:end }}|"
        "{{ start|duration_until:none }}"
    ).render(Context({"start": start, "end": start + timedelta(milliseconds=99), "none": None}))
    assert rendered == "1.2 s|99 ms|"


def test_german_uses_a_decimal_comma():
    with translation.override("de"):
        assert human_duration(1234).startswith("1,2")
