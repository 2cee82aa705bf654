"""Workflow graphs: every problem is reported, pinned on a node and a field, in words."""

import copy
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from automate.exceptions import AutomateError, NotFoundError
from automate.workflows.exceptions import WorkflowValidationError
from automate.workflows.graph import (
    MAX_DELAY_SECONDS,
    Edge,
    Graph,
    NodeType,
    graph_problems,
    validate_graph,
)

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "backend" / "automate" / "demo" / "invoice_paid_to_slack.json"

TRIGGER = {"id": "trigger", "type": "trigger", "label": "Stripe: invoice.paid"}


def action(node_id, **extra):
    return {
        "id": node_id,
        "type": "action",
        "connector": "slack",
        "action": "post_message",
        **extra,
    }


def graph(*nodes, edges=()):
    return {
        "nodes": copy.deepcopy([TRIGGER, *nodes]),
        "edges": [
            {"source": e[0], "target": e[1], **({"branch": e[2]} if len(e) > 2 else {})}
            for e in edges
        ],
    }


def chain(*nodes):
    """The trigger followed by ``nodes`` one after the other."""
    ids = ["trigger", *(n["id"] for n in nodes)]
    return graph(*nodes, edges=list(itertools.pairwise(ids)))


def only_problem(data, **kwargs):
    problems = graph_problems(data, **kwargs)
    assert len(problems) == 1, problems
    return problems[0]


# --- valid graphs -------------------------------------------------------------------------


def test_the_demo_workflow_graph_is_valid():
    data = json.loads(DEMO.read_text())["graph"]

    built = validate_graph(data)

    assert built.trigger_id == "trigger"
    assert set(built.nodes) == {"trigger", "notify_slack", "record_customer"}
    assert built.nodes["notify_slack"].retry == {
        "max_retries": 3,
        "backoff_base_seconds": 2,
        "backoff_max_seconds": 30,
    }
    assert built.nodes["notify_slack"].connector == "slack"
    assert built.nodes["record_customer"].connector == "django_model"


def test_a_linear_graph_builds_in_order():
    built = Graph.from_dict(
        chain(action("notify"), {"id": "wait", "type": "delay", "seconds": 60}, action("again"))
    )

    assert built.topological_order() == ("trigger", "notify", "wait", "again")
    assert built.outgoing("notify") == (Edge("notify", "wait"),)
    assert built.incoming("wait") == (Edge("notify", "wait"),)
    assert built.incoming("trigger") == ()
    assert built.descendants("notify") == {"wait", "again"}
    assert built.ancestors("wait") == {"trigger", "notify"}


def test_fan_out_and_merge():
    data = graph(
        action("slack"),
        action("email", connector="smtp", action="send"),
        {"id": "join", "type": "merge"},
        action("done"),
        edges=[
            ("trigger", "slack"),
            ("trigger", "email"),
            ("slack", "join"),
            ("email", "join"),
            ("join", "done"),
        ],
    )

    built = validate_graph(data)

    assert built.topological_order() == ("trigger", "slack", "email", "join", "done")
    assert [e.source for e in built.incoming("join")] == ["slack", "email"]
    assert built.descendants("trigger") == {"slack", "email", "join", "done"}


def test_condition_with_both_branches():
    data = graph(
        {"id": "is_big", "type": "condition", "condition": {">": [{"var": "amount"}, 1000]}},
        action("shout"),
        action("whisper"),
        edges=[("trigger", "is_big"), ("is_big", "shout", "true"), ("is_big", "whisper", "false")],
    )

    built = validate_graph(data)

    assert [(e.target, e.branch) for e in built.outgoing("is_big")] == [
        ("shout", "true"),
        ("whisper", "false"),
    ]
    assert built.nodes["is_big"].type is NodeType.CONDITION
    assert built.nodes["is_big"].condition == {">": [{"var": "amount"}, 1000]}


def test_every_node_type_and_optional_field_is_accepted():
    data = chain(
        {
            "id": "notify",
            "type": "action",
            "connector": "slack",
            "action": "post_message",
            "label": "Tell #billing",
            "notes": "Finance asked for this.",
            "position": {"x": 40, "y": 120.5},
            "inputs": {"channel": "#billing", "token": {"$secret": "SLACK_TOKEN"}},
            "retry": {"max_retries": 0, "backoff_base_seconds": 2, "backoff_max_seconds": 60},
            "timeout_seconds": 0.5,
            "ui": {"collapsed": True},  # studio data is kept
        },
        {"id": "wait", "type": "delay", "seconds": MAX_DELAY_SECONDS},
        {"id": "shape", "type": "transform", "inputs": {"total": "{{ event.payload.amount }}"}},
        {"id": "join-1", "type": "merge"},
        {"id": "_check", "type": "condition", "condition": True},
    )

    built = validate_graph(data)

    notify = built.nodes["notify"]
    assert (notify.connector, notify.action, notify.label) == (
        "slack",
        "post_message",
        "Tell #billing",
    )
    assert notify.timeout_seconds == 0.5
    assert notify.inputs["token"] == {"$secret": "SLACK_TOKEN"}
    assert notify.raw["ui"] == {"collapsed": True}
    assert built.nodes["wait"].delay_seconds == MAX_DELAY_SECONDS
    assert built.nodes["join-1"].label == "join-1"
    assert built.nodes["shape"].inputs == {"total": "{{ event.payload.amount }}"}


def test_the_built_graph_does_not_change_when_the_document_does():
    data = chain(action("notify", inputs={"text": "hi"}))
    built = validate_graph(data)

    data["nodes"][1]["inputs"]["text"] = "changed"
    built.nodes["notify"].inputs["text"] = "changed too"

    assert built.nodes["notify"].inputs == {"text": "hi"}
    with pytest.raises(TypeError):
        built.nodes["notify"].raw["connector"] = "email"


def test_graph_lookups_of_an_unknown_node_say_which():
    built = validate_graph(chain(action("notify")))

    with pytest.raises(NotFoundError) as caught:
        built.descendants("nope")

    assert "nope" in caught.value.message
    assert caught.value.details == {"node_id": "nope"}


def test_graph_modules_do_not_import_django():
    code = (
        "import sys, automate.workflows.graph, automate.execution.orchestrator, "
        "automate.workflows.schema; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": f"{ROOT / 'backend'}:{ROOT}"},
    )
    assert result.stdout.strip() == "[]"


# --- the document's shape -----------------------------------------------------------------


@pytest.mark.parametrize("data", [None, [], "graph", 3])
def test_a_graph_must_be_an_object(data):
    problem = only_problem(data)

    assert problem["field"] == "graph"
    assert "JSON object" in problem["message"]


def test_nodes_and_edges_must_be_lists():
    problems = graph_problems({"nodes": {"trigger": {}}})

    assert [(p["field"], p["node_id"]) for p in problems] == [("nodes", ""), ("edges", "")]
    assert "list of nodes" in problems[0]["message"]


def test_a_node_must_be_an_object():
    data = chain(action("notify"))
    data["nodes"].append("oops")

    problem = only_problem(data)

    assert problem == {
        "node_id": "",
        "field": "nodes[2]",
        "message": "each node must be a JSON object with an 'id' and a 'type'",
    }


@pytest.mark.parametrize("bad_id", [None, "", 7])
def test_a_node_needs_an_id(bad_id):
    data = chain(action("notify"))
    data["nodes"].append({"id": bad_id, "type": "merge"})

    problem = only_problem(data)

    assert problem["field"] == "nodes[2].id"
    assert "needs an id" in problem["message"]


@pytest.mark.parametrize("bad_id", ["1st", "two words", "a.b", "x" * 101, "é", "ok\n"])
def test_node_ids_are_identifier_like(bad_id):
    data = graph({"id": bad_id, "type": "merge"})

    problems = graph_problems(data)

    assert problems[0]["node_id"] == bad_id
    assert problems[0]["field"] == "nodes[1].id"
    assert "must start with a letter or '_'" in problems[0]["message"]


def test_node_ids_are_unique():
    data = chain(action("notify"))
    data["nodes"].append(action("notify"))

    problem = only_problem(data)

    assert problem["node_id"] == "notify"
    assert problem["field"] == "nodes[2].id"
    assert "duplicate node id 'notify'" in problem["message"]
    assert "nodes[1]" in problem["message"]


def test_a_node_needs_a_known_type():
    data = chain({"id": "a", "type": "webhook"}, {"id": "b"})

    problems = graph_problems(data)

    assert [(p["node_id"], p["field"]) for p in problems] == [
        ("a", "nodes[1].type"),
        ("b", "nodes[2].type"),
    ]
    assert "unknown node type 'webhook'" in problems[0]["message"]
    assert "trigger, action, condition, delay, transform, merge" in problems[0]["message"]
    assert "needs a type" in problems[1]["message"]


# --- the trigger --------------------------------------------------------------------------


def test_a_graph_needs_a_trigger():
    problems = graph_problems({"nodes": [action("notify")], "edges": []})

    assert problems == [
        {
            "node_id": "",
            "field": "nodes",
            "message": "a workflow needs exactly one trigger node; this graph has none",
        }
    ]


def test_only_one_trigger_is_allowed():
    data = chain({"id": "second", "type": "trigger"})

    problems = graph_problems(data)

    assert problems[0]["node_id"] == "second"
    assert problems[0]["field"] == "nodes[1].type"
    assert "exactly one trigger" in problems[0]["message"]
    assert "'trigger' is already the trigger" in problems[0]["message"]


def test_nothing_leads_into_the_trigger():
    data = graph(action("notify"), edges=[("trigger", "notify"), ("notify", "trigger")])

    problem = only_problem(data)

    assert problem["node_id"] == "trigger"
    assert problem["field"] == "edges[1].target"
    assert "nothing can lead into the trigger" in problem["message"]


# --- edges --------------------------------------------------------------------------------


def test_edges_must_point_at_existing_nodes():
    data = graph(
        action("notify"), edges=[("trigger", "notify"), ("notify", "ghost"), ("", "notify")]
    )

    problems = graph_problems(data)

    assert problems == [
        {
            "node_id": "notify",
            "field": "edges[1].target",
            "message": "the edge's target 'ghost' is not a node of this workflow",
        },
        {
            "node_id": "notify",
            "field": "edges[2].source",
            "message": "every edge needs a source: the id of a node",
        },
    ]


def test_an_edge_must_be_an_object():
    data = chain(action("notify"))
    data["edges"].append(["trigger", "notify"])

    problem = only_problem(data)

    assert problem["field"] == "edges[1]"
    assert "'source' and 'target'" in problem["message"]


def test_no_self_loops():
    data = graph(action("notify"), edges=[("trigger", "notify"), ("notify", "notify")])

    problem = only_problem(data)

    assert problem["node_id"] == "notify"
    assert problem["field"] == "edges[1]"
    assert problem["message"] == "node 'notify' cannot connect to itself"


def test_no_duplicate_edges():
    data = graph(action("notify"), edges=[("trigger", "notify"), ("trigger", "notify")])

    problem = only_problem(data)

    assert problem["node_id"] == "trigger"
    assert problem["field"] == "edges[1]"
    assert "duplicate edge from 'trigger' to 'notify'" in problem["message"]
    assert "edges[0]" in problem["message"]


def test_cycles_are_refused_naming_the_nodes_in_the_loop():
    data = graph(
        action("a"),
        action("b"),
        action("c"),
        action("d"),
        edges=[("trigger", "a"), ("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")],
    )

    problem = only_problem(data)

    assert problem["node_id"] == "a"
    assert problem["field"] == "edges"
    assert "a → b → c → a" in problem["message"]


def test_each_separate_cycle_is_reported_once():
    data = graph(
        action("a"),
        action("b"),
        action("x"),
        action("y"),
        edges=[("trigger", "a"), ("a", "b"), ("b", "a"), ("trigger", "x"), ("x", "y"), ("y", "x")],
    )

    problems = graph_problems(data)

    assert [p["node_id"] for p in problems] == ["a", "x"]
    assert "a → b → a" in problems[0]["message"]
    assert "x → y → x" in problems[1]["message"]


def test_edges_leaving_a_condition_need_a_true_or_false_branch():
    data = graph(
        {"id": "check", "type": "condition", "condition": {"var": "ok"}},
        action("yes"),
        action("no"),
        edges=[("trigger", "check"), ("check", "yes"), ("check", "no", "maybe")],
    )

    problems = graph_problems(data)

    assert [(p["node_id"], p["field"]) for p in problems] == [
        ("check", "edges[1].branch"),
        ("check", "edges[2].branch"),
    ]
    assert problems[0]["message"] == (
        "an edge leaving condition 'check' needs a branch: 'true' or 'false'"
    )
    assert "got 'maybe'" in problems[1]["message"]


def test_only_edges_leaving_a_condition_have_a_branch():
    data = graph(action("notify"), edges=[("trigger", "notify", "true")])

    problem = only_problem(data)

    assert problem["node_id"] == "trigger"
    assert problem["field"] == "edges[0].branch"
    assert "only edges leaving a condition have a branch" in problem["message"]


def test_a_null_branch_counts_as_no_branch():
    data = chain(action("notify"))
    data["edges"][0]["branch"] = None

    assert graph_problems(data) == []


def test_every_node_must_be_reachable_from_the_trigger():
    data = graph(action("notify"), action("orphan"), edges=[("trigger", "notify")])

    problem = only_problem(data)

    assert problem["node_id"] == "orphan"
    assert problem["field"] == "nodes[2]"
    assert "not connected to the trigger" in problem["message"]


# --- per-type fields ----------------------------------------------------------------------


def test_an_action_names_a_connector_and_an_action():
    data = chain({"id": "notify", "type": "action", "connector": "", "action": 3})

    problems = graph_problems(data)

    assert [(p["node_id"], p["field"]) for p in problems] == [
        ("notify", "nodes[1].connector"),
        ("notify", "nodes[1].action"),
    ]
    assert "needs a connector" in problems[0]["message"]
    assert "needs the connector action" in problems[1]["message"]


def test_unknown_connectors_are_reported_when_a_check_is_given():
    data = chain(action("notify"), action("mail", connector="smtp", action="send"))
    registry = {("smtp", "send")}

    problem = only_problem(data, connector_exists=lambda c, a: (c, a) in registry)

    assert problem["node_id"] == "notify"
    assert problem["field"] == "nodes[1].connector"
    assert problem["message"] == "unknown connector or action 'slack.post_message'"


def test_a_connector_check_can_say_what_is_wrong():
    registry = {"slack": {"post_message"}}

    def check(connector, action_name):
        if connector not in registry:
            return f"unknown connector '{connector}'"
        if action_name not in registry[connector]:
            return f"connector '{connector}' has no action '{action_name}'"
        return True

    data = chain(action("notify", action="dance"), action("mail", connector="smtp"))

    problems = graph_problems(data, connector_exists=check)

    assert [p["message"] for p in problems] == [
        "connector 'slack' has no action 'dance'",
        "unknown connector 'smtp'",
    ]


def test_connectors_are_not_checked_without_a_check():
    assert graph_problems(chain(action("notify", connector="made_up"))) == []


@pytest.mark.parametrize(
    ("rule", "field", "says"),
    [
        ({"and": [{"nope": [1]}]}, "nodes[1].condition/and/0", 'operator "nope" at /and/0'),
        ({"frobnicate": 1}, "nodes[1].condition", 'unknown operator "frobnicate"'),
        ({"==": [1, 1], "!=": [1, 2]}, "nodes[1].condition", "exactly one key"),
    ],
)
def test_a_condition_must_be_valid_jsonlogic(rule, field, says):
    data = graph(
        {"id": "check", "type": "condition", "condition": rule},
        action("yes"),
        edges=[("trigger", "check"), ("check", "yes", "true")],
    )

    problem = only_problem(data)

    assert problem["node_id"] == "check"
    assert problem["field"] == field
    assert problem["message"].startswith("condition: ")
    assert says in problem["message"]


def test_a_condition_node_needs_a_condition():
    problem = only_problem(chain({"id": "check", "type": "condition"}))

    assert (problem["node_id"], problem["field"]) == ("check", "nodes[1].condition")
    assert "JSONLogic" in problem["message"]


@pytest.mark.parametrize("seconds", [None, -1, MAX_DELAY_SECONDS + 1, "60", True, float("nan")])
def test_a_delay_waits_zero_to_thirty_days(seconds):
    node = {"id": "wait", "type": "delay"}
    if seconds is not None:
        node["seconds"] = seconds

    problem = only_problem(chain(node))

    assert (problem["node_id"], problem["field"]) == ("wait", "nodes[1].seconds")
    assert "30 days" in problem["message"]


def test_a_transform_needs_inputs():
    problem = only_problem(chain({"id": "shape", "type": "transform"}))

    assert (problem["node_id"], problem["field"]) == ("shape", "nodes[1].inputs")
    assert "needs 'inputs'" in problem["message"]


@pytest.mark.parametrize("node_type", ["action", "transform", "trigger"])
def test_inputs_must_be_an_object(node_type):
    data = chain(action("notify"))
    node = data["nodes"][0] if node_type == "trigger" else data["nodes"][1]
    node["type"] = node_type
    node["inputs"] = ["channel", "#billing"]

    problem = only_problem(data)

    assert problem["field"].endswith(".inputs")
    assert "inputs must be a JSON object" in problem["message"]


@pytest.mark.parametrize(
    ("key", "value", "field", "says"),
    [
        ("label", 3, "label", "label must be a string"),
        ("notes", ["x"], "notes", "notes must be a string"),
        ("position", {"x": 1}, "position", '"x": <number>, "y": <number>'),
        ("position", [1, 2], "position", '"x": <number>, "y": <number>'),
        ("timeout_seconds", 0, "timeout_seconds", "above 0"),
        ("timeout_seconds", "30", "timeout_seconds", "above 0"),
        ("retry", 3, "retry", "retry must be a JSON object"),
        ("retry", {"max_retries": -1}, "retry.max_retries", "whole number"),
        ("retry", {"max_retries": 1.5}, "retry.max_retries", "whole number"),
        ("retry", {"max_retries": True}, "retry.max_retries", "whole number"),
        ("retry", {"backoff_base_seconds": -2}, "retry.backoff_base_seconds", "from 0 to"),
        ("retry", {"backoff_max_seconds": "1m"}, "retry.backoff_max_seconds", "from 0 to"),
        ("retry", {"attempts": 3}, "retry.attempts", "unknown retry setting 'attempts'"),
        # Upper bounds keep retry arithmetic finite.
        ("retry", {"max_retries": 10**9}, "retry.max_retries", "from 0 to 100"),
        ("retry", {"backoff_max_seconds": 1e300}, "retry.backoff_max_seconds", "from 0 to 604800"),
        ("timeout_seconds", 1e12, "timeout_seconds", "at most 86400"),
    ],
)
def test_optional_fields_are_checked_on_every_node(key, value, field, says):
    data = chain(action("notify", **{key: value}))

    problem = only_problem(data)

    assert (problem["node_id"], problem["field"]) == ("notify", f"nodes[1].{field}")
    assert says in problem["message"]


# --- several at once, and the error -------------------------------------------------------


def test_every_problem_is_reported_at_once():
    data = {
        "nodes": [
            {"id": "start", "type": "trigger"},
            {"id": "notify", "type": "action", "connector": "slack"},
            {"id": "wait", "type": "delay", "seconds": -5},
            {"id": "check", "type": "condition", "condition": {"nope": []}},
            {"id": "lonely", "type": "merge"},
        ],
        "edges": [
            {"source": "start", "target": "notify"},
            {"source": "notify", "target": "wait"},
            {"source": "wait", "target": "check"},
            {"source": "check", "target": "ghost", "branch": "true"},
        ],
    }

    problems = graph_problems(data)

    assert {(p["node_id"], p["field"]) for p in problems} == {
        ("notify", "nodes[1].action"),
        ("wait", "nodes[2].seconds"),
        ("check", "nodes[3].condition"),
        ("check", "edges[3].target"),
        ("lonely", "nodes[4]"),
    }
    assert all(p["message"] for p in problems)


def test_validate_graph_raises_one_error_listing_every_problem():
    data = graph(action("notify", connector=""), action("orphan"), edges=[("trigger", "notify")])

    with pytest.raises(WorkflowValidationError) as caught:
        validate_graph(data)

    error = caught.value
    assert isinstance(error, AutomateError)
    assert error.code == "invalid_workflow"
    assert [p["node_id"] for p in error.details["problems"]] == ["notify", "orphan"]
    assert "notify: an action node needs a connector" in error.message
    assert "orphan: node 'orphan' is not connected to the trigger" in error.message


def test_graph_from_dict_refuses_an_invalid_graph():
    with pytest.raises(WorkflowValidationError) as caught:
        Graph.from_dict({"nodes": [], "edges": []})

    assert caught.value.problems[0]["field"] == "nodes"


def test_validate_graph_checks_connectors_but_from_dict_does_not():
    data = chain(action("notify"))

    with pytest.raises(WorkflowValidationError):
        validate_graph(data, connector_exists=lambda c, a: False)
    assert Graph.from_dict(copy.deepcopy(data)).nodes["notify"].connector == "slack"
