"""automate_prune: retention per workflow and global, bounded batches, what is kept."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

from automate.events.models import Event
from automate.execution.models import ExecutionRun, OutboxJob, StepRun
from automate.governance import audit
from automate.governance.models import AuditLogEntry
from automate.realtime.models import RunLiveSeq
from automate.runtime import emit_event, run_workflow
from automate.workflows.models import Workflow
from tests.factories import make_published

pytestmark = pytest.mark.django_db


def age(runs, days: float) -> None:
    """Make ``runs`` (and their events) finished ``days`` ago."""
    at = timezone.now() - timedelta(days=days)
    ids = [run.pk for run in runs]
    ExecutionRun.objects.filter(pk__in=ids).update(
        status="succeeded", created_at=at, finished_at=at
    )
    Event.objects.filter(runs__in=ids).update(created_at=at)


def make_runs(
    slug: str, count: int, *, days: float, retention_days: int | None = None
) -> list[ExecutionRun]:
    version = make_published(slug=slug)
    Workflow.objects.filter(pk=version.workflow_id).update(retention_days=retention_days)
    runs = [run_workflow(slug, {"n": n}) for n in range(count)]
    age(runs, days)
    return runs


def prune(*args: str) -> str:
    out = StringIO()
    call_command("automate_prune", *args, stdout=out)
    return out.getvalue()


def total(output: str, table: str) -> tuple[int, int]:
    """(rows, batches) of a table's total line."""
    match = re.search(rf"^{table}: (?:deleted|cleared) (\d+) in (\d+) batches", output, re.M)
    assert match, output
    return int(match[1]), int(match[2])


@pytest.mark.parametrize(("rows", "batch_size"), [(7, 3), (6, 3), (5, 10), (4, 1)])
def test_a_prune_of_n_rows_takes_ceil_n_over_b_batches(rows, batch_size):
    make_runs("old", rows, days=40)
    OutboxJob.objects.bulk_create(
        OutboxJob(tenant_id=run.tenant_id, kind="step", run=run, status="COMPLETED")
        for run in ExecutionRun.objects.all()
    )
    RunLiveSeq.objects.bulk_create(RunLiveSeq(run=run, seq=3) for run in ExecutionRun.objects.all())

    output = prune("--batch-size", str(batch_size), "--progress-every", "1")

    assert total(output, "runs") == (rows, math.ceil(rows / batch_size))
    assert total(output, "events") == (rows, math.ceil(rows / batch_size))
    # One progress line per batch, with the running count.
    assert output.count("runs: batch ") == math.ceil(rows / batch_size)
    assert f"runs: batch {math.ceil(rows / batch_size)}, {rows} deleted so far" in output
    # Steps, jobs and live-frame counters went with their runs, and the totals say so.
    assert f"{rows} step runs" in output
    assert ExecutionRun.objects.count() == Event.objects.count() == 0
    assert StepRun.objects.count() == OutboxJob.objects.count() == RunLiveSeq.objects.count() == 0


def test_progress_lines_come_every_n_batches():
    make_runs("old", 9, days=40)
    output = prune("--batch-size", "1", "--progress-every", "4")
    assert re.findall(r"^runs: batch (\d+)", output, re.M) == ["4", "8"]
    assert total(output, "runs") == (9, 9)
    assert "runs: batch" not in prune("--progress-every", "0")


def test_a_workflows_own_retention_wins_over_the_global_one():
    short = make_runs("short", 2, days=10, retention_days=7)
    long = make_runs("long", 2, days=40, retention_days=90)
    default = make_runs("default", 2, days=40)
    recent_default = make_runs("recent", 1, days=10)

    output = prune()

    kept = set(ExecutionRun.objects.values_list("pk", flat=True))
    # short: 10 days > its 7; default: 40 > the global 30; long: 40 < its 90.
    assert kept == {run.pk for run in long + recent_default}
    assert total(output, "runs")[0] == len(short) + len(default)
    assert not Event.objects.filter(pk__in=[r.event_id for r in default]).exists()
    # Events have the global retention only: the short-lived runs' 10-day-old events stay.
    assert Event.objects.filter(pk__in=[r.event_id for r in short]).count() == 2


def test_runs_still_needed_are_kept():
    running, pending, waiting, dead, dead_cancelled, _done = make_runs("old", 6, days=40)
    ExecutionRun.objects.filter(pk=running.pk).update(status="running", finished_at=None)
    ExecutionRun.objects.filter(pk=pending.pk).update(status="pending", finished_at=None)
    ExecutionRun.objects.filter(pk=dead_cancelled.pk).update(status="cancelled")
    for run, status in [(waiting, "PENDING"), (dead, "DEAD"), (dead_cancelled, "DEAD")]:
        OutboxJob.objects.create(tenant_id=run.tenant_id, kind="step", run=run, status=status)

    output = prune("--batch-size", "1")

    kept = set(ExecutionRun.objects.values_list("pk", flat=True))
    # A cancelled run's dead letter cannot be replayed: nothing keeps that run.
    assert kept == {running.pk, pending.pk, waiting.pk, dead.pk}
    assert total(output, "runs") == (2, 2)
    # Their events stay with them; the pruned runs' events went.
    events = set(Event.objects.values_list("pk", flat=True))
    assert events == {run.event_id for run in (running, pending, waiting, dead)}


@override_settings(DJANGO_AUTOMATE={"RETENTION": {"dead_letter_days": 60}})
def test_dead_letters_keep_their_run_and_event_for_dead_letter_days_only():
    dead_recent, dead_old = make_runs("old", 2, days=50)
    age([dead_old], 61)
    for run in (dead_recent, dead_old):
        OutboxJob.objects.create(tenant_id=run.tenant_id, kind="step", run=run, status="FAILED")
    waiting_event, dead_event, old_dead_event = (emit_event("x", {"n": n}) for n in range(3))
    Event.objects.filter(pk__in=[waiting_event, dead_event]).update(
        created_at=timezone.now() - timedelta(days=50)
    )
    Event.objects.filter(pk=old_dead_event).update(created_at=timezone.now() - timedelta(days=400))
    OutboxJob.objects.filter(event_id__in=[dead_event, old_dead_event]).update(status="DEAD")

    prune()

    # Past runs_days (30) but within dead_letter_days (60): still replayable, kept.
    assert list(ExecutionRun.objects.values_list("pk", flat=True)) == [dead_recent.pk]
    kept = {str(pk) for pk in Event.objects.values_list("pk", flat=True)}
    assert kept == {str(dead_recent.event_id), waiting_event, dead_event}


def test_an_old_event_is_kept_while_its_job_is_waiting_or_dead_lettered():
    at = timezone.now() - timedelta(days=40)
    waiting, dead, done = (emit_event("x", {"n": n}) for n in range(3))
    Event.objects.update(created_at=at)
    OutboxJob.objects.filter(event_id=dead).update(status="DEAD")
    OutboxJob.objects.filter(event_id=done).update(status="COMPLETED")

    prune()

    assert {str(pk) for pk in Event.objects.values_list("pk", flat=True)} == {waiting, dead}


@override_settings(DJANGO_AUTOMATE={"RETENTION": {"audit_days": 100}})
def test_audit_entries_are_kept_longer_than_runs():
    make_runs("old", 1, days=40)
    old, older = (audit.record(action=f"test.{n}", resource_type="test") for n in range(2))
    AuditLogEntry.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    AuditLogEntry.objects.filter(pk=older.pk).update(
        created_at=timezone.now() - timedelta(days=101)
    )

    output = prune()

    assert ExecutionRun.objects.count() == 0
    assert set(AuditLogEntry.objects.values_list("pk", flat=True)) >= {old.pk}
    assert not AuditLogEntry.objects.filter(pk=older.pk).exists()
    assert total(output, "audit entries") == (1, 1)


def test_dry_run_counts_and_changes_nothing():
    make_runs("old", 5, days=40)
    make_runs("new", 2, days=1)
    before = (ExecutionRun.objects.count(), Event.objects.count(), StepRun.objects.count())

    output = prune("--dry-run", "--batch-size", "2")

    assert "runs: would delete 5 (3 batches)" in output
    assert "events: would delete 5 (3 batches)" in output
    assert "Dry run: nothing was deleted." in output
    assert (ExecutionRun.objects.count(), Event.objects.count(), StepRun.objects.count()) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch-size", "0"], "--batch-size must be at least 1, not 0"),
        (["--batch-size", "-5"], "--batch-size must be at least 1, not -5"),
        (["--sleep", "-1"], "--sleep cannot be negative"),
        (["--progress-every", "-1"], "--progress-every cannot be negative"),
    ],
)
def test_bad_options_are_refused_with_a_clear_message(args, message):
    make_runs("old", 1, days=40)
    with pytest.raises(CommandError, match=re.escape(message)):
        prune(*args)
    assert ExecutionRun.objects.count() == 1


@override_settings(
    DJANGO_AUTOMATE={"EVENTS": {"keep_raw_body": True}, "RETENTION": {"raw_body_days": 3}}
)
def test_raw_bodies_are_cleared_after_their_own_retention():
    from automate.events.services import record_event

    old, _ = record_event(type="x", payload={"a": 1}, raw_body=b'{"a": 1}')
    new, _ = record_event(type="x", payload={"a": 2}, raw_body=b'{"a": 2}')
    Event.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=4))

    assert "raw bodies: would clear 1 (1 batches)" in prune("--dry-run")
    assert total(prune(), "raw bodies") == (1, 1)

    old.refresh_from_db()
    new.refresh_from_db()
    # The event itself stays (events_days is 30); only its unredacted body goes.
    assert old.raw_body is None
    assert bytes(new.raw_body) == b'{"a": 2}'


@override_settings(DJANGO_AUTOMATE={"RETENTION": {"prune_batch_size": 2}})
def test_the_batch_size_defaults_to_the_setting():
    make_runs("old", 5, days=40)
    assert total(prune(), "runs") == (5, 3)


def test_a_pause_between_batches_is_taken(monkeypatch):
    from automate.retention import batches

    pauses = []
    monkeypatch.setattr(batches.time, "sleep", pauses.append)
    make_runs("old", 3, days=40)
    prune("--batch-size", "1", "--sleep", "0.25")
    # After each full batch (before looking for more): 3 runs and 3 events, one a batch.
    assert pauses.count(0.25) == 6


@override_settings(DJANGO_AUTOMATE={"RETENTION": {"runs_days": 400}})
def test_audit_kept_shorter_than_runs_fails_the_system_check():
    from automate.checks import check_settings

    [error] = check_settings()
    assert error.id == "automate.E001"
    assert "['audit_days'] (365) must be at least runs_days (400)" in error.msg
