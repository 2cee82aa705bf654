"""Templates that misuse a secret are refused when a workflow is created, published,
imported and run; nothing is written and the secret never appears."""

import copy
import json
from io import StringIO

import pytest
from django.apps import apps
from django.core import serializers
from django.core.management import call_command
from django.core.management.base import CommandError

from automate.execution.models import ExecutionRun
from automate.governance.models import AuditLogEntry
from automate.runtime import emit_event
from automate.workflows import WorkflowValidationError
from automate.workflows.models import Workflow, WorkflowVersion
from automate.workflows.services import publish_version
from tests.factories import make_published, make_workflow

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "tok_live_Q1w2E3r4T5y6U7i8"

UNSAFE = [
    "{{ secrets.API_TOKEN | reverse }}",
    "{{ secrets.API_TOKEN | upper }}",
    "{{ secrets.API_TOKEN | b64encode }}",
    "{{ secrets.API_TOKEN[:9] }}",
    "{{ secrets.API_TOKEN | list | join(' ') }}",
    "{{ secrets.API_TOKEN == 'x' }}",
    "{{ 'Bearer ' ~ secrets.API_TOKEN }}",
    "{% set t %}{{ secrets.API_TOKEN }}{% endset %}{{ t | reverse }}",
    "{{ secrets.API_TOKEN and secrets['X' ~ event.payload.n] }}",
    "{{ secrets[event.payload.name] }}",
]


def graph(value, key="note"):
    return {
        "nodes": [
            {"id": "trigger", "type": "trigger"},
            {
                "id": "a",
                "type": "action",
                "connector": "testkit",
                "action": "echo",
                "inputs": {key: value, "plain": "hello"},
            },
        ],
        "edges": [{"source": "trigger", "target": "a"}],
    }


def every_row_as_text():
    return "\n".join(
        serializers.serialize("json", model.objects.all()) for model in apps.get_models()
    )


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    monkeypatch.setenv("AUTOMATE_API_TOKEN", SECRET)
    monkeypatch.setenv("AUTOMATE_X1", "other-secret-value-123")


@pytest.mark.parametrize("template", UNSAFE)
def test_creating_a_workflow_with_an_unsafe_template_is_refused(template):
    with pytest.raises(WorkflowValidationError) as info:
        make_workflow(slug="wf", graph=graph(template))
    [problem] = info.value.problems
    assert problem["node_id"] == "a"
    assert problem["field"] == "inputs.note"
    assert problem["kind"] == "secret"
    assert "on line 1" in problem["message"]
    assert Workflow.objects.count() == 0


@pytest.mark.parametrize("template", UNSAFE)
def test_publishing_a_draft_with_an_unsafe_template_is_refused(template):
    workflow = make_workflow(slug="wf", graph=graph("fine"))
    # A draft written before the check existed (or straight into the database).
    Workflow.objects.filter(pk=workflow.pk).update(draft_graph=graph(template, key="auth"))
    with pytest.raises(WorkflowValidationError) as info:
        publish_version(workflow=workflow)
    fields = {(p.get("node_id"), p["field"]) for p in info.value.problems}
    assert ("a", "inputs.auth") in fields
    assert "secret" in str(info.value)
    assert WorkflowVersion.objects.count() == 0
    assert not AuditLogEntry.objects.filter(action="workflow.publish").exists()


def test_publishing_refuses_a_template_syntax_error_too():
    workflow = make_workflow(slug="wf", graph=graph("{{ oops"))
    with pytest.raises(WorkflowValidationError, match=r"Template syntax error in inputs\.note"):
        publish_version(workflow=workflow)
    assert WorkflowVersion.objects.count() == 0


def test_a_whole_secret_still_publishes_and_runs():
    make_published(
        slug="wf",
        rule_spec={},
        trigger_spec={"event_type": "t.ok"},
        graph=graph("Bearer {{ secrets.API_TOKEN }}"),
    )
    emit_event("t.ok", {})
    step = ExecutionRun.objects.get().steps.get(node_id="a")
    assert step.status == "succeeded"
    assert SECRET not in every_row_as_text()


@pytest.mark.parametrize("template", UNSAFE[:5] + UNSAFE[-2:])
def test_a_stored_version_with_an_unsafe_template_fails_at_run_time(template):
    version = make_published(
        slug="wf", rule_spec={}, trigger_spec={"event_type": "t.run"}, graph=graph("fine")
    )
    WorkflowVersion.objects.filter(pk=version.pk).update(graph=graph(template))
    emit_event("t.run", {"n": 1, "name": "API_TOKEN"})
    run = ExecutionRun.objects.get()
    step = run.steps.get(node_id="a")
    assert step.status == "failed"
    assert "secret" in step.error
    text = every_row_as_text()
    for form in (SECRET, SECRET[::-1], SECRET.upper(), SECRET[:9], " ".join(SECRET)):
        assert form not in text


@pytest.mark.parametrize("template", UNSAFE[:4])
def test_importing_a_file_with_an_unsafe_template_is_refused(tmp_path, template):
    data = {
        "slug": "flow",
        "name": "Flow",
        "trigger_spec": {"event_type": "t.import"},
        "rule_spec": {},
        "graph": graph(template),
    }
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(data))
    with pytest.raises(CommandError) as info:
        call_command("automate_import", "--file", str(path), "--publish", stdout=StringIO())
    assert "inputs.note" in str(info.value)
    assert "a secret can only be placed whole" in str(info.value)
    assert Workflow.objects.count() == 0
    fine = copy.deepcopy(data)
    fine["graph"] = graph("Bearer {{ secrets.API_TOKEN }}")
    path.write_text(json.dumps(fine))
    call_command("automate_import", "--file", str(path), "--publish", stdout=StringIO())
    assert WorkflowVersion.objects.count() == 1
