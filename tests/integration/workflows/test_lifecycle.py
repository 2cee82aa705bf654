"""Switching workflows on and off, archiving and restoring them: audited, and an inactive
or archived workflow starts no new runs."""

import pytest

from automate.exceptions import ConflictError
from automate.execution.models import ExecutionRun
from automate.governance.models import AuditLogEntry
from automate.runtime import emit_event
from automate.workflows.models import Workflow
from automate.workflows.services import (
    archive_workflow,
    restore_workflow,
    set_workflow_active,
)
from tests.factories import make_published, make_tenant, make_user

pytestmark = pytest.mark.django_db(transaction=True)

TRIGGER = {"event_type": "order.placed"}
GRAPH = {
    "nodes": [
        {"id": "trigger", "type": "trigger"},
        {"id": "note", "type": "transform", "inputs": {"n": 1}},
    ],
    "edges": [{"source": "trigger", "target": "note"}],
}


@pytest.fixture
def tenant():
    return make_tenant("acme")


@pytest.fixture
def workflow(tenant):
    version = make_published(
        slug="orders", tenant=tenant, trigger_spec=TRIGGER, rule_spec={}, graph=GRAPH
    )
    return version.workflow


def actions(workflow):
    return list(
        AuditLogEntry.objects.filter(resource_type="workflow", resource_id=str(workflow.pk))
        .exclude(action="workflow.publish")
        .order_by("pk")
        .values_list("action", "actor_repr", "tenant__slug")
    )


def test_an_event_to_a_switched_off_workflow_starts_no_run(workflow, tenant):
    user = make_user("ops")
    set_workflow_active(workflow=workflow, active=False, actor=user)
    emit_event("order.placed", {}, tenant=tenant)
    assert ExecutionRun.objects.count() == 0
    set_workflow_active(workflow=workflow, active=True, actor=user)
    emit_event("order.placed", {}, tenant=tenant)
    assert ExecutionRun.objects.count() == 1
    assert actions(workflow) == [
        ("workflow.deactivate", "ops", "acme"),
        ("workflow.activate", "ops", "acme"),
    ]


def test_switching_to_the_state_it_is_in_records_nothing(workflow):
    set_workflow_active(workflow=workflow, active=True)
    assert actions(workflow) == []


def test_an_archived_workflow_starts_no_run_keeps_its_runs_and_comes_back_switched_off(
    workflow, tenant
):
    emit_event("order.placed", {}, tenant=tenant)
    assert ExecutionRun.objects.count() == 1
    archived = archive_workflow(workflow=workflow)
    assert archived.archived_at is not None
    assert not archived.is_active
    emit_event("order.placed", {}, tenant=tenant)
    assert ExecutionRun.objects.count() == 1  # the old run is kept, no new one
    with pytest.raises(ConflictError) as refused:
        set_workflow_active(workflow=workflow, active=True)
    assert refused.value.code == "workflow_archived"
    restored = restore_workflow(workflow=workflow)
    assert restored.archived_at is None
    assert not restored.is_active
    emit_event("order.placed", {}, tenant=tenant)
    assert ExecutionRun.objects.count() == 1  # restoring does not switch it on
    set_workflow_active(workflow=workflow, active=True)
    emit_event("order.placed", {}, tenant=tenant)
    assert ExecutionRun.objects.count() == 2
    assert [a for a, _, _ in actions(workflow)] == [
        "workflow.archive",
        "workflow.restore",
        "workflow.activate",
    ]


def test_a_switched_off_workflow_leaves_the_other_tenants_alone(workflow):
    other = make_tenant("globex")
    theirs = make_published(
        slug="orders", tenant=other, trigger_spec=TRIGGER, rule_spec={}, graph=GRAPH
    ).workflow
    set_workflow_active(workflow=workflow, active=False)
    emit_event("order.placed", {}, tenant=other)
    assert list(ExecutionRun.objects.values_list("workflow_version__workflow", flat=True)) == [
        theirs.pk
    ]
    assert Workflow.objects.get(pk=theirs.pk).is_active
