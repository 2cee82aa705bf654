"""How long ago, in words: never "0 minutes ago" (studio.durations.time_ago)."""

import pytest


@pytest.mark.parametrize(
    ("seconds_ago", "said"),
    [(0, "just now"), (59, "just now"), (61, "1\xa0minute ago"), (3 * 3600 + 5, "3\xa0hours ago")],
)
def test_time_ago_never_says_zero_minutes(seconds_ago, said):
    from datetime import timedelta

    from django.utils import timezone
    from django.utils.translation import override

    from studio.durations import time_ago

    with override("en"):
        assert time_ago(timezone.now() - timedelta(seconds=seconds_ago)) == said
    assert time_ago(None) == ""
