"""Scheduled workflows: ``trigger_spec["schedule"] = {"cron": "0 9 * * 1-5", ...}``.

Every worker calls ``fire_due_schedules()`` every few seconds. Each tick becomes an event
with the dedupe key ``schedule:<workflow id>:<tick>``, so however many workers see the
same tick, exactly one event and one run exist for it.

After downtime, ticks that were missed follow the schedule's ``missed`` policy:
``"skip"`` (default) fires nothing for them and waits for the next tick; ``"run_once"``
fires one run for the most recent missed tick, with ``missed_ticks`` in its payload.
A tick counts as on time while it is less than ``grace_seconds`` (default 60) old.

Ticks are instants: around a change of the clocks, a fixed-time schedule fires once and a
wildcard schedule in both copies of a repeated hour (see ``automate.triggers.cron``). The
tick's ``isoformat()`` carries its UTC offset, so the two copies have distinct dedupe keys.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from automate.triggers.cron import DEFAULT_GRACE_SECONDS, due_ticks, schedule_problems
from automate.workflows.models import WorkflowVersion

logger = logging.getLogger("automate.schedules")


def fire_due_schedules(*, now: datetime | None = None) -> int:
    """Start the runs of every schedule tick that is due; returns how many started."""
    now = now or timezone.now()
    started = 0
    versions = WorkflowVersion.objects.filter(
        workflow__is_active=True,
        workflow__live_version_id=F("id"),
        trigger_spec__has_key="schedule",
    ).select_related("workflow", "workflow__tenant")
    for version in versions:
        schedule = version.trigger_spec.get("schedule")
        if not isinstance(schedule, dict) or schedule_problems(schedule):
            continue
        try:
            started += _fire_schedule(version, schedule, now)
        except Exception:  # one broken schedule must not stop the others
            logger.exception("Schedule of workflow %s failed", version.workflow.slug)
    return started


def _fire_schedule(version: WorkflowVersion, schedule: dict[str, Any], now: datetime) -> int:
    """Fire this schedule's due tick (if any) under its missed-tick policy."""
    from automate.triggers.models import ScheduleState

    state = ScheduleState.objects.filter(workflow=version.workflow).first()
    anchor = state.last_tick_at if state else version.published_at
    assert anchor is not None
    tick, count = due_ticks(
        schedule["cron"], tz=schedule.get("timezone", "UTC"), after=anchor, now=now
    )
    if tick is None:
        return 0
    grace = timedelta(seconds=schedule.get("grace_seconds", DEFAULT_GRACE_SECONDS))
    on_time = now - tick < grace
    started = 0
    if on_time or schedule.get("missed", "skip") == "run_once":
        started = _fire(version, tick, missed=count - 1 if on_time else count)
    else:
        logger.info("Schedule of %s skipped %d missed tick(s)", version.workflow.slug, count)
    _advance(version, tick)
    return started


def _fire(version: WorkflowVersion, tick: datetime, *, missed: int) -> int:
    from automate.events.services import record_event
    from automate.execution.services import start_run

    event_type = str(version.trigger_spec.get("event_type") or "schedule.tick").rstrip("*.")
    with transaction.atomic():
        event, created = record_event(
            type=event_type or "schedule.tick",
            payload={"scheduled_for": tick.isoformat(), "missed_ticks": missed},
            dedupe_key=f"schedule:{version.workflow_id}:{tick.isoformat()}",
            source="schedule",
            tenant=version.workflow.tenant,
            enqueue=False,
        )
        if not created:
            return 0  # another worker fired this tick
        start_run(event=event, version=version)
    return 1


def _advance(version: WorkflowVersion, tick: datetime) -> None:
    from automate.triggers.models import ScheduleState

    updated = ScheduleState.objects.filter(workflow=version.workflow, last_tick_at__lt=tick).update(
        last_tick_at=tick
    )
    if not updated and not ScheduleState.objects.filter(workflow=version.workflow).exists():
        try:
            with transaction.atomic():
                ScheduleState.objects.create(workflow=version.workflow, last_tick_at=tick)
        except IntegrityError:
            pass  # another worker recorded it first
