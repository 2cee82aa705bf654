import pytest

from automate.events.models import Event, ImmutableRecordError
from automate.exceptions import ConflictError, NotFoundError
from automate.execution.models import ExecutionRun, OutboxJob
from automate.governance.models import AuditLogEntry
from automate.runtime import run_workflow
from automate.workflows import NotPublishedError, WorkflowValidationError
from automate.workflows.models import WorkflowVersion
from automate.workflows.services import publish_version
from tests.factories import make_published, make_studio_user, make_tenant, make_workflow

pytestmark = pytest.mark.django_db(transaction=True)


def test_publish_snapshots_the_draft_and_makes_it_live():
    user = make_studio_user()
    workflow = make_workflow(slug="big-invoices")
    version = publish_version(workflow=workflow, published_by=user, notes="first")

    workflow.refresh_from_db()
    assert workflow.live_version == version
    assert version.version_num == 1
    assert version.rule_spec == {">": [{"var": "amount"}, 1000]}
    assert version.published_by == user
    assert version.compiled_rule.evaluate({"amount": 1500})
    assert not version.compiled_rule.evaluate({"amount": 10})

    workflow.draft_rule_spec = {">": [{"var": "amount"}, 5000]}
    workflow.save()
    second = publish_version(workflow=workflow, published_by=user)
    assert second.version_num == 2
    version.refresh_from_db()
    assert version.rule_spec == {">": [{"var": "amount"}, 1000]}, "v1 is unchanged"


def test_publish_writes_an_audit_entry():
    user = make_studio_user()
    version = publish_version(workflow=make_workflow(slug="wf"), published_by=user)
    entry = AuditLogEntry.objects.get(action="workflow.publish")
    assert entry.actor == user
    assert entry.actor_repr == user.get_username()
    assert entry.resource_id == str(version.workflow_id)
    assert entry.details["version"] == 1


def test_a_published_version_cannot_be_changed():
    version = make_published(slug="wf")
    version.rule_spec = {"==": [1, 1]}
    with pytest.raises(ImmutableRecordError, match="published and immutable"):
        version.save()
    version.refresh_from_db()
    assert version.rule_spec == {">": [{"var": "amount"}, 1000]}


def test_an_unpublished_version_can_be_changed():
    workflow = make_workflow(slug="wf")
    version = WorkflowVersion.objects.create(workflow=workflow, version_num=1, graph={})
    version.rule_spec = {"==": [1, 1]}
    version.save()
    assert WorkflowVersion.objects.get(pk=version.pk).rule_spec == {"==": [1, 1]}


def test_publish_refuses_a_bad_rule_and_trigger_and_writes_nothing():
    workflow = make_workflow(slug="wf", rule_spec={"and": [{"nope": [1]}]}, trigger_spec={})
    with pytest.raises(WorkflowValidationError) as info:
        publish_version(workflow=workflow)
    fields = [p["field"] for p in info.value.problems]
    assert "trigger_spec.event_type" in fields
    assert any(f.startswith("rule_spec/and/0") for f in fields)
    assert WorkflowVersion.objects.count() == 0
    assert AuditLogEntry.objects.count() == 0


def test_duplicate_slug_is_a_conflict():
    make_workflow(slug="wf")
    with pytest.raises(ConflictError, match="already exists"):
        make_workflow(slug="wf")
    make_workflow(slug="wf", tenant=make_tenant())  # another tenant may reuse it


def test_run_workflow_starts_the_live_version_with_an_event():
    version = make_published(slug="wf")
    run = run_workflow("wf", {"amount": 5})

    assert run.workflow_version == version
    # Synchronous mode (the test settings): a trigger-only workflow has already finished.
    assert run.status == ExecutionRun.Status.SUCCEEDED
    assert run.event.payload == {"amount": 5}
    assert run.event.source == "manual"
    assert run.trace_id == run.event.trace_id
    assert run.steps.get().node_id == "trigger"
    # The direct run's event is not also matched against rules (the rule would not match,
    # and no second run may start).
    assert not OutboxJob.objects.filter(kind=OutboxJob.Kind.EVENT).exists()
    assert ExecutionRun.objects.count() == 1


def test_run_workflow_with_a_seen_dedupe_key_returns_the_same_run():
    make_published(slug="wf")
    first = run_workflow("wf", {}, dedupe_key="once")
    again = run_workflow("wf", {}, dedupe_key="once")
    assert again.pk == first.pk
    assert ExecutionRun.objects.count() == 1
    assert Event.objects.count() == 1


def test_run_workflow_errors():
    make_workflow(slug="draft-only")
    with pytest.raises(NotFoundError, match="'missing' does not exist"):
        run_workflow("missing", {})
    with pytest.raises(NotPublishedError, match="no published version"):
        run_workflow("draft-only", {})
    assert Event.objects.count() == 0


def test_rules_can_be_written_with_jsonlogic_py_expressions():
    from jsonlogic import Variable

    rule = (Variable("amount") > 1000) & (Variable("currency") == "usd")
    version = make_published(slug="py-rule", rule_spec=rule)
    assert version.rule_spec == {
        "and": [{">": [{"var": "amount"}, 1000]}, {"==": [{"var": "currency"}, "usd"]}]
    }
    assert version.compiled_rule.evaluate({"amount": 1500, "currency": "usd"})
    assert not version.compiled_rule.evaluate({"amount": 1500, "currency": "eur"})


def test_a_secret_field_holding_a_literal_cannot_be_published(monkeypatch):
    monkeypatch.setenv("AUTOMATE_SLACK_TOKEN", "xoxb-the-real-token")
    graph = {
        "nodes": [
            {"id": "trigger", "type": "trigger"},
            {
                "id": "slack",
                "type": "action",
                "connector": "slack",
                "action": "post_message",
                "inputs": {"token": "xoxb-pasted-literal-token", "channel": "#a", "text": "hi"},
            },
        ],
        "edges": [{"source": "trigger", "target": "slack"}],
    }
    workflow = make_workflow(slug="leaky", graph=graph)
    with pytest.raises(WorkflowValidationError) as info:
        publish_version(workflow=workflow)
    problem = next(p for p in info.value.problems if p.get("node_id") == "slack")
    assert problem["field"] == "inputs.token"
    assert "literal value" in problem["message"]
    assert "xoxb-pasted" not in str(info.value)
    assert WorkflowVersion.objects.count() == 0

    for reference in (
        {"$secret": "SLACK_TOKEN"},
        "$secret:SLACK_TOKEN",
        "{{ secrets.SLACK_TOKEN }}",
    ):
        graph["nodes"][1]["inputs"]["token"] = reference
        workflow.draft_graph = graph
        workflow.save()
        publish_version(workflow=workflow)
    assert WorkflowVersion.objects.count() == 3


def test_nonsense_graphs_are_problems_not_crashes():
    from automate.workflows.services import definition_problems

    for graph in ({"nodes": [1, "x"], "edges": []}, {"nodes": "abc", "edges": {}}, []):
        problems = definition_problems(trigger_spec={"event_type": "a"}, rule_spec={}, graph=graph)
        assert problems, graph


@pytest.mark.parametrize("how", ["switched_off", "archived"])
def test_run_workflow_refuses_a_workflow_that_is_switched_off_or_archived(how):
    from automate.workflows.exceptions import WorkflowInactiveError
    from automate.workflows.services import archive_workflow, set_workflow_active

    version = make_published(slug="wf")
    if how == "archived":
        archive_workflow(workflow=version.workflow)
    else:
        set_workflow_active(workflow=version.workflow, active=False)

    with pytest.raises(WorkflowInactiveError) as caught:
        run_workflow("wf", {"amount": 5})

    assert caught.value.code == "workflow_inactive"
    assert caught.value.details["state"] == how
    assert ExecutionRun.objects.count() == 0
    assert not Event.objects.exists()  # nothing recorded for a run that cannot start
