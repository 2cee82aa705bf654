"""The workflow-file JSON Schema: the demo passes, malformed files are refused."""

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from automate.workflows.schema import load_schema

ROOT = Path(__file__).resolve().parents[3]
DEMO = json.loads(
    (ROOT / "backend" / "automate" / "demo" / "invoice_paid_to_slack.json").read_text()
)


@pytest.fixture(scope="module")
def validator():
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors(validator, document):
    return [
        "/".join(str(part) for part in error.absolute_path)
        for error in validator.iter_errors(document)
    ]


def changed(change):
    document = copy.deepcopy(DEMO)
    change(document)
    return document


def test_the_schema_is_draft_2020_12():
    assert load_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_load_schema_returns_a_copy_the_caller_may_change():
    load_schema()["required"].clear()

    assert "graph" in load_schema()["required"]


def test_the_demo_workflow_file_is_valid(validator):
    assert errors(validator, DEMO) == []


def test_a_minimal_file_with_every_node_type_is_valid(validator):
    document = {
        "slug": "all-nodes",
        "name": "All nodes",
        "trigger_spec": {"event_type": "invoice.*"},
        "graph": {
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {"id": "check", "type": "condition", "condition": {"var": "ok"}},
                {"id": "wait", "type": "delay", "seconds": 3600},
                {"id": "shape", "type": "transform", "inputs": {"total": "{{ 1 }}"}},
                {"id": "join", "type": "merge", "studio": {"color": "red"}},
            ],
            "edges": [
                {"source": "trigger", "target": "check"},
                {"source": "check", "target": "wait", "branch": "true"},
                {"source": "check", "target": "shape", "branch": "false"},
                {"source": "wait", "target": "join"},
                {"source": "shape", "target": "join", "branch": None},
            ],
        },
    }

    assert errors(validator, document) == []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d.pop("slug"), ""),
        (lambda d: d.update(slug="has spaces"), "slug"),
        (lambda d: d.update(trigger="oops"), ""),
        (lambda d: d["trigger_spec"].pop("event_type"), "trigger_spec"),
        (lambda d: d["trigger_spec"].update(event_type="bad type!"), "trigger_spec/event_type"),
        (lambda d: d.pop("graph"), ""),
        (lambda d: d["graph"].pop("edges"), "graph"),
        (lambda d: d["graph"]["nodes"].pop(0), "graph/nodes"),  # no trigger
        (lambda d: d["graph"]["nodes"][1].update(type="trigger"), "graph/nodes"),  # two
        (lambda d: d["graph"]["nodes"][1].pop("connector"), "graph/nodes/1"),
        (lambda d: d["graph"]["nodes"][1].update(type="teleport"), "graph/nodes/1/type"),
        (lambda d: d["graph"]["nodes"][1].update(id="1bad"), "graph/nodes/1/id"),
        (lambda d: d["graph"]["nodes"][1].update(inputs="text"), "graph/nodes/1/inputs"),
        (
            lambda d: d["graph"]["nodes"][1]["retry"].update(max_retries=-1),
            "graph/nodes/1/retry/max_retries",
        ),
        (
            lambda d: d["graph"]["nodes"][1].update(timeout_seconds=0),
            "graph/nodes/1/timeout_seconds",
        ),
        (lambda d: d["graph"]["nodes"][1]["position"].pop("y"), "graph/nodes/1/position"),
        (lambda d: d["graph"]["edges"][0].pop("target"), "graph/edges/0"),
        (lambda d: d["graph"]["edges"][0].update(branch="maybe"), "graph/edges/0/branch"),
        (
            lambda d: d["graph"]["nodes"].append(
                {"id": "wait", "type": "delay", "seconds": 31 * 86400}
            ),
            "graph/nodes/3/seconds",
        ),
        (
            lambda d: d["graph"]["nodes"].append({"id": "check", "type": "condition"}),
            "graph/nodes/3",
        ),
        (
            lambda d: d["graph"]["nodes"].append({"id": "shape", "type": "transform"}),
            "graph/nodes/3",
        ),
    ],
)
def test_malformed_files_are_refused_where_the_mistake_is(validator, change, where):
    assert where in errors(validator, changed(change))
