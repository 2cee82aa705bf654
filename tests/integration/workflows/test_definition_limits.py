"""Depth and size limits of stored definitions, at every place a definition is saved:
the editor's draft save, the node panel, the rule tab, the wizard, import and publish.

Each case is under the input guard's JSON depth (64), so it is the definition limit
(32 levels, 500 KB per part) that refuses it, with a message naming the limit.
"""

import json
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from automate.workflows.exceptions import WorkflowValidationError
from automate.workflows.models import Workflow, WorkflowVersion
from automate.workflows.services import create_workflow, publish_version
from tests.factories import make_studio_user, make_tenant
from tests.support.databases import MARIADB_JSON_DEPTH, on_mysql, skip_on_mysql

pytestmark = pytest.mark.django_db

TRIGGER = {"event_type": "invoice.paid"}


def deep_list(depth, leaf="x"):
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def deep_rule(depth):
    """A rule about ``depth`` levels deep (each ``{"!": [...]}`` is two levels)."""
    rule = {"==": [1, 1]}
    for _ in range(depth // 2):
        rule = {"!": [rule]}
    return rule


def graph_with_input(value):
    return {
        "nodes": [
            {"id": "trigger", "type": "trigger"},
            {"id": "shape", "type": "transform", "inputs": {"x": value}},
        ],
        "edges": [{"source": "trigger", "target": "shape"}],
    }


GOOD_GRAPH = graph_with_input(1)
#: Over the definition limits, each in a different part and way.
OVER = {
    "input nested 40 deep": {"graph": graph_with_input(deep_list(40))},
    "input nested 60 deep": {"graph": graph_with_input(deep_list(60))},
    "input of 600 KB": {"graph": graph_with_input("y" * 600_000)},
    "rule nested 40 deep": {"rule_spec": deep_rule(40)},
    "trigger spec nested 40 deep": {"trigger_spec": {**TRIGGER, "webhook": deep_list(40)}},
    "NUL in a label": {
        "graph": {**GOOD_GRAPH, "nodes": [{"id": "trigger", "type": "trigger", "label": "a\x00"}]}
    },
    "integer of 2,000 digits in an input": {"graph": graph_with_input(10**2000)},
}


@pytest.fixture
def editor(client):
    tenant = make_tenant("acme")
    user = make_studio_user("ed")
    tenant.members.add(user)
    client.force_login(user)
    client.tenant = tenant
    return client


def workflow_of(tenant):
    return create_workflow(
        name="Flow", slug="flow", tenant=tenant, trigger_spec=TRIGGER, graph=GOOD_GRAPH
    )


def state(workflow):
    workflow.refresh_from_db()
    return (
        workflow.draft_revision,
        workflow.draft_graph,
        workflow.draft_rule_spec,
        workflow.draft_trigger_spec,
    )


@pytest.mark.parametrize("case", sorted(OVER))
def test_create_workflow_refuses_a_definition_over_the_limits(case):
    tenant = make_tenant("acme")
    parts = {"trigger_spec": TRIGGER, "graph": GOOD_GRAPH, **OVER[case]}
    with pytest.raises(WorkflowValidationError) as caught:
        create_workflow(name="Flow", slug="flow", tenant=tenant, **parts)
    assert caught.value.problems
    assert not Workflow.objects.exists()


@pytest.mark.parametrize("case", sorted(OVER))
def test_the_editor_draft_save_refuses_it_with_a_400_naming_the_part(editor, case):
    workflow = workflow_of(editor.tenant)
    before = state(workflow)
    body = {"revision": workflow.draft_revision, **OVER[case]}
    response = editor.put(
        f"/studio/workflows/{workflow.pk}/draft.json",
        data=json.dumps(body),
        content_type="application/json",
    )
    assert response.status_code == 400
    error = response.json()
    # Over the input guard's own limits (64 levels, 1,000 digits, NUL) the guard answers
    # first; under them, the definition limits do.
    assert error["code"] in (
        "invalid_workflow",
        "malformed_request",
        "number_too_large",
        "invalid_text",
    )
    if error["code"] == "invalid_workflow":
        problems = error["details"]["problems"]
        assert problems[0]["field"].split(".")[0] in OVER[case]
        if "graph" in OVER[case] and "deep" in case:
            assert problems[0]["node_id"] == "shape"
            assert "max_definition_depth" in problems[0]["message"]
    assert state(workflow) == before


def test_a_deep_input_message_names_the_node_the_path_and_the_limit(editor):
    workflow = workflow_of(editor.tenant)
    body = {"revision": workflow.draft_revision, "graph": graph_with_input(deep_list(40))}
    response = editor.put(
        f"/studio/workflows/{workflow.pk}/draft.json",
        data=json.dumps(body),
        content_type="application/json",
    )
    problem = response.json()["details"]["problems"][0]
    assert problem["node_id"] == "shape"
    assert problem["field"].startswith("graph.nodes[1].inputs.x[0]")
    assert "nested more than 32 levels" in problem["message"]


@pytest.mark.parametrize("depth", [40, 60])
def test_the_node_panel_refuses_a_mapping_over_the_depth_limit(editor, depth):
    workflow = workflow_of(editor.tenant)
    before = state(workflow)
    response = editor.post(
        f"/studio/workflows/{workflow.pk}/nodes/shape/panel/",
        {"label": "Shape", "mapping": json.dumps({"x": deep_list(depth)})},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "nested more than 32 levels" in page
    assert "Saved to the draft" not in page
    assert state(workflow) == before


@pytest.mark.parametrize("depth", [40, 60])
def test_the_rule_tab_refuses_to_save_a_rule_over_the_depth_limit(editor, depth):
    workflow = workflow_of(editor.tenant)
    before = state(workflow)
    for action in ("validate", "save"):
        response = editor.post(
            f"/studio/workflows/{workflow.pk}/rules/{action}/",
            {"rule_spec": json.dumps(deep_rule(depth))},
            HTTP_HX_REQUEST="true",
        )
        assert "nested more than 32 levels" in response.content.decode()
    assert state(workflow) == before


@pytest.mark.parametrize("case", sorted(OVER))
def test_publish_refuses_a_draft_over_the_limits_written_straight_to_the_database(case):
    if "NUL" in case and connection.vendor == "postgresql":
        pytest.skip("PostgreSQL cannot store a NUL at all, so no such draft can exist there")
    if "deep" in case and on_mysql():
        pytest.skip(MARIADB_JSON_DEPTH)
    workflow = workflow_of(make_tenant("acme"))
    fields = {
        "graph": "draft_graph",
        "rule_spec": "draft_rule_spec",
        "trigger_spec": "draft_trigger_spec",
    }
    for part, value in OVER[case].items():
        setattr(workflow, fields[part], value)
    workflow.save()
    with pytest.raises(WorkflowValidationError) as caught:
        publish_version(workflow=workflow)
    assert any(p["field"].split(".")[0] in OVER[case] for p in caught.value.problems)
    assert not WorkflowVersion.objects.exists()


@skip_on_mysql(MARIADB_JSON_DEPTH)
def test_publish_refuses_the_reported_900_deep_transform_input():
    workflow = workflow_of(make_tenant("acme"))
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)
    try:
        workflow.draft_graph = graph_with_input(deep_list(900))
        workflow.save()
        workflow.refresh_from_db()
    finally:
        sys.setrecursionlimit(old)
    with pytest.raises(WorkflowValidationError) as caught:
        publish_version(workflow=workflow)
    assert caught.value.problems[0]["node_id"] == "shape"
    assert not WorkflowVersion.objects.exists()


@pytest.mark.parametrize("case", sorted(OVER))
def test_import_refuses_a_file_over_the_limits_and_changes_nothing(tmp_path, case):
    make_tenant("default")
    data = {"slug": "flow", "name": "Flow", "trigger_spec": TRIGGER, "graph": GOOD_GRAPH}
    data.update(OVER[case])
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(data))
    with pytest.raises(CommandError) as caught:
        call_command("automate_import", "--file", str(path), "--publish")
    assert "nothing was changed" in str(caught.value)
    assert not Workflow.objects.exists()


@pytest.mark.parametrize(
    "text",
    ['{"graph": ' + "[" * 10_000 + "]" * 10_000 + "}", '{"n": ' + "9" * 5_000 + "}"],
)
def test_import_of_a_pathological_file_is_a_clear_error_not_a_crash(tmp_path, text):
    path = tmp_path / "flow.json"
    path.write_text(text)
    with pytest.raises(CommandError) as caught:
        call_command("automate_import", "--file", str(path))
    assert "(file)" in str(caught.value)


@pytest.mark.parametrize("name", ["N" * 201, "N" * 5_000, "bad\x00name", "bad\ud800name", "  "])
def test_workflow_names_are_checked_everywhere_they_are_saved(editor, name):
    with pytest.raises(WorkflowValidationError):
        create_workflow(name=name, slug="x", tenant=editor.tenant)
    workflow = workflow_of(editor.tenant)
    before = workflow.name
    response = editor.put(
        f"/studio/workflows/{workflow.pk}/draft.json",
        data=json.dumps({"revision": workflow.draft_revision, "name": name}),
        content_type="application/json",
    )
    assert response.status_code == 400
    workflow.refresh_from_db()
    assert workflow.name == before


@override_settings(DJANGO_AUTOMATE={"LIMITS": {"max_definition_depth": 8}})
def test_the_depth_limit_is_a_setting(editor):
    workflow = workflow_of(editor.tenant)
    body = {"revision": workflow.draft_revision, "graph": graph_with_input(deep_list(6))}
    response = editor.put(
        f"/studio/workflows/{workflow.pk}/draft.json",
        data=json.dumps(body),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "more than 8 levels" in response.json()["details"]["problems"][0]["message"]


def test_publish_notes_with_text_a_database_cannot_store_are_refused():
    workflow = workflow_of(make_tenant("acme"))
    for notes in ("a\x00b", "\udfff"):
        with pytest.raises(WorkflowValidationError):
            publish_version(workflow=workflow, notes=notes)
    assert not WorkflowVersion.objects.exists()


@pytest.mark.parametrize("case", sorted(c for c in OVER if "NUL" not in c))
def test_model_forms_such_as_the_admin_refuse_a_draft_over_the_limits(case):
    from django.core.exceptions import ValidationError

    workflow = workflow_of(make_tenant("acme"))
    fields = {
        "graph": "draft_graph",
        "rule_spec": "draft_rule_spec",
        "trigger_spec": "draft_trigger_spec",
    }
    for part, value in OVER[case].items():
        setattr(workflow, fields[part], value)
    with pytest.raises(ValidationError):
        workflow.full_clean()
