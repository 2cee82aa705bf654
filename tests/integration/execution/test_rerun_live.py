"""Re-running an event on the live version: a new run on the fixed version, audited;
refused clearly when it cannot be (switched off, nothing live, a run already there).
Retry and resume keep the run's own version and say so."""

import pytest

from automate.execution.exceptions import RunStateError
from automate.execution.models import ExecutionRun
from automate.execution.services import rerun_on_live, retry_step
from automate.governance.models import AuditLogEntry
from automate.runtime import emit_event
from automate.workflows.services import publish_version
from tests.factories import make_published, make_studio_user, make_tenant, make_user
from tests.support.connectors import CALLS

pytestmark = pytest.mark.django_db(transaction=True)

TRIGGER = {"id": "trigger", "type": "trigger"}
BROKEN = {
    "id": "call",
    "type": "action",
    "connector": "testkit",
    "action": "fail",
    "inputs": {"retryable": False, "message": "GET /old-dead-url answered HTTP 404"},
}
FIXED = {
    "id": "call",
    "type": "action",
    "connector": "testkit",
    "action": "echo",
    "inputs": {"url": "/new-url"},
}


@pytest.fixture(autouse=True)
def _fresh_calls():
    CALLS.clear()


def graph(node):
    return {"nodes": [TRIGGER, node], "edges": [{"source": "trigger", "target": "call"}]}


def failed_run_then_fix(tenant=None):
    """A run of v1 that failed, and v2 (the fix) published since."""
    v1 = make_published(
        slug="orders",
        tenant=tenant,
        rule_spec={},
        graph=graph(BROKEN),
        trigger_spec={"event_type": "order.placed"},
    )
    emit_event("order.placed", {"id": 7}, tenant=tenant)
    run = ExecutionRun.objects.get(workflow_version=v1)
    assert run.status == "failed"
    workflow = v1.workflow
    workflow.draft_graph = graph(FIXED)
    workflow.save(update_fields=["draft_graph"])
    v2 = publish_version(workflow=workflow)
    return run, v1, v2


def test_a_failed_run_is_re_run_on_the_live_version_and_audited():
    run, v1, v2 = failed_run_then_fix()
    user = make_user("ops")
    new_run = rerun_on_live(run=run, actor=user)

    assert new_run.pk != run.pk
    assert new_run.workflow_version == v2
    assert new_run.event_id == run.event_id
    new_run.refresh_from_db()  # the worker ran it after the commit
    assert new_run.status == "succeeded"
    assert new_run.steps.get(node_id="call").outputs["echo"] == {"url": "/new-url"}
    run.refresh_from_db()
    assert (run.status, run.workflow_version_id) == ("failed", v1.pk)  # left as it was
    entry = AuditLogEntry.objects.get(action="run.rerun_live")
    assert entry.actor == user
    assert entry.tenant_id == run.tenant_id
    assert entry.resource_id == str(new_run.pk)
    assert entry.details == {
        "from_run": str(run.pk),
        "from_version": 1,
        "version": 2,
        "event": str(run.event_id),
    }


def test_retry_keeps_the_runs_own_version():
    run, v1, _ = failed_run_then_fix()
    retry_step(run=run, node_id="call")
    run.refresh_from_db()
    assert run.workflow_version_id == v1.pk
    latest = run.steps.filter(node_id="call").order_by("-attempt").first()
    assert latest.error == "GET /old-dead-url answered HTTP 404"


def test_a_second_re_run_on_the_same_version_is_refused_and_names_the_run():
    run, _, v2 = failed_run_then_fix()
    first = rerun_on_live(run=run)
    with pytest.raises(RunStateError) as caught:
        rerun_on_live(run=run)
    assert "already has a run on the live version v2" in caught.value.message
    assert caught.value.details["existing_run"] == str(first.pk)
    # The re-run itself is on the live version: the same answer, and still one run.
    with pytest.raises(RunStateError):
        rerun_on_live(run=first)
    assert ExecutionRun.objects.filter(event_id=run.event_id, workflow_version=v2).count() == 1
    assert AuditLogEntry.objects.filter(action="run.rerun_live").count() == 1


def test_a_switched_off_workflow_is_refused():
    run, _, _ = failed_run_then_fix()
    workflow = run.workflow_version.workflow
    workflow.is_active = False
    workflow.save(update_fields=["is_active"])
    with pytest.raises(RunStateError) as caught:
        rerun_on_live(run=run)
    assert "is switched off" in caught.value.message
    assert ExecutionRun.objects.count() == 1
    assert not AuditLogEntry.objects.filter(action="run.rerun_live").exists()


def test_a_workflow_without_a_live_version_is_refused():
    run, _, _ = failed_run_then_fix()
    workflow = run.workflow_version.workflow
    workflow.live_version = None
    workflow.save(update_fields=["live_version"])
    with pytest.raises(RunStateError) as caught:
        rerun_on_live(run=run)
    assert "has no live version" in caught.value.message
    assert ExecutionRun.objects.count() == 1


@pytest.mark.parametrize(
    "trigger_spec",
    [{"event_type": "refund.issued"}, {"event_type": "order.*", "source": "shop"}],
    ids=["another-type", "another-source"],
)
def test_a_live_version_whose_trigger_no_longer_fires_on_the_event_is_refused(trigger_spec):
    run, _, _ = failed_run_then_fix()
    workflow = run.workflow_version.workflow
    workflow.draft_trigger_spec = trigger_spec
    workflow.save(update_fields=["draft_trigger_spec"])
    v3 = publish_version(workflow=workflow)
    with pytest.raises(RunStateError) as caught:
        rerun_on_live(run=run)
    assert f"v{v3.version_num} starts on" in caught.value.message
    assert "order.placed" in caught.value.message
    assert not ExecutionRun.objects.filter(workflow_version=v3).exists()
    assert not AuditLogEntry.objects.filter(action="run.rerun_live").exists()


# --- the studio -------------------------------------------------------------------------


def test_the_run_page_and_panel_say_which_version_retry_uses_and_offer_the_re_run(client):
    user = make_studio_user()
    client.force_login(user)
    run, _, _ = failed_run_then_fix()
    page = client.get(f"/studio/runs/{run.pk}/").content.decode()
    assert "v2 is live" in page
    assert "Re-run this event on the live version (v2)" in page
    panel = client.get(f"/studio/runs/{run.pk}/steps/call/", HTTP_HX_REQUEST="true")
    text = panel.content.decode()
    assert "Retry this step on v1" in text
    assert "Retry and resume use v1, the version this run started on. v2 is live now" in text

    response = client.post(f"/studio/runs/{run.pk}/rerun-live/")
    new_run = ExecutionRun.objects.exclude(pk=run.pk).get()
    assert response.status_code == 302
    assert response["Location"] == f"/studio/runs/{new_run.pk}/"
    # Back on the old run: the button became a link to that run.
    page = client.get(f"/studio/runs/{run.pk}/").content.decode()
    assert f'href="/studio/runs/{new_run.pk}/"' in page
    assert "Re-run this event on the live version" not in page
    refused = client.post(f"/studio/runs/{run.pk}/rerun-live/", follow=True).content.decode()
    assert "already has a run on the live version v2" in refused


def test_another_tenants_run_cannot_be_re_run(client):
    other = make_tenant("other")
    run, _, _ = failed_run_then_fix(tenant=other)
    outsider = make_studio_user()
    client.force_login(outsider)
    assert client.post(f"/studio/runs/{run.pk}/rerun-live/").status_code == 404
    assert ExecutionRun.objects.count() == 1


def test_re_running_needs_the_operate_permission(client):
    run, _, _ = failed_run_then_fix()
    viewer = make_user("viewer", perms=["automate.use_studio"])
    client.force_login(viewer)
    assert client.post(f"/studio/runs/{run.pk}/rerun-live/").status_code == 403
    assert ExecutionRun.objects.count() == 1
