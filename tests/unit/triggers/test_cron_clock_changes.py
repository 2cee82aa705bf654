"""Schedules across changes of the clocks, by simulating the ticker every 30 seconds.

A fixed-time schedule fires once when its wall-clock time repeats and once (just after
the gap) when its time is skipped; a wildcard schedule fires at every matching instant,
in both copies of a repeated hour, losing and doubling nothing.
"""

import itertools
from datetime import datetime, timedelta

import pytest

from automate.compat import UTC
from automate.triggers.cron import due_ticks

STEP = timedelta(seconds=30)


def simulate(cron, tz, start, hours):
    """Fire times of ``cron`` checked every 30 s for ``hours`` from ``start`` (UTC)."""
    after = now = start
    fired = []
    while now < start + timedelta(hours=hours):
        now += STEP
        tick, _ = due_ticks(cron, tz=tz, after=after, now=now)
        if tick is not None:
            assert now - tick < STEP, "every tick fires on time"
            fired.append(tick)
            after = tick.astimezone(UTC)  # as ScheduleState stores it
    return fired


def gaps(ticks):
    """Elapsed time between consecutive ticks (in UTC: same-zone subtraction is naive)."""
    instants = [tick.astimezone(UTC) for tick in ticks]
    return {b - a for a, b in itertools.pairwise(instants)}


def iso(ticks):
    return [tick.isoformat() for tick in ticks]


# (zone, UTC start of an 8-hour window around the change, kind of change)
FALL = [
    ("Europe/Paris", datetime(2026, 10, 24, 21, 0, tzinfo=UTC)),
    ("America/New_York", datetime(2026, 11, 1, 2, 0, tzinfo=UTC)),
    ("Australia/Lord_Howe", datetime(2026, 4, 4, 11, 0, tzinfo=UTC)),
]
SPRING = [
    ("Europe/Paris", datetime(2026, 3, 28, 21, 0, tzinfo=UTC)),
    ("America/New_York", datetime(2026, 3, 8, 3, 0, tzinfo=UTC)),
    ("Australia/Lord_Howe", datetime(2026, 10, 3, 11, 0, tzinfo=UTC)),
]


@pytest.mark.parametrize(
    ("tz", "start", "cron", "expected"),
    [
        # The seen case: 02:30 in Paris repeats on 2026-10-25; it runs once, the first time.
        ("Europe/Paris", FALL[0][1], "30 2 * * *", ["2026-10-25T02:30:00+02:00"]),
        ("Europe/Paris", FALL[0][1], "0 2 * * *", ["2026-10-25T02:00:00+02:00"]),
        ("Europe/Paris", FALL[0][1], "59 2 * * 0", ["2026-10-25T02:59:00+02:00"]),
        (
            "Europe/Paris",
            FALL[0][1],
            "0,30 2 * * *",
            ["2026-10-25T02:00:00+02:00", "2026-10-25T02:30:00+02:00"],
        ),
        ("America/New_York", FALL[1][1], "30 1 * * *", ["2026-11-01T01:30:00-04:00"]),
        ("America/New_York", FALL[1][1], "0 1 1 11 *", ["2026-11-01T01:00:00-04:00"]),
        # Lord Howe turns its clocks back by 30 minutes: 01:30-02:00 repeats.
        ("Australia/Lord_Howe", FALL[2][1], "45 1 * * *", ["2026-04-05T01:45:00+11:00"]),
        ("Australia/Lord_Howe", FALL[2][1], "30 1 * * *", ["2026-04-05T01:30:00+11:00"]),
        # Times the clocks skip run once, at the first instant after the gap.
        ("Europe/Paris", SPRING[0][1], "30 2 * * *", ["2026-03-29T03:00:00+02:00"]),
        ("Europe/Paris", SPRING[0][1], "0,15,30,45 2 * * *", ["2026-03-29T03:00:00+02:00"]),
        ("Europe/Paris", SPRING[0][1], "@daily", ["2026-03-29T00:00:00+01:00"]),
        ("America/New_York", SPRING[1][1], "30 2 * * *", ["2026-03-08T03:00:00-04:00"]),
        ("America/New_York", SPRING[1][1], "0 2 8 3 *", ["2026-03-08T03:00:00-04:00"]),
        ("Australia/Lord_Howe", SPRING[2][1], "15 2 * * *", ["2026-10-04T02:30:00+11:00"]),
        # Times just outside the change are untouched.
        ("Europe/Paris", SPRING[0][1], "0 3 * * *", ["2026-03-29T03:00:00+02:00"]),
        ("Europe/Paris", FALL[0][1], "0 3 * * *", ["2026-10-25T03:00:00+01:00"]),
        ("Australia/Lord_Howe", SPRING[2][1], "30 2 * * *", ["2026-10-04T02:30:00+11:00"]),
    ],
)
def test_fixed_time_schedules_run_once_across_a_clock_change(tz, start, cron, expected):
    assert iso(simulate(cron, tz, start, hours=8)) == expected


@pytest.mark.parametrize(("tz", "start"), FALL + SPRING)
@pytest.mark.parametrize(("cron", "minutes"), [("*/15 * * * *", 15), ("*/5 * * * *", 5)])
def test_interval_schedules_lose_and_double_nothing(tz, start, cron, minutes):
    fired = simulate(cron, tz, start, hours=8)
    assert gaps(fired) == {timedelta(minutes=minutes)}
    assert len(fired) == len({tick.astimezone(UTC) for tick in fired}) == 8 * 60 // minutes


def test_hourly_schedules_fire_in_both_copies_of_the_repeated_hour():
    fired = iso(simulate("0 * * * *", "Europe/Paris", FALL[0][1], hours=8))
    assert "2026-10-25T02:00:00+02:00" in fired
    assert "2026-10-25T02:00:00+01:00" in fired
    assert len(fired) == 8  # one an hour, as the clock on the wall of a server room says
    fired = iso(simulate("@hourly", "America/New_York", FALL[1][1], hours=8))
    assert fired.count("2026-11-01T01:00:00-04:00") == fired.count("2026-11-01T01:00:00-05:00")
    assert len(fired) == 8
    # In spring the hour that does not exist has nothing to fire; elapsed time is one hour.
    fired = simulate("0 * * * *", "Europe/Paris", SPRING[0][1], hours=8)
    assert gaps(fired) == {timedelta(hours=1)}


def test_a_wildcard_minute_in_a_fixed_hour_follows_elapsed_time_like_classic_cron():
    # Vixie cron treats a job with '*' in its minute field as a wildcard job.
    fired = iso(simulate("*/15 2 * * *", "Europe/Paris", FALL[0][1], hours=8))
    assert fired == [
        f"2026-10-25T02:{minute:02d}:00+0{offset}:00"
        for offset in (2, 1)
        for minute in (0, 15, 30, 45)
    ]
    assert simulate("*/15 2 * * *", "Europe/Paris", SPRING[0][1], hours=8) == []


def test_lord_howe_half_hour_change_with_a_wildcard_hour():
    # 30 * * * *: 01:30 repeats (+11:00 then +10:30), and both are one elapsed hour apart
    # from their neighbours or less; nothing is lost.
    fired = iso(simulate("30 * * * *", "Australia/Lord_Howe", FALL[2][1], hours=8))
    assert "2026-04-05T01:30:00+11:00" in fired
    assert "2026-04-05T01:30:00+10:30" in fired
    assert len(fired) == 9


def test_a_downtime_across_the_repeated_hour_counts_each_tick_once():
    after = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    now = datetime(2026, 10, 25, 3, 0, 30, tzinfo=UTC)
    latest, count = due_ticks("*/15 * * * *", tz="Europe/Paris", after=after, now=now)
    assert latest.isoformat() == "2026-10-25T04:00:00+01:00"
    assert count == 5 * 4  # five elapsed hours
    latest, count = due_ticks("30 2 * * *", tz="Europe/Paris", after=after, now=now)
    assert (latest.isoformat(), count) == ("2026-10-25T02:30:00+02:00", 1)
    latest, count = due_ticks(
        "30 2 * * *",
        tz="Europe/Paris",
        after=datetime(2026, 3, 20, tzinfo=UTC),
        now=datetime(2026, 4, 1, tzinfo=UTC),
    )
    assert (latest.isoformat(), count) == ("2026-03-31T02:30:00+02:00", 12)


def test_a_week_down_across_a_change_finds_the_latest_tick_and_caps_the_count():
    latest, count = due_ticks(
        "* * * * *",
        tz="Europe/Paris",
        after=datetime(2026, 10, 20, tzinfo=UTC),
        now=datetime(2026, 10, 27, 9, 30, 20, tzinfo=UTC),
    )
    assert latest.isoformat() == "2026-10-27T10:30:00+01:00"
    assert count == 10_000  # "at least"


def test_an_ordinary_check_is_cheap():
    import time

    now = datetime(2026, 6, 1, 12, 0, 30, tzinfo=UTC)
    started = time.perf_counter()
    for _ in range(200):
        due_ticks("* * * * *", tz="Europe/Paris", after=now - timedelta(seconds=45), now=now)
    assert time.perf_counter() - started < 2  # about 0.3 ms each when idle
