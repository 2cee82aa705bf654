from datetime import datetime, timedelta

import pytest

from automate.compat import UTC
from automate.events.models import Event
from automate.execution.models import ExecutionRun
from automate.triggers.models import ScheduleState
from automate.triggers.schedules import fire_due_schedules
from automate.workflows.models import WorkflowVersion
from tests.factories import make_published

pytestmark = pytest.mark.django_db(transaction=True)

PUBLISHED = datetime(2026, 3, 2, 8, 0, 30, tzinfo=UTC)


def scheduled(missed="skip", cron="*/10 * * * *"):
    version = make_published(
        slug=f"report-{missed}",
        rule_spec={},
        trigger_spec={"event_type": "report.tick", "schedule": {"cron": cron, "missed": missed}},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {"id": "a", "type": "action", "connector": "testkit", "action": "echo"},
            ],
            "edges": [{"source": "trigger", "target": "a"}],
        },
    )
    WorkflowVersion.objects.filter(pk=version.pk).update(published_at=PUBLISHED)
    return version


def test_each_tick_fires_exactly_once_however_many_workers_look():
    scheduled()
    at = PUBLISHED + timedelta(minutes=10)  # 08:10:30, the 08:10 tick is due
    assert fire_due_schedules(now=at) == 1
    # Other workers (or the same one again) see the same tick: nothing more happens.
    assert fire_due_schedules(now=at) == 0
    ScheduleState.objects.all().delete()  # even a worker that lost the state cannot double it
    assert fire_due_schedules(now=at + timedelta(seconds=5)) == 0

    run = ExecutionRun.objects.get()
    assert run.status == "succeeded"
    assert run.event.source == "schedule"
    assert run.event.payload == {"scheduled_for": "2026-03-02T08:10:00+00:00", "missed_ticks": 0}
    assert fire_due_schedules(now=PUBLISHED + timedelta(minutes=20)) == 1
    assert ExecutionRun.objects.count() == 2


def test_missed_ticks_are_skipped_by_default():
    scheduled("skip")
    back_up = PUBLISHED + timedelta(hours=3, minutes=2)  # 11:02:30: the 11:00 tick is late
    assert fire_due_schedules(now=back_up) == 0
    assert ExecutionRun.objects.count() == 0
    # The next on-time tick fires normally.
    assert fire_due_schedules(now=back_up + timedelta(minutes=8)) == 1


def test_missed_ticks_run_once_when_asked():
    scheduled("run_once")
    back_up = PUBLISHED + timedelta(hours=3, minutes=2)
    assert fire_due_schedules(now=back_up) == 1
    assert fire_due_schedules(now=back_up + timedelta(seconds=30)) == 0
    event = Event.objects.get()
    assert event.payload["missed_ticks"] == 18
    assert event.payload["scheduled_for"] == "2026-03-02T11:00:00+00:00"


def test_unscheduled_and_inactive_workflows_are_ignored():
    version = scheduled()
    version.workflow.is_active = False
    version.workflow.save()
    make_published(slug="plain")
    assert fire_due_schedules(now=PUBLISHED + timedelta(minutes=10)) == 0


def test_a_schedule_that_can_never_fire_is_refused_and_breaks_no_other():
    from automate.triggers.cron import schedule_problems

    assert schedule_problems({"cron": "0 0 30 2 *"})[0]["field"] == "trigger_spec.schedule.cron"
    broken = scheduled(cron="*/10 * * * *")
    spec = {**broken.trigger_spec, "schedule": {"cron": "0 0 30 2 *"}}
    WorkflowVersion.objects.filter(pk=broken.pk).update(trigger_spec=spec)  # slipped past checks
    ok = make_published(
        slug="other",
        rule_spec={},
        trigger_spec={"event_type": "report.tick", "schedule": {"cron": "*/10 * * * *"}},
        graph={"nodes": [{"id": "trigger", "type": "trigger"}], "edges": []},
    )
    WorkflowVersion.objects.filter(pk=ok.pk).update(published_at=PUBLISHED)
    assert fire_due_schedules(now=PUBLISHED + timedelta(minutes=10)) == 1


def test_run_once_after_a_week_down_fires_once_for_the_latest_tick():
    version = make_published(
        slug="every-minute",
        rule_spec={},
        trigger_spec={
            "event_type": "report.tick",
            "schedule": {"cron": "* * * * *", "missed": "run_once"},
        },
        graph={"nodes": [{"id": "trigger", "type": "trigger"}], "edges": []},
    )
    WorkflowVersion.objects.filter(pk=version.pk).update(published_at=PUBLISHED)
    back = PUBLISHED + timedelta(days=8, seconds=75)
    assert fire_due_schedules(now=back) == 1
    assert fire_due_schedules(now=back + timedelta(seconds=5)) == 0
    event = Event.objects.get()
    assert event.payload["scheduled_for"] == (back - timedelta(seconds=back.second)).isoformat()


def test_every_worker_loop_fires_due_schedules():
    """The worker reaches the schedule ticker through ``automate.execution.duties``."""
    from automate.execution.worker import Worker

    scheduled(cron="* * * * *")  # the current minute's tick is always on time
    Worker(worker_id="quiet", concurrency=1, fire_schedules=False).run(once=True)
    assert not Event.objects.exists()
    Worker(worker_id="ticking", concurrency=1).run(once=True)
    run = ExecutionRun.objects.get()
    assert (run.event.source, run.status) == ("schedule", "succeeded")
