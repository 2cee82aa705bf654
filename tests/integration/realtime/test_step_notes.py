"""What the explorer says about steps and runs follows what really happened to them, and
the dead letters list only jobs that gave up (not the jobs a cancel dropped)."""

import pytest
from django.utils import timezone

from automate.execution.models import ExecutionRun, OutboxJob
from automate.execution.services import cancel_run
from automate.execution.worker import Worker
from automate.realtime.state import run_frame
from automate.runtime import emit_event
from tests.factories import make_published, make_studio_user
from tests.support.connectors import CALLS

pytestmark = pytest.mark.django_db(transaction=True)

TRIGGER = {"id": "trigger", "type": "trigger"}
RATE_LIMITED = "POST https://api.example.com/v1/orders answered HTTP 429 Too Many Requests"


def action(node_id, act="echo", **inputs):
    return {
        "id": node_id,
        "type": "action",
        "connector": "testkit",
        "action": act,
        "inputs": inputs,
    }


def publish(nodes, edges):
    return make_published(
        slug="wf",
        rule_spec={},
        trigger_spec={"event_type": "invoice.paid"},
        graph={"nodes": [TRIGGER, *nodes], "edges": edges},
    )


@pytest.fixture(autouse=True)
def _fresh_calls():
    CALLS.clear()


@pytest.fixture
def ops(client):
    user = make_studio_user("alice")
    client.force_login(user)
    return user


def panel_note(client, run, node_id):
    html = client.get(f"/studio/runs/{run.pk}/steps/{node_id}/", HTTP_HX_REQUEST="true")
    text = html.content.decode()
    start = text.index('id="panel-note">') + len('id="panel-note">')
    return text[start : text.index("</p>", start)]


def frame_notes(run):
    frame = run_frame(run.pk)
    return {s["node_id"]: s for s in frame["steps"]}, frame["run"]


def rate_limited_once():
    """A run whose step ``call`` failed once with a 429 and waits for its next attempt."""
    publish(
        [action("call", "fail", message=RATE_LIMITED, retry_after=600), action("after")],
        [{"source": "trigger", "target": "call"}, {"source": "call", "target": "after"}],
    )
    emit_event("invoice.paid", {})
    run = ExecutionRun.objects.get()
    assert run.steps.get(node_id="call").status == "retrying"
    return run


def test_a_step_that_ran_once_then_was_cancelled_says_so_and_who_cancelled(client, ops):
    run = rate_limited_once()
    cancel_run(run=run, actor=ops)
    note = panel_note(client, run, "call")
    assert note.startswith(
        f"Stopped after 1 attempt (last error: {RATE_LIMITED}): the run was cancelled by alice at "
    )
    assert note.endswith(" before the next one.")
    assert "Not run" not in note
    steps, summary = frame_notes(run)
    assert steps["call"]["note"] == note
    assert steps["call"]["attempts"] == 1
    assert summary["note"].startswith("The run was cancelled by alice at ")
    assert summary["not_run_note"].startswith("Not run: the run was cancelled by alice at ")
    assert "Not run: the run was cancelled by alice" in panel_note(client, run, "after")


def test_a_step_stopped_because_the_run_failed_counts_its_real_attempts(client, ops):
    publish(
        [
            action("call", "fail", message=RATE_LIMITED, retry_after=1),
            action("bad", "fail", retryable=False),
        ],
        [{"source": "trigger", "target": "call"}, {"source": "trigger", "target": "bad"}],
    )
    emit_event("invoice.paid", {})
    run = ExecutionRun.objects.get()
    assert run.status == "failed"
    # The retry comes due after the run failed: the engine does not run it.
    OutboxJob.objects.filter(status="PENDING").update(next_attempt_at=timezone.now())
    Worker(worker_id="test", concurrency=1).run_until_idle()
    assert run.steps.filter(node_id="call").order_by("attempt").last().status == "cancelled"

    note = panel_note(client, run, "call")
    assert note == (
        f"Stopped after 1 attempt (last error: {RATE_LIMITED}): the run failed "
        "(Step &#x27;bad&#x27; failed: boom) before the next one."
    )
    steps, _ = frame_notes(run)
    assert steps["call"]["attempts"] == 1
    assert steps["bad"]["note"] == "Failed after 1 attempt: boom."


def test_retrying_and_succeeded_steps_say_their_attempts(client, ops):
    publish(
        [action("flaky", "fail", times=1, message="HTTP 503"), action("done")],
        [{"source": "trigger", "target": "flaky"}, {"source": "flaky", "target": "done"}],
    )
    emit_event("invoice.paid", {})
    run = ExecutionRun.objects.get()
    steps, _ = frame_notes(run)
    assert steps["flaky"]["note"] == "Attempt 1 failed: HTTP 503. Another attempt is scheduled."
    OutboxJob.objects.filter(status="PENDING").update(next_attempt_at=timezone.now())
    Worker(worker_id="test", concurrency=1).run_until_idle()
    steps, _ = frame_notes(run)
    assert steps["flaky"]["note"] == "Succeeded on attempt 2."
    assert steps["done"]["note"] == "Succeeded."


def test_cancelled_runs_leave_no_dead_letters(client, ops):
    publish(
        [{"id": "wait", "type": "delay", "seconds": 60}, action("after")],
        [{"source": "trigger", "target": "wait"}, {"source": "wait", "target": "after"}],
    )
    emit_event("invoice.paid", {})
    cancel_run(run=ExecutionRun.objects.get(), actor=ops)
    # A dead letter that really gave up, and one a cancel wrote before cancels wrote
    # COMPLETED: only the first is listed.
    make_published(
        slug="bad",
        rule_spec={},
        trigger_spec={"event_type": "x.y"},
        graph={
            "nodes": [TRIGGER, action("boom", "fail", retryable=False)],
            "edges": [{"source": "trigger", "target": "boom"}],
        },
    )
    emit_event("x.y", {})
    failed = ExecutionRun.objects.get(status="failed")
    gave_up = OutboxJob.objects.create(
        tenant_id=failed.tenant_id,
        kind="step",
        run=failed,
        node_id="boom",
        status="DEAD",
        last_error="gave up after 4 attempts",
    )
    cancelled = ExecutionRun.objects.get(status="cancelled")
    OutboxJob.objects.create(
        tenant_id=cancelled.tenant_id,
        kind="step",
        run=cancelled,
        node_id="wait",
        status="FAILED",
        last_error="The run was cancelled.",
    )
    page = client.get("/studio/runs/?view=dead").content.decode()
    assert "gave up after 4 attempts" in page
    assert "The run was cancelled." not in page
    assert f"/studio/runs/dead-letters/{gave_up.pk}/replay/" in page
    for job in OutboxJob.objects.filter(run=cancelled):
        assert f"/studio/runs/dead-letters/{job.pk}/replay/" not in page
    assert (
        page.count("/replay/")
        == OutboxJob.objects.filter(run=failed, status__in=["FAILED", "DEAD"]).count()
    )
