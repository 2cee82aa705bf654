"""Cron schedules as pure functions (no Django): validation and due-tick arithmetic."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

DEFAULT_GRACE_SECONDS = 60
MISSED_POLICIES = ("skip", "run_once")
_MAX_TICKS_COUNTED = 10_000


def _fires(cron: str) -> bool:
    """Valid syntax *and* a next tick (``0 0 30 2 *`` is valid but never fires)."""
    if not croniter.is_valid(cron):
        return False
    try:
        croniter(cron, datetime(2026, 1, 1)).get_next(datetime)
    except (CroniterBadDateError, ValueError, KeyError):
        return False
    return True


def schedule_problems(schedule: Any) -> list[dict[str, str]]:
    """Problems with a ``schedule`` trigger block (pure, for validation at save time)."""
    if not isinstance(schedule, dict):
        return [{"field": "trigger_spec.schedule", "message": "must be a JSON object"}]
    problems = []
    cron = schedule.get("cron")
    if not isinstance(cron, str) or not _fires(cron):
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
    """The latest tick in ``(after, now]`` and how many ticks that interval holds.

    The latest tick is found backwards from ``now``, so it is right however long the
    downtime was; the count stops at ``_MAX_TICKS_COUNTED`` (it then means "at least").
    """
    zone = ZoneInfo(tz)
    # croniter's get_prev is strictly before its start: start a microsecond after now.
    latest: datetime = croniter(cron, (now + timedelta(microseconds=1)).astimezone(zone)).get_prev(
        datetime
    )
    if latest <= after:
        return None, 0
    iterator = croniter(cron, after.astimezone(zone))
    count = 0
    while count < _MAX_TICKS_COUNTED:
        if iterator.get_next(datetime) > now:
            break
        count += 1
    return latest, count
