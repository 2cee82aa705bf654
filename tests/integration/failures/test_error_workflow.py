"""A workflow's error workflow: started once per failed run, with the failure's details."""

import pytest

from automate.events.models import Event
from automate.execution.models import ExecutionRun, OutboxJob
from automate.execution.services import cancel_run, retry_step
from automate.execution.worker import Worker
from automate.failures.models import RunFailure
from automate.failures.settings import FailureSettings, update_failure_settings
from automate.governance.models import AuditLogEntry
from automate.runtime import emit_event
from automate.workflows.exceptions import WorkflowValidationError
from automate.workflows.models import Workflow
from automate.workflows.services import archive_workflow, set_workflow_active
from tests.factories import make_published, make_tenant, make_workflow
from tests.support.connectors import CALLS

pytestmark = pytest.mark.django_db(transaction=True)

TRIGGER = {"id": "trigger", "type": "trigger"}
SECRET_LOOKING = "sk_live_51HqLyjWDarjtT1zdp7dcXYZabcdef"


def failing(slug="billing", tenant=None, message="card declined"):
    version = make_published(
        slug=slug,
        tenant=tenant,
        rule_spec={},
        trigger_spec={"event_type": "invoice.paid"},
        graph={
            "nodes": [
                TRIGGER,
                {
                    "id": "charge",
                    "type": "action",
                    "label": "Charge the card",
                    "connector": "testkit",
                    "action": "fail",
                    "inputs": {"retryable": False, "message": message},
                },
            ],
            "edges": [{"source": "trigger", "target": "charge"}],
        },
    )
    return version.workflow


def handler(slug="on-failure", tenant=None, *, fails=False):
    node = {
        "id": "tell",
        "type": "action",
        "connector": "testkit",
        "action": "fail" if fails else "echo",
        "inputs": {"retryable": False} if fails else {"failed": "{{ event.payload.run.id }}"},
    }
    version = make_published(
        slug=slug,
        tenant=tenant,
        rule_spec={},
        # Its trigger names another event type: an error workflow runs whatever it says.
        trigger_spec={"event_type": "never.sent"},
        graph={"nodes": [TRIGGER, node], "edges": [{"source": "trigger", "target": "tell"}]},
    )
    return version.workflow


def name_error_workflow(workflow, target):
    return update_failure_settings(
        workflow=workflow, values=FailureSettings(error_workflow_id=target.pk)
    )


@pytest.fixture(autouse=True)
def _fresh_calls():
    CALLS.clear()


def runs_of(workflow):
    return ExecutionRun.objects.filter(workflow_version__workflow=workflow)


def test_a_failed_run_starts_its_error_workflow_once_with_the_failure_as_its_event():
    billing, on_failure = failing(), handler()
    name_error_workflow(billing, on_failure)

    emit_event("invoice.paid", {"id": "in_1", "card": SECRET_LOOKING})

    failed = runs_of(billing).get()
    assert failed.status == "failed"
    error_run = runs_of(on_failure).get()
    assert error_run.status == "succeeded"
    event = error_run.event
    assert (event.type, event.source) == ("automate.run.failed", "automate.failure")
    payload = event.payload
    assert payload["run"]["id"] == str(failed.pk)
    assert payload["run"]["url"] == f"/studio/runs/{failed.pk}/"
    assert payload["run"]["started_at"]
    assert payload["run"]["finished_at"]
    assert payload["workflow"] == {
        "id": billing.pk,
        "slug": "billing",
        "name": billing.name,
        "version": 1,
    }
    assert payload["step"]["id"] == "charge"
    assert payload["step"]["name"] == "Charge the card"
    assert (payload["step"]["connector"], payload["step"]["action"]) == ("testkit", "fail")
    assert payload["step"]["error"] == "card declined"
    assert payload["event"] == {"id": str(failed.event_id), "type": "invoice.paid", "source": "api"}
    # The original event's payload is not copied (it may hold secrets or personal data).
    assert SECRET_LOOKING not in str(payload)
    # The step saw the failure's details through the template.
    assert error_run.steps.get(node_id="tell").outputs["echo"] == {"failed": str(failed.pk)}
    failure = RunFailure.objects.get(run=failed)
    assert failure.error_run_id == error_run.pk
    assert error_run.trace_id == failed.trace_id

    # Retrying the failed step fails the run again: still one error run.
    retry_step(run=failed, node_id="charge")
    Worker(worker_id="test", concurrency=1).run_until_idle()
    failed.refresh_from_db()
    assert failed.status == "failed"
    assert runs_of(on_failure).count() == 1
    assert RunFailure.objects.filter(run=failed).count() == 1


def test_secrets_in_the_step_error_are_masked_in_the_payload():
    billing = failing(message=f"Authorization: Bearer {SECRET_LOOKING}")
    name_error_workflow(billing, handler())
    emit_event("invoice.paid", {"id": "in_1"})
    payload = Event.objects.get(type="automate.run.failed").payload
    assert SECRET_LOOKING not in str(payload)
    assert "Authorization" in payload["step"]["error"]


def test_a_cancelled_run_starts_no_error_workflow():
    slow = make_published(
        slug="slow",
        rule_spec={},
        trigger_spec={"event_type": "invoice.paid"},
        graph={
            "nodes": [TRIGGER, {"id": "wait", "type": "delay", "seconds": 3600}],
            "edges": [{"source": "trigger", "target": "wait"}],
        },
    ).workflow
    on_failure = handler()
    name_error_workflow(slow, on_failure)
    emit_event("invoice.paid", {"id": "in_1"})
    run = runs_of(slow).get()
    cancel_run(run=run)
    Worker(worker_id="test", concurrency=1).run_until_idle()
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert not runs_of(on_failure).exists()
    assert not RunFailure.objects.exists()


def test_error_workflows_do_not_chain_so_a_loop_stops():
    billing, on_failure = failing(), handler(fails=True)
    name_error_workflow(billing, on_failure)
    name_error_workflow(on_failure, billing)  # A -> B -> A: allowed, and harmless

    emit_event("invoice.paid", {"id": "in_1"})

    assert runs_of(billing).count() == 1
    error_run = runs_of(on_failure).get()
    assert error_run.status == "failed"
    note = RunFailure.objects.get(run=error_run)
    assert note.error_run_id is None
    assert "error workflows do not start other error workflows" in note.error_workflow_note
    assert ExecutionRun.objects.count() == 2


@pytest.mark.parametrize("state", ["switched off", "archived", "unpublished"])
def test_an_error_workflow_that_cannot_run_is_noted_and_the_run_still_fails(state):
    billing = failing()
    if state == "unpublished":
        target = make_workflow(slug="on-failure", name="On failure")
    else:
        target = handler()
    name_error_workflow(billing, target)
    if state == "switched off":
        set_workflow_active(workflow=target, active=False)
    elif state == "archived":
        archive_workflow(workflow=target)

    emit_event("invoice.paid", {"id": "in_1"})

    failed = runs_of(billing).get()
    assert failed.status == "failed"
    assert OutboxJob.objects.filter(status="PENDING").count() == 0
    assert not runs_of(target).exists()
    failure = RunFailure.objects.get(run=failed)
    expected = {"switched off": "switched off", "archived": "archived"}.get(
        state, "no published version"
    )
    assert expected in failure.error_workflow_note
    entry = AuditLogEntry.objects.get(action="workflow.error_workflow_skipped")
    assert entry.resource_id == str(failed.pk)
    assert expected in entry.details["reason"]


def test_another_tenants_workflow_is_refused_and_nothing_is_saved():
    billing = failing()
    elsewhere = handler(tenant=make_tenant("other"))
    with pytest.raises(WorkflowValidationError) as caught:
        name_error_workflow(billing, elsewhere)
    assert caught.value.http_status == 400
    assert caught.value.problems[0]["field"] == "error_workflow"
    assert Workflow.objects.get(pk=billing.pk).error_workflow_id is None


def test_a_workflow_cannot_be_its_own_error_workflow():
    billing = failing()
    with pytest.raises(WorkflowValidationError) as caught:
        name_error_workflow(billing, billing)
    assert "its own error workflow" in caught.value.problems[0]["message"]


def test_setting_the_error_workflow_is_audited_with_old_and_new_values():
    billing, on_failure = failing(), handler()
    name_error_workflow(billing, on_failure)
    name_error_workflow(billing, on_failure)  # the same again records nothing
    [entry] = AuditLogEntry.objects.filter(action="workflow.failure_settings")
    assert entry.details["changed"] == {"error_workflow": {"old": None, "new": on_failure.pk}}


def test_a_run_without_failure_settings_writes_nothing_extra():
    failing()
    emit_event("invoice.paid", {"id": "in_1"})
    assert ExecutionRun.objects.get().status == "failed"
    assert not RunFailure.objects.exists()
    assert not Event.objects.filter(type="automate.run.failed").exists()
