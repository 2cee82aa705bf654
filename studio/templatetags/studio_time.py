"""``{% load studio_time %}``: durations the way the whole studio writes them."""

from __future__ import annotations

from datetime import datetime

from django import template

from studio.durations import duration_between, human_duration

register = template.Library()


@register.filter
def duration_ms(ms: int | float | None) -> str:
    """``{{ step.duration_ms|duration_ms }}`` → ``99 ms``, ``1.2 s``, ``3 min 4 s``."""
    return human_duration(ms)


@register.filter
def duration_until(start: datetime | None, end: datetime | None) -> str:
    """``{{ run.started_at|duration_until:run.finished_at }}``; "" until both are known."""
    return duration_between(start, end)
