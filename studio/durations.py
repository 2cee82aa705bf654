"""How long something took, in words a person reads at a glance: ``99 ms``, ``1.2 s``,
``3 min 4 s``, ``2 h 5 min``.

The one formatter of durations in the studio (dashboard, runs list, run page, step panel);
``studio/static/studio/explorer/live.js`` ``humanMs`` formats live updates the same way.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.formats import number_format
from django.utils.timesince import timesince
from django.utils.translation import gettext


def human_duration(ms: int | float | None) -> str:
    """``ms`` milliseconds as ``99 ms``, ``1.2 s``, ``3 min 4 s`` or ``2 h 5 min``; "" for
    None (not finished)."""
    if isinstance(ms, bool) or not isinstance(ms, int | float):
        return ""  # not finished, or nothing known (a template variable that is missing)
    ms = max(0, int(ms))
    if ms < 1000:
        return gettext("%(ms)s ms") % {"ms": ms}
    tenths = (ms + 50) // 100  # rounded to a tenth of a second
    if tenths < 600:
        return gettext("%(seconds)s s") % {"seconds": number_format(tenths / 10, 1)}
    minutes, seconds = divmod(ms // 1000, 60)
    if minutes < 60:
        return gettext("%(minutes)s min %(seconds)s s") % {"minutes": minutes, "seconds": seconds}
    hours, minutes = divmod(minutes, 60)
    return gettext("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}


def duration_between(start: datetime | None, end: datetime | None) -> str:
    """The time from ``start`` to ``end`` (``human_duration``); "" unless both are known."""
    if start is None or end is None:
        return ""
    return human_duration((end - start).total_seconds() * 1000)


def time_ago(when: datetime | None) -> str:
    """How long ago ``when`` was: "just now" under a minute (``timesince`` would say
    "0 minutes"), else "3 minutes ago", "2 weeks ago"; "" for None."""
    if when is None:
        return ""
    if timezone.now() - when < timedelta(minutes=1):
        return gettext("just now")
    return gettext("%(since)s ago") % {"since": timesince(when)}
