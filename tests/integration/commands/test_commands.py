from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

from automate.events.models import Event
from automate.execution.models import ExecutionRun, OutboxJob, StepRun
from automate.management.commands.automate_demo import demo_login
from automate.runtime import emit_event, run_workflow
from automate.workflows.models import Workflow
from tests.factories import make_published

pytestmark = pytest.mark.django_db


def test_migrations_match_the_models():
    call_command("makemigrations", "automate", "--check", "--dry-run", stdout=StringIO())


@override_settings(DEBUG=True)
def test_demo_creates_a_working_login_a_live_workflow_and_sample_events(
    tmp_path, settings, monkeypatch
):
    settings.VAR_DIR = tmp_path
    # DJANGO_DEBUG=1 sets it in the site's settings; publishing checks the secret exists.
    monkeypatch.setenv("AUTOMATE_SLACK_TOKEN", "xoxb-demo-sandbox-not-a-real-token")
    out = StringIO()
    call_command("automate_demo", stdout=out)
    password = (tmp_path / "demo_credentials").read_text().strip()
    login = demo_login(get_user_model())  # "demo", or "demo@example.com" for an email user
    assert f"{login} / {password}" in out.getvalue()
    assert len(password) >= 12
    assert authenticate(username=login, password=password) is not None

    workflow = Workflow.objects.get(slug="invoice-paid-to-slack")
    assert workflow.live_version.version_num == 1
    assert workflow.live_version.compiled_rule.evaluate({"data": {"object": {"amount_paid": 2500}}})
    assert Event.objects.filter(type="invoice.paid", source="stripe").count() == 5

    # Running it again keeps the same password and adds nothing.
    call_command("automate_demo", stdout=StringIO())
    assert authenticate(username=login, password=password) is not None
    assert Event.objects.count() == 5
    assert Workflow.objects.count() == 1


@override_settings(DEBUG=False)
def test_demo_refuses_to_run_in_production():
    with pytest.raises(CommandError, match="for development"):
        call_command("automate_demo")


def test_prune_deletes_only_what_is_past_retention():
    make_published(slug="wf")
    old_run = run_workflow("wf", {})
    new_run = run_workflow("wf", {})
    long_ago = timezone.now() - timedelta(days=40)
    ExecutionRun.objects.filter(pk=old_run.pk).update(
        status="succeeded", created_at=long_ago, finished_at=long_ago
    )
    ExecutionRun.objects.filter(pk=new_run.pk).update(
        status="succeeded", finished_at=timezone.now()
    )
    Event.objects.filter(pk=old_run.event_id).update(created_at=long_ago)
    stale_unreferenced = emit_event("x", {})
    Event.objects.filter(pk=stale_unreferenced).update(created_at=long_ago)

    out = StringIO()
    call_command("automate_prune", "--dry-run", stdout=out)
    assert "Would delete 1 runs" in out.getvalue()
    assert ExecutionRun.objects.count() == 2

    call_command("automate_prune", stdout=StringIO())
    assert list(ExecutionRun.objects.values_list("pk", flat=True)) == [new_run.pk]
    assert not Event.objects.filter(pk=old_run.event_id).exists()
    assert Event.objects.filter(pk=new_run.event_id).exists()
    # A pending event job keeps an old event alive.
    assert Event.objects.filter(pk=stale_unreferenced).exists()


def make_old_runs(count: int, *, days: int = 40) -> list:
    """``count`` finished runs (with their events, steps and jobs), all ``days`` old."""
    make_published(slug="old")
    runs = [run_workflow("old", {"n": n}) for n in range(count)]
    long_ago = timezone.now() - timedelta(days=days)
    ExecutionRun.objects.update(status="succeeded", created_at=long_ago, finished_at=long_ago)
    Event.objects.update(created_at=long_ago)
    return runs


def test_prune_works_in_bounded_batches_until_nothing_is_left():
    from automate.management.commands.automate_prune import Cutoffs, prune_batch

    make_old_runs(5)
    assert StepRun.objects.count() == 5
    OutboxJob.objects.bulk_create(
        OutboxJob(tenant_id=run.tenant_id, kind="step", run=run, status="COMPLETED")
        for run in ExecutionRun.objects.all()
    )

    first = prune_batch(Cutoffs.now(), batch_size=2)
    assert (first.runs, first.events) == (2, 2)  # a batch never goes over its size
    assert ExecutionRun.objects.count() == 3

    out = StringIO()
    call_command("automate_prune", "--batch-size", "2", stdout=out)
    assert "Deleted 3 runs (with their steps and jobs) and 3 events" in out.getvalue()
    assert ExecutionRun.objects.count() == Event.objects.count() == 0
    assert StepRun.objects.count() == OutboxJob.objects.count() == 0


def test_prune_keeps_runs_that_have_not_finished():
    [run] = make_old_runs(1)
    ExecutionRun.objects.filter(pk=run.pk).update(status="running", finished_at=None)
    call_command("automate_prune", stdout=StringIO())
    assert ExecutionRun.objects.filter(pk=run.pk).exists()
    assert Event.objects.filter(pk=run.event_id).exists()


def test_prune_refuses_a_batch_size_below_one():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("automate_prune", "--batch-size", "0", stdout=StringIO())


@override_settings(
    DJANGO_AUTOMATE={"EVENTS": {"keep_raw_body": True}, "RETENTION": {"raw_body_days": 3}}
)
def test_prune_clears_raw_bodies_after_their_own_retention():
    from automate.events.services import record_event

    old, _ = record_event(type="x", payload={"a": 1}, raw_body=b'{"a": 1}')
    new, _ = record_event(type="x", payload={"a": 2}, raw_body=b'{"a": 2}')
    Event.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=4))

    out = StringIO()
    call_command("automate_prune", "--dry-run", stdout=out)
    assert "clear 1 raw bodies" in out.getvalue()
    call_command("automate_prune", stdout=StringIO())

    old.refresh_from_db()
    new.refresh_from_db()
    # The event itself stays (events_days is 30); only its unredacted body goes.
    assert old.raw_body is None
    assert bytes(new.raw_body) == b'{"a": 2}'


def test_raw_bodies_are_not_stored_by_default():
    from automate.events.services import record_event

    event, _ = record_event(type="x", payload={"a": 1}, raw_body=b'{"a": 1}')
    event.refresh_from_db()
    assert event.raw_body is None
