import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from automate.workflows.models import Workflow, WorkflowVersion

pytestmark = pytest.mark.django_db

DEMO = {
    "slug": "order-flow",
    "name": "Order flow",
    "description": "Tell the team about big orders.",
    "trigger_spec": {"event_type": "order.created"},
    "rule_spec": {">": [{"var": "total"}, 100]},
    "graph": {
        "nodes": [
            {"id": "trigger", "type": "trigger"},
            {
                "id": "say",
                "type": "action",
                "connector": "log",
                "action": "write",
                "inputs": {"message": "Order {{ event.payload.id }}"},
            },
        ],
        "edges": [{"source": "trigger", "target": "say"}],
    },
}


def write(tmp_path, data, name="flow.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(path)


def test_import_publish_export_round_trip(tmp_path):
    out = StringIO()
    call_command("automate_import", "--file", write(tmp_path, DEMO), "--publish", stdout=out)
    assert "Created workflow 'order-flow'" in out.getvalue()
    assert "Published version 1" in out.getvalue()
    workflow = Workflow.objects.get(slug="order-flow")
    assert workflow.live_version.graph == DEMO["graph"]

    exported = tmp_path / "out.json"
    call_command(
        "automate_export", "--workflow", "order-flow", "--file", str(exported), stdout=StringIO()
    )
    assert json.loads(exported.read_text()) == DEMO

    changed = {**DEMO, "rule_spec": {">": [{"var": "total"}, 500]}}
    call_command("automate_import", "--file", write(tmp_path, changed), stdout=StringIO())
    workflow.refresh_from_db()
    assert workflow.draft_rule_spec == changed["rule_spec"]
    assert workflow.live_version.rule_spec == DEMO["rule_spec"], "a draft import does not go live"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("{oops", "not valid JSON"),
        (
            {
                **DEMO,
                "graph": {
                    **DEMO["graph"],
                    "nodes": [
                        DEMO["graph"]["nodes"][0],
                        {**DEMO["graph"]["nodes"][1], "connector": "nope"},
                    ],
                },
            },
            "node 'say' graph.nodes[1].connector: unknown connector",
        ),
        ({**DEMO, "rule_spec": {"nope": [1]}}, "rule_spec"),
        ({k: v for k, v in DEMO.items() if k != "name"}, "'name' is a required property"),
    ],
)
def test_invalid_files_are_refused_naming_the_problem_and_change_nothing(tmp_path, data, expected):
    with pytest.raises(CommandError) as caught:
        call_command("automate_import", "--file", write(tmp_path, data), "--publish")
    assert expected in str(caught.value)
    assert "nothing was changed" in str(caught.value) or "not JSON" in str(caught.value)
    assert Workflow.objects.count() == 0
    assert WorkflowVersion.objects.count() == 0


def test_missing_file_and_unknown_workflow():
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("automate_import", "--file", "/nonexistent/flow.json")
    with pytest.raises(CommandError, match="'ghost' does not exist"):
        call_command("automate_export", "--workflow", "ghost")


def test_export_a_given_version_or_the_draft(tmp_path):
    call_command("automate_import", "--file", write(tmp_path, DEMO), "--publish", stdout=StringIO())
    call_command(
        "automate_import", "--file", write(tmp_path, {**DEMO, "name": "Renamed"}), stdout=StringIO()
    )
    draft = StringIO()
    call_command("automate_export", "--workflow", "order-flow", "--draft", stdout=draft)
    assert json.loads(draft.getvalue())["name"] == "Renamed"
    v1 = StringIO()
    call_command("automate_export", "--workflow", "order-flow", "--version-number", "1", stdout=v1)
    assert json.loads(v1.getvalue())["graph"] == DEMO["graph"]
    with pytest.raises(CommandError, match="has no version 7"):
        call_command("automate_export", "--workflow", "order-flow", "--version-number", "7")
