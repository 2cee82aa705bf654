"""The explorer's pages: the runs list (filters, cursor pages, dead letters), a run's page,
the step panel, and the buttons that steer a run."""

import itertools
import re

import pytest

from automate.execution.models import ExecutionRun, OutboxJob
from automate.governance.models import AuditLogEntry
from automate.runtime import emit_event
from studio.views.explorer import decode_cursor, encode_cursor
from tests.factories import make_published, make_studio_user, make_tenant, make_user

pytestmark = pytest.mark.django_db(transaction=True)

TRIGGER = {"id": "trigger", "type": "trigger"}


def action(node_id, act="echo", **inputs):
    return {
        "id": node_id,
        "type": "action",
        "connector": "testkit",
        "action": act,
        "inputs": inputs,
    }


def publish(nodes, *, slug="wf", tenant=None, event_type="invoice.paid", name=None):
    ids = ["trigger", *(n["id"] for n in nodes)]
    return make_published(
        slug=slug,
        name=name,
        tenant=tenant,
        rule_spec={},
        trigger_spec={"event_type": event_type},
        graph={
            "nodes": [TRIGGER, *nodes],
            "edges": [{"source": a, "target": b} for a, b in itertools.pairwise(ids)],
        },
    )


@pytest.fixture
def staff(client):
    user = make_studio_user()
    client.force_login(user)
    return user


def run_ids(html):
    return re.findall(r'data-run-id="([0-9a-f-]{36})"', html)


def test_runs_list_shows_runs_newest_first_with_filters(client, staff):
    ok = publish([action("a")], slug="ok", name="Echo flow")
    publish(
        [action("b", "fail", retryable=False)], slug="bad", name="Failing flow", event_type="x.y"
    )
    emit_event("invoice.paid", {})
    emit_event("x.y", {})
    emit_event("invoice.paid", {})
    runs = list(ExecutionRun.objects.order_by("-created_at", "-id"))
    page = client.get("/studio/runs/").content.decode()
    assert run_ids(page) == [str(r.pk) for r in runs]
    assert "Echo flow" in page
    assert "Failing flow" in page
    assert "<code>x.y</code>" in page

    failed = client.get("/studio/runs/?status=failed").content.decode()
    assert run_ids(failed) == [str(r.pk) for r in runs if r.status == "failed"]
    by_workflow = client.get(f"/studio/runs/?workflow={ok.workflow_id}").content.decode()
    assert len(run_ids(by_workflow)) == 2
    trace = runs[1].trace_id
    assert run_ids(client.get(f"/studio/runs/?trace={trace}").content.decode()) == [str(runs[1].pk)]
    assert run_ids(client.get("/studio/runs/?since=2999-01-01").content.decode()) == []
    assert len(run_ids(client.get("/studio/runs/?until=2999-01-01").content.decode())) == 3
    # Unknown status and date values are ignored, never a 500; an id filter that is not an
    # id is refused by the input guard with a 400 saying so.
    assert client.get("/studio/runs/?status=nope&since=garbage").status_code == 200
    refused = client.get("/studio/runs/?workflow=abc")
    assert refused.status_code == 400
    assert "The workflow filter must be a whole number" in refused.content.decode()


def test_runs_list_pages_with_an_opaque_cursor(client, staff):
    publish([action("a")])
    for _ in range(5):
        emit_event("invoice.paid", {})
    expected = [str(r.pk) for r in ExecutionRun.objects.order_by("-created_at", "-id")]
    seen, url = [], "/studio/runs/?limit=2"
    while url:
        html = client.get(url).content.decode()
        seen += run_ids(html)
        match = re.search(r'id="older" href="\?([^"]+)"', html)
        url = f"/studio/runs/?{match.group(1).replace('&amp;', '&')}" if match else None
    assert seen == expected
    assert decode_cursor(encode_cursor(ExecutionRun.objects.first())) is not None
    assert decode_cursor("not-a-cursor!") is None
    assert client.get("/studio/runs/?cursor=%%%&limit=100000").status_code == 200


def test_other_tenants_runs_are_invisible(client):
    mine, theirs = make_tenant("mine"), make_tenant("theirs")
    user = make_studio_user()
    mine.members.add(user)
    client.force_login(user)
    publish([action("a")], tenant=theirs)
    emit_event("invoice.paid", {}, tenant=theirs)
    run = ExecutionRun.objects.get()
    assert run_ids(client.get("/studio/runs/").content.decode()) == []
    assert client.get(f"/studio/runs/{run.pk}/").status_code == 404
    assert client.get(f"/studio/runs/{run.pk}/steps/a/").status_code == 404
    assert client.post(f"/studio/runs/{run.pk}/cancel/").status_code == 404


def test_the_run_page_draws_the_graph_and_links_audit_and_event(client, staff):
    publish([action("a")])
    emit_event("invoice.paid", {})
    run = ExecutionRun.objects.get()
    page = client.get(f"/studio/runs/{run.pk}/").content.decode()
    assert 'id="run-canvas"' in page
    assert "studio/explorer/run.js" in page
    assert f"/admin/automate/auditlogentry/?resource_id={run.pk}" in page
    assert f"/admin/automate/event/{run.event_id}/change/" in page
    assert '"status": "succeeded"' in page  # the initial frame, before the websocket


def test_step_panel_is_redacted_and_raw_payload_needs_the_permission(client, canary):
    publish([action("a", token={"$secret": "CANARY"}, api_key="literal-key-123")])
    emit_event("invoice.paid", {"password": "hunter2-payload", "amount": 5})
    run = ExecutionRun.objects.get()
    staff = make_studio_user()
    client.force_login(staff)
    panel = client.get(f"/studio/runs/{run.pk}/steps/a/", HTTP_HX_REQUEST="true").content.decode()
    assert "Attempt 1" in panel
    assert canary not in panel
    assert "literal-key-123" not in panel
    trigger = client.get(f"/studio/runs/{run.pk}/steps/trigger/").content.decode()
    assert "hunter2-payload" not in trigger
    assert "redacted" in trigger

    client.force_login(make_studio_user(perms=["automate.view_raw_payload"]))
    raw = client.get(f"/studio/runs/{run.pk}/steps/trigger/").content.decode()
    assert "hunter2-payload" in raw
    assert client.get(f"/studio/runs/{run.pk}/steps/nope/").status_code == 404


def test_retry_resume_and_cancel_call_the_services_and_are_audited(client, staff):
    publish([action("flaky", "fail", retryable=False, times=1), action("after")])
    emit_event("invoice.paid", {})
    run = ExecutionRun.objects.get()
    assert run.status == "failed"
    panel = client.get(f"/studio/runs/{run.pk}/steps/flaky/").content.decode()
    assert "Retry this step" in panel

    response = client.post(
        f"/studio/runs/{run.pk}/retry/", {"node_id": "flaky"}, HTTP_HX_REQUEST="true"
    )
    assert "Retrying step" in response.content.decode()
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert AuditLogEntry.objects.filter(
        action="run.retry_step", resource_id=str(run.pk), actor=staff
    ).exists()

    # Retrying again is refused with a clear message, not a 500.
    again = client.post(f"/studio/runs/{run.pk}/retry/", {"node_id": "flaky"}, follow=True)
    assert "has not failed, so there is nothing to retry" in again.content.decode()

    response = client.post(f"/studio/runs/{run.pk}/resume/", {"node_id": "after"})
    assert response.status_code == 302
    assert AuditLogEntry.objects.filter(action="run.resume", resource_id=str(run.pk)).exists()

    cancelled = client.post(
        f"/studio/runs/{run.pk}/cancel/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "already succeeded" in cancelled
    assert not AuditLogEntry.objects.filter(action="run.cancel").exists()


def test_cancel_a_running_run(client, staff):
    publish([action("slow", "fail", retryable=True)])
    emit_event("invoice.paid", {})
    run = ExecutionRun.objects.get()
    assert run.status == "running"  # waiting for its retry
    page = client.get(f"/studio/runs/{run.pk}/").content.decode()
    assert 'id="cancel-run"' in page
    client.post(f"/studio/runs/{run.pk}/cancel/")
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert AuditLogEntry.objects.filter(
        action="run.cancel", resource_id=str(run.pk), actor=staff
    ).exists()


def test_dead_letters_are_listed_and_replayed(client, staff):
    publish([action("flaky", "fail", retryable=False, times=1)])
    emit_event("invoice.paid", {})
    job = OutboxJob.objects.get(kind="step", status__in=["FAILED", "DEAD"])
    page = client.get("/studio/runs/?view=dead").content.decode()
    assert f'data-job-id="{job.pk}"' in page
    assert "Replay" in page
    response = client.post(f"/studio/runs/dead-letters/{job.pk}/replay/", follow=True)
    assert f"Job {job.pk} is back in the queue." in response.content.decode()
    job.refresh_from_db()
    assert job.status == "COMPLETED"  # replayed and run (synchronous mode)
    assert ExecutionRun.objects.get().status == "succeeded"
    assert AuditLogEntry.objects.filter(
        action="job.replay", resource_id=str(job.pk), actor=staff
    ).exists()
    again = client.post(f"/studio/runs/dead-letters/{job.pk}/replay/", follow=True)
    assert "not dead-lettered" in again.content.decode()


def test_a_dead_letter_shows_the_claims_its_workers_lost(client, staff):
    publish([action("flaky", "fail", retryable=False)])
    emit_event("invoice.paid", {})
    job = OutboxJob.objects.get(kind="step", status="FAILED")
    page = client.get("/studio/runs/?view=dead").content.decode()
    assert "lost claim" not in page
    OutboxJob.objects.filter(pk=job.pk).update(lost_claims=7)
    page = client.get("/studio/runs/?view=dead").content.decode()
    assert "1 / 4 <span" in page
    assert "+ 7 lost claims" in page


def test_explorer_needs_the_studio_permission(client):
    assert client.get("/studio/runs/").status_code == 302
    client.force_login(make_user())
    assert client.get("/studio/runs/").status_code == 403
    assert client.post("/studio/runs/dead-letters/1/replay/").status_code == 403
