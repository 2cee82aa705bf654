"""The orchestrator's decision: which steps start now, which are skipped, is the run over."""

import pytest

from automate.exceptions import NotFoundError
from automate.execution.orchestrator import (
    NodeState,
    NodeStatus,
    Plan,
    node_context_keys,
    plan,
    reset_for_resume,
)
from automate.workflows.graph import Graph

PENDING = NodeState(NodeStatus.PENDING)
RUNNING = NodeState(NodeStatus.RUNNING)
DONE = NodeState(NodeStatus.SUCCEEDED)
FAILED = NodeState(NodeStatus.FAILED)
CANCELLED = NodeState(NodeStatus.CANCELLED)
SKIPPED = NodeState(NodeStatus.SKIPPED)
TRUE = NodeState(NodeStatus.SUCCEEDED, branch="true")
FALSE = NodeState(NodeStatus.SUCCEEDED, branch="false")


def build(nodes, edges):
    """A graph from ``{id: type}`` and ``(source, target[, branch])`` tuples."""
    specs = {
        "trigger": {},
        "action": {"connector": "slack", "action": "post_message"},
        "condition": {"condition": {"var": "ok"}},
        "delay": {"seconds": 10},
        "transform": {"inputs": {}},
        "merge": {},
    }
    return Graph.from_dict(
        {
            "nodes": [{"id": i, "type": t, **specs[t]} for i, t in nodes.items()],
            "edges": [dict(zip(("source", "target", "branch"), e, strict=False)) for e in edges],
        }
    )


LINEAR = build(
    {"trigger": "trigger", "a": "action", "b": "delay", "c": "action"},
    [("trigger", "a"), ("a", "b"), ("b", "c")],
)
FAN_OUT = build(
    {"trigger": "trigger", "slack": "action", "email": "action", "join": "merge", "log": "action"},
    [
        ("trigger", "slack"),
        ("trigger", "email"),
        ("slack", "join"),
        ("email", "join"),
        ("join", "log"),
    ],
)
BRANCHES = build(
    {
        "trigger": "trigger",
        "is_big": "condition",
        "shout": "action",
        "shout_more": "action",
        "whisper": "action",
        "join": "merge",
        "after": "action",
    },
    [
        ("trigger", "is_big"),
        ("is_big", "shout", "true"),
        ("shout", "shout_more"),
        ("is_big", "whisper", "false"),
        ("shout_more", "join"),
        ("whisper", "join"),
        ("join", "after"),
    ],
)


# --- sequential ---------------------------------------------------------------------------


def test_a_fresh_run_starts_with_the_step_after_the_trigger():
    assert plan(LINEAR, {"trigger": DONE}) == Plan(
        ready=("a",), skip=(), finished=False, failed=False
    )


def test_a_run_with_no_states_starts_with_the_trigger():
    assert plan(LINEAR, {}).ready == ("trigger",)


def test_steps_run_one_after_the_other():
    assert plan(LINEAR, {"trigger": DONE, "a": RUNNING}).ready == ()
    assert plan(LINEAR, {"trigger": DONE, "a": DONE}).ready == ("b",)
    assert plan(LINEAR, {"trigger": DONE, "a": DONE, "b": DONE}).ready == ("c",)


def test_a_ready_step_is_offered_again_until_it_is_marked_running():
    states = {"trigger": DONE}

    assert plan(LINEAR, states).ready == plan(LINEAR, states).ready == ("a",)


def test_the_run_finishes_when_every_step_succeeded():
    result = plan(LINEAR, dict.fromkeys(["trigger", "a", "b", "c"], DONE))

    assert result == Plan(ready=(), skip=(), finished=True, failed=False)


def test_states_of_unknown_steps_are_ignored():
    states = {"trigger": DONE, "removed_step": FAILED}

    assert plan(LINEAR, states) == Plan(ready=("a",), skip=(), finished=False, failed=False)


# --- fan-out and merge --------------------------------------------------------------------


def test_fan_out_makes_both_branches_ready_together():
    assert plan(FAN_OUT, {"trigger": DONE}).ready == ("slack", "email")


def test_a_merge_waits_for_every_input():
    states = {"trigger": DONE, "slack": DONE, "email": RUNNING}

    assert plan(FAN_OUT, states).ready == ()
    assert plan(FAN_OUT, {**states, "email": DONE}).ready == ("join",)


def test_a_merge_with_one_input_skipped_runs_after_the_other():
    states = {"trigger": DONE, "slack": DONE, "email": SKIPPED}

    assert plan(FAN_OUT, states).ready == ("join",)


def test_a_merge_whose_inputs_are_all_skipped_is_skipped_with_what_follows():
    states = {"trigger": DONE, "slack": SKIPPED, "email": SKIPPED}

    result = plan(FAN_OUT, states)

    assert result.ready == ()
    assert result.skip == ("join", "log")
    assert result.finished is True


# --- conditions ---------------------------------------------------------------------------


def test_a_true_condition_runs_the_true_branch_and_skips_the_false_one():
    result = plan(BRANCHES, {"trigger": DONE, "is_big": TRUE})

    assert result.ready == ("shout",)
    assert result.skip == ("whisper",)
    assert result.finished is False


def test_a_false_condition_skips_the_whole_true_branch_at_once():
    result = plan(BRANCHES, {"trigger": DONE, "is_big": FALSE})

    assert result.ready == ("whisper",)
    assert result.skip == ("shout", "shout_more")


def test_a_merge_after_a_condition_runs_once_the_live_branch_is_done():
    states = {"trigger": DONE, "is_big": FALSE, "whisper": RUNNING}
    assert plan(BRANCHES, states).ready == ()

    result = plan(BRANCHES, {**states, "whisper": DONE})

    assert result.ready == ("join",)
    assert result.skip == ("shout", "shout_more")


def test_a_merge_freed_by_skips_becomes_ready_in_the_same_plan():
    graph = build(
        {"trigger": "trigger", "check": "condition", "yes": "action", "join": "merge"},
        [
            ("trigger", "check"),
            ("check", "yes", "true"),
            ("check", "join", "false"),
            ("yes", "join"),
        ],
    )

    result = plan(graph, {"trigger": DONE, "check": FALSE})

    assert result.skip == ("yes",)
    assert result.ready == ("join",)


def test_a_condition_can_lead_both_branches_to_the_same_step():
    graph = build(
        {"trigger": "trigger", "check": "condition", "next": "action"},
        [("trigger", "check"), ("check", "next", "true"), ("check", "next", "false")],
    )

    assert plan(graph, {"trigger": DONE, "check": FALSE}).ready == ("next",)


def test_a_condition_without_a_recorded_branch_runs_neither_branch():
    result = plan(BRANCHES, {"trigger": DONE, "is_big": DONE})

    assert result.ready == ()
    assert result.skip == ("shout", "shout_more", "whisper", "join", "after")
    assert result.finished is True


def test_a_run_whose_branch_is_skipped_finishes_when_the_other_branch_is_done():
    states = {
        "trigger": DONE,
        "is_big": TRUE,
        "shout": DONE,
        "shout_more": DONE,
        "whisper": SKIPPED,
        "join": DONE,
        "after": DONE,
    }

    assert plan(BRANCHES, states) == Plan(ready=(), skip=(), finished=True, failed=False)


# --- failure ------------------------------------------------------------------------------


@pytest.mark.parametrize("stopped", [FAILED, CANCELLED])
def test_a_failed_or_cancelled_step_stops_scheduling(stopped):
    states = {"trigger": DONE, "slack": stopped, "email": DONE}

    assert plan(FAN_OUT, states) == Plan(ready=(), skip=(), finished=True, failed=True)


def test_a_failed_run_is_not_finished_while_a_step_still_runs():
    states = {"trigger": DONE, "slack": FAILED, "email": RUNNING}

    result = plan(FAN_OUT, states)

    assert (result.failed, result.finished, result.ready) == (True, False, ())


def test_a_run_with_running_steps_is_not_finished():
    states = {"trigger": DONE, "slack": RUNNING, "email": DONE}

    assert plan(FAN_OUT, states) == Plan(ready=(), skip=(), finished=False, failed=False)


def test_status_may_be_given_as_plain_strings():
    states = {"trigger": NodeState("succeeded"), "is_big": NodeState("succeeded", "false")}

    assert plan(BRANCHES, states).ready == ("whisper",)


# --- ordering -----------------------------------------------------------------------------


def test_ready_and_skip_follow_the_topological_order_then_document_order():
    graph = build(
        {
            "trigger": "trigger",
            "check": "condition",
            "z_late": "action",
            "a_early": "action",
            "m_after": "action",
            "b_other": "action",
        },
        [
            ("trigger", "check"),
            ("trigger", "z_late"),
            ("trigger", "a_early"),
            ("check", "m_after", "true"),
            ("check", "b_other", "true"),
        ],
    )

    result = plan(graph, {"trigger": DONE, "check": FALSE})

    assert result.ready == ("z_late", "a_early")
    assert result.skip == ("m_after", "b_other")


# --- resume -------------------------------------------------------------------------------


def test_resume_resets_the_step_and_everything_after_it():
    states = {"trigger": DONE, "a": DONE, "b": FAILED, "c": PENDING}

    resumed = reset_for_resume(LINEAR, states, "b")

    assert resumed == {"trigger": DONE, "a": DONE, "b": PENDING, "c": PENDING}
    assert states["b"] == FAILED  # the caller's states are not changed
    assert plan(LINEAR, resumed).ready == ("b",)


def test_resume_from_a_condition_forgets_its_branch_and_the_skips_it_caused():
    states = {
        "trigger": DONE,
        "is_big": FALSE,
        "whisper": FAILED,
        "shout": SKIPPED,
        "shout_more": SKIPPED,
    }

    resumed = reset_for_resume(BRANCHES, states, "is_big")

    assert resumed["trigger"] == DONE
    assert {resumed[n] for n in ("is_big", "shout", "shout_more", "whisper")} == {PENDING}
    assert plan(BRANCHES, resumed).ready == ("is_big",)


def test_resume_also_reruns_steps_cancelled_when_the_run_stopped():
    states = {"trigger": DONE, "slack": FAILED, "email": CANCELLED}

    resumed = reset_for_resume(FAN_OUT, states, "slack")

    assert plan(FAN_OUT, resumed).ready == ("slack", "email")


def test_resume_keeps_other_failures():
    states = {"trigger": DONE, "slack": FAILED, "email": FAILED}

    resumed = reset_for_resume(FAN_OUT, states, "slack")

    assert plan(FAN_OUT, resumed).failed is True


def test_resume_from_an_unknown_step_says_so():
    with pytest.raises(NotFoundError) as caught:
        reset_for_resume(LINEAR, {}, "nope")

    assert "nope" in caught.value.message


# --- context keys -------------------------------------------------------------------------


def test_a_step_sees_the_outputs_of_every_step_upstream_in_order():
    assert node_context_keys(BRANCHES, "join") == [
        "trigger",
        "is_big",
        "shout",
        "shout_more",
        "whisper",
    ]
    assert node_context_keys(FAN_OUT, "email") == ["trigger"]
    assert node_context_keys(FAN_OUT, "trigger") == []


def test_context_keys_of_an_unknown_step_say_so():
    with pytest.raises(NotFoundError):
        node_context_keys(LINEAR, "nope")
