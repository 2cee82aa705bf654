"""Cron schedules as pure functions (no Django): validation and due-tick arithmetic.

A cron expression names **wall-clock** times in the schedule's time zone. Most wall-clock
times are exactly one instant; around a change of the clocks some are two instants (the
repeated hour in autumn) and some none (the skipped hour in spring). Which instants a
schedule fires at follows classic (Vixie) cron:

* a *fixed-time* schedule (``30 2 * * *``; see ``cron_syntax.is_fixed_time``) fires once
  when its time repeats, at the first of the two instants, and a time that the clocks skip
  fires once at the first instant after the gap (02:30 on the spring-forward night in
  Paris runs at 03:00+02:00);
* a *wildcard* schedule (``*/15 * * * *``, ``0 * * * *``) follows elapsed time: it fires
  in both copies of a repeated hour and has nothing to fire in a skipped one, so no
  interval is lost or doubled.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from automate.compat import UTC
from automate.triggers.cron_syntax import cron_problem, five_fields, is_fixed_time

DEFAULT_GRACE_SECONDS = 60
MISSED_POLICIES = ("skip", "run_once")
_MAX_TICKS_COUNTED = 10_000
# Offsets are sampled this far either side of an instant to see whether the clocks change
# nearby. It exceeds the largest change of any zone (2 h), which bounds how far a tick's
# instant can sit from its wall time; changes are months apart, so one sample each side
# is enough.
_NEAR = timedelta(hours=4)


def _fires(cron: str) -> bool:
    """A next tick exists (``0 0 30 2 *`` is well formed but never fires)."""
    try:
        croniter(five_fields(cron), datetime(2026, 1, 1)).get_next(datetime)
    except (CroniterBadDateError, ValueError, KeyError):
        return False
    return True


def schedule_problems(schedule: Any) -> list[dict[str, str]]:
    """Problems with a ``schedule`` trigger block (pure, for validation at save time)."""
    if not isinstance(schedule, dict):
        return [{"field": "trigger_spec.schedule", "message": "must be a JSON object"}]
    problems = []
    cron = schedule.get("cron")
    problem = cron_problem(cron)
    if problem is None and isinstance(cron, str) and not _fires(cron):
        problem = f"{cron!r} never fires (no such date)"
    if problem is not None:
        problems.append({"field": "trigger_spec.schedule.cron", "message": problem})
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


# --- wall-clock times to instants --------------------------------------------------------


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    """The naive wall-clock time of ``instant`` in ``zone``."""
    return instant.astimezone(zone).replace(tzinfo=None)


def _shift_near(instant: datetime, zone: ZoneInfo) -> timedelta:
    """How far the zone's offset moves within ``_NEAR`` of ``instant`` (zero almost always)."""
    offsets = [
        (instant + delta).astimezone(zone).utcoffset() or timedelta()
        for delta in (-_NEAR, timedelta(), _NEAR)
    ]
    return max(offsets) - min(offsets)


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first instant after the spring-forward gap that swallows the wall time ``wall``."""
    # fold=0/1 read a skipped time with the offset before/after the change: the change
    # itself lies between the two readings. Find it to the second.
    low, high = sorted(wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))
    seconds = int((high - low).total_seconds())
    first, last = 0, seconds
    while first < last:
        middle = (first + last) // 2
        if _wall(low + timedelta(seconds=middle), zone) > wall:
            last = middle
        else:
            first = middle + 1
    return low + timedelta(seconds=first)


def _instants(wall: datetime, zone: ZoneInfo, *, fixed: bool) -> list[datetime]:
    """The UTC instants at which a schedule fires for the wall-clock tick ``wall``."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if _wall(first, zone) != wall:  # skipped by the clocks
        return [_gap_end(wall, zone)] if fixed else []
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if second == first or fixed:
        return [first]
    return [first, second]  # a repeated time: wildcard schedules fire in both copies


def _walls(cron: str, start: datetime, *, backwards: bool) -> Iterator[datetime]:
    """Naive wall-clock ticks strictly after (or before) the naive ``start``."""
    iterator = croniter(cron, start)
    step = iterator.get_prev if backwards else iterator.get_next
    while True:
        yield step(datetime)


def _latest(
    cron: str, zone: ZoneInfo, *, fixed: bool, after: datetime, now: datetime
) -> datetime | None:
    """The latest firing instant in ``(after, now]`` (all UTC), found backwards from now."""
    shift = _shift_near(now, zone)
    best: datetime | None = None
    best_wall = floor = _wall(after, zone) - 2 * _shift_near(after, zone)
    # The bounds follow from those of _wall_window.
    for wall in _walls(cron, _wall(now, zone) + shift + timedelta(microseconds=1), backwards=True):
        if wall < floor or (best is not None and wall < best_wall - 2 * shift):
            break
        for instant in _instants(wall, zone, fixed=fixed):
            if after < instant <= now and (best is None or instant > best):
                best, best_wall = instant, _wall(instant, zone)
                shift = max(shift, _shift_near(instant, zone))
    return best


def _wall_window(zone: ZoneInfo, *, after: datetime, now: datetime) -> tuple[datetime, datetime]:
    """Naive wall-clock bounds holding every tick that may fire in ``(after, now]`` (UTC)."""
    if (
        now - after < _NEAR
        and after.astimezone(zone).utcoffset() == now.astimezone(zone).utcoffset()
    ):
        # The usual check, seconds after the last one: no change of the clocks in between
        # (changes are months apart), so wall time maps one to one onto the interval.
        return _wall(after, zone), _wall(now, zone)
    # A tick's instants show wall times from the tick to the tick plus the shift; wall time
    # goes back by at most the shift as instants go forward.
    return (
        _wall(after, zone) - 2 * _shift_near(after, zone),
        _wall(now, zone) + _shift_near(now, zone),
    )


def due_ticks(cron: str, *, tz: str, after: datetime, now: datetime) -> tuple[datetime | None, int]:
    """The latest tick in ``(after, now]`` and how many ticks that interval holds.

    Ticks are instants (returned in the schedule's zone, so ``isoformat()`` tells the two
    copies of a repeated hour apart), chosen around clock changes as the module docstring
    says. The latest tick is found backwards from ``now``, so it is right however long the
    downtime was; the count stops at ``_MAX_TICKS_COUNTED`` (it then means "at least").
    """
    zone = ZoneInfo(tz)
    expression = five_fields(cron)
    fixed = is_fixed_time(expression)
    after, now = after.astimezone(UTC), now.astimezone(UTC)
    if now <= after:
        return None, 0
    start, stop = _wall_window(zone, after=after, now=now)
    latest: datetime | None = None
    count = 0
    for wall in _walls(expression, start, backwards=False):
        if wall > stop:
            break
        for instant in _instants(wall, zone, fixed=fixed):
            if after < instant <= now:
                count += 1
                latest = instant if latest is None else max(latest, instant)
        if count >= _MAX_TICKS_COUNTED:  # a long downtime: find the latest from now back
            latest = _latest(expression, zone, fixed=fixed, after=after, now=now)
            break
    if latest is None:
        return None, 0
    return latest.astimezone(zone), min(count, _MAX_TICKS_COUNTED)


def next_ticks(cron: str, *, tz: str, now: datetime, count: int = 5) -> list[datetime]:
    """The next ``count`` firing instants strictly after ``now``, in the schedule's zone.

    The same instants the worker fires at (clock changes included), for showing a
    schedule before it is published. ``cron`` and ``tz`` must be valid
    (``schedule_problems`` says why not).
    """
    zone = ZoneInfo(tz)
    expression = five_fields(cron)
    fixed = is_fixed_time(expression)
    now = now.astimezone(UTC)
    found: list[datetime] = []
    # Start a clock change's worth early: a repeated hour can put ticks after now at
    # wall times before now's.
    start = _wall(now, zone) - _shift_near(now, zone) - timedelta(minutes=1)
    for wall in _walls(expression, start, backwards=False):
        for instant in _instants(wall, zone, fixed=fixed):
            if instant > now and instant not in found:
                found.append(instant)
        if len(found) >= count:
            break
    return [instant.astimezone(zone) for instant in sorted(found)[:count]]
