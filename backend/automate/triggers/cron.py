"""Cron schedules as pure functions (no Django): validation and due-tick arithmetic."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

DEFAULT_GRACE_SECONDS = 60
MISSED_POLICIES = ("skip", "run_once")
_MAX_TICKS_COUNTED = 10_000


def schedule_problems(schedule: Any) -> list[dict[str, str]]:
    """Problems with a ``schedule`` trigger block (pure, for validation at save time)."""
    if not isinstance(schedule, dict):
        return [{"field": "trigger_spec.schedule", "message": "must be a JSON object"}]
    problems = []
    cron = schedule.get("cron")
    if not isinstance(cron, str) or not croniter.is_valid(cron):
        problems.append(
            {
                "field": "trigger_spec.schedule.cron",
                "message": f"{cron!r} is not a cron expression (e.g. '*/5 * * * *')",
            }
        )
    tz = schedule.get("timezone", "UTC")
    try:
        ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            {"field": "trigger_spec.schedule.timezone", "message": f"unknown time zone {tz!r}"}
        )
    if schedule.get("missed", "skip") not in MISSED_POLICIES:
        problems.append(
            {
                "field": "trigger_spec.schedule.missed",
                "message": f"must be one of {', '.join(MISSED_POLICIES)}",
            }
        )
    grace = schedule.get("grace_seconds", DEFAULT_GRACE_SECONDS)
    if isinstance(grace, bool) or not isinstance(grace, int | float) or grace <= 0:
        problems.append(
            {"field": "trigger_spec.schedule.grace_seconds", "message": "must be a positive number"}
        )
    unknown = sorted(set(schedule) - {"cron", "timezone", "missed", "grace_seconds"})
    if unknown:
        problems.append(
            {"field": "trigger_spec.schedule", "message": f"unknown keys: {', '.join(unknown)}"}
        )
    return problems


def due_ticks(cron: str, *, tz: str, after: datetime, now: datetime) -> tuple[datetime | None, int]:
    """The latest tick in ``(after, now]`` and how many ticks that interval holds."""
    zone = ZoneInfo(tz)
    iterator = croniter(cron, after.astimezone(zone))
    latest: datetime | None = None
    count = 0
    while count < _MAX_TICKS_COUNTED:
        tick = iterator.get_next(datetime)
        if tick > now:
            break
        latest = tick
        count += 1
    return latest, count
