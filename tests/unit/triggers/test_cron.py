from datetime import datetime

from automate.compat import UTC
from automate.triggers.cron import due_ticks, schedule_problems
from automate.workflows.specs import trigger_problems


def test_schedule_validation_names_each_field():
    assert (
        schedule_problems({"cron": "*/5 * * * *", "timezone": "Europe/Paris", "missed": "run_once"})
        == []
    )
    fields = {
        p["field"]
        for p in schedule_problems(
            {
                "cron": "every minute",
                "timezone": "Mars/Olympus",
                "missed": "sometimes",
                "grace_seconds": 0,
                "x": 1,
            }
        )
    }
    assert fields == {
        "trigger_spec.schedule.cron",
        "trigger_spec.schedule.timezone",
        "trigger_spec.schedule.missed",
        "trigger_spec.schedule.grace_seconds",
        "trigger_spec.schedule",
    }
    assert trigger_problems({"event_type": "report.daily", "schedule": {"cron": "nope"}})[0][
        "field"
    ] == ("trigger_spec.schedule.cron")


def test_due_ticks_counts_missed_ticks():
    after = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    latest, count = due_ticks(
        "*/15 * * * *", tz="UTC", after=after, now=datetime(2026, 1, 1, 10, 5, tzinfo=UTC)
    )
    assert latest == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert count == 4
    assert due_ticks(
        "*/15 * * * *", tz="UTC", after=after, now=datetime(2026, 1, 1, 9, 10, tzinfo=UTC)
    ) == (None, 0)


def test_due_ticks_follow_the_time_zone():
    after = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
    latest, _ = due_ticks(
        "0 9 * * *", tz="Europe/Paris", after=after, now=datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    )
    assert latest.astimezone(UTC) == datetime(2026, 6, 1, 7, 0, tzinfo=UTC)  # 09:00 CEST


def test_next_ticks_are_the_instants_the_worker_fires_at_across_clock_changes():
    from datetime import datetime

    from automate.compat import UTC
    from automate.triggers.cron import next_ticks

    spring = next_ticks("30 2 * * *", tz="Europe/Paris", now=datetime(2026, 3, 27, 12, tzinfo=UTC))
    assert [t.isoformat() for t in spring[:3]] == [
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:00:00+02:00",  # 02:30 does not exist that night: right after the gap
        "2026-03-30T02:30:00+02:00",
    ]
    autumn = next_ticks(
        "0 * * * *", tz="Europe/Paris", now=datetime(2026, 10, 24, 23, 30, tzinfo=UTC)
    )
    assert [t.isoformat() for t in autumn[:3]] == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",  # the repeated hour fires twice for a wildcard schedule
        "2026-10-25T03:00:00+01:00",
    ]
    assert len(next_ticks("@daily", tz="UTC", now=datetime(2026, 1, 1, tzinfo=UTC))) == 5
