"""``{% load studio_time %}``: durations the way the whole studio writes them."""

from __future__ import annotations

from datetime import datetime

from django import template

from studio.durations import duration_between, human_duration, time_ago

register = template.Library()


@register.filter
def duration_ms(ms: int | float | None) -> str:
    """``{{ step.duration_ms|duration_ms }}`` → ``99 ms``, ``1.2 s``, ``3 min 4 s``."""
    return human_duration(ms)


@register.filter
def duration_until(start: datetime | None, end: datetime | None) -> str:
    """``{{ run.started_at|duration_until:run.finished_at }}``; "" until both are known."""
    return duration_between(start, end)


@register.filter
def ago(when: datetime | None) -> str:
    """``{{ run.created_at|ago }}`` → "just now", "3 minutes ago" (``time_ago``)."""
    return time_ago(when)
