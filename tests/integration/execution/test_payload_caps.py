"""What a run stores of oversized step data (automate.payload_caps), on every database.

Runs go through the worker as in production (synchronous mode drains after commit): the
batch path writes successes, the one-job path failures.
"""

import json

import pytest

from automate.execution.models import ExecutionRun, OutboxJob
from automate.runtime import emit_event
from tests.factories import make_published
from tests.support.connectors import CALLS

pytestmark = pytest.mark.django_db(transaction=True)

TRIGGER = {"id": "trigger", "type": "trigger"}
LIMIT = 256_000  # RETENTION["max_payload_bytes"]'s default
ERROR_LIMIT = 8_000  # RETENTION["max_error_bytes"]'s default


def node(node_id, act, **inputs):
    return {
        "id": node_id,
        "type": "action",
        "connector": "testkit",
        "action": act,
        "inputs": inputs,
    }


def publish(nodes, edges):
    return make_published(
        slug="caps",
        rule_spec={},
        trigger_spec={"event_type": "caps.test"},
        graph={"nodes": [TRIGGER, *nodes], "edges": edges},
    )


def size(value):
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def steps_of(run):
    return {s.node_id: s for s in run.steps.filter(is_current=True)}


@pytest.fixture(autouse=True)
def _fresh_calls():
    CALLS.clear()


def test_a_one_megabyte_output_is_stored_as_a_marker_and_the_run_still_completes():
    publish(
        [
            node("fetch", "big", bytes=1_000_000),
            node("next", "echo", cut="{{ steps.fetch.output._truncated }}"),
        ],
        [{"source": "trigger", "target": "fetch"}, {"source": "fetch", "target": "next"}],
    )
    emit_event("caps.test", {})

    run = ExecutionRun.objects.get()
    assert run.status == "succeeded"
    stored = steps_of(run)["fetch"]
    stored.refresh_from_db()
    output = stored.outputs
    assert output["_truncated"] is True
    assert output["limit_bytes"] == LIMIT
    assert 990_000 < output["original_bytes"] < 1_010_000
    assert output["preview"].startswith('{"rows":[{"id":0,"text":"ééé')
    assert size(output) <= LIMIT
    # The next step read the marker, as a template sees it.
    assert steps_of(run)["next"].inputs == {"cut": True}
    assert OutboxJob.objects.exclude(status="COMPLETED").count() == 0


def test_a_step_reading_a_field_of_a_truncated_output_fails_saying_it_was_truncated():
    publish(
        [
            node("fetch", "big", bytes=400_000),
            node("next", "echo", first="{{ steps.fetch.output.rows[0].id }}"),
        ],
        [{"source": "trigger", "target": "fetch"}, {"source": "fetch", "target": "next"}],
    )
    emit_event("caps.test", {})

    run = ExecutionRun.objects.get()
    assert run.status == "failed"
    failed = steps_of(run)["next"]
    assert failed.status == "failed"
    assert "'rows' is not available: this value was truncated when it was stored" in failed.error
    assert "truncated" in run.error


def test_rendered_inputs_over_the_limit_are_stored_as_a_marker():
    blob = "b" * 150_000
    publish(
        [node("twice", "echo", a="{{ event.payload.blob }}", b="{{ event.payload.blob }}")],
        [{"source": "trigger", "target": "twice"}],
    )
    emit_event("caps.test", {"blob": blob})

    run = ExecutionRun.objects.get()
    assert run.status == "succeeded"
    step = steps_of(run)["twice"]
    assert step.inputs["_truncated"] is True
    assert step.inputs["original_bytes"] == size({"a": blob, "b": blob})
    assert step.inputs["preview"].startswith('{"a":"bbbb')
    # The connector got the whole inputs; its echo of them is capped in turn.
    assert step.outputs["_truncated"] is True
    assert size(step.inputs) <= LIMIT
    assert size(step.outputs) <= LIMIT


def test_a_100_kb_exception_message_is_stored_capped_everywhere():
    publish(
        [node("call", "fail_long", bytes=100_000)],
        [{"source": "trigger", "target": "call"}],
    )
    emit_event("caps.test", {})

    run = ExecutionRun.objects.get()
    assert run.status == "failed"
    step = steps_of(run)["call"]
    assert step.status == "failed"
    assert step.error.startswith("upstream said: üüü")
    assert step.error.endswith(" … [truncated: 100,015 bytes, limit 8,000]")
    assert len(step.error.encode()) <= ERROR_LIMIT
    assert len(step.traceback.encode()) <= ERROR_LIMIT
    assert "[truncated:" in step.traceback
    assert "[truncated: 100,015 bytes, limit 8,000]" in run.error
    assert len(run.error.encode()) < ERROR_LIMIT + 100
    dead = OutboxJob.objects.get(kind="step")
    assert dead.status == "FAILED"
    assert dead.last_error.endswith("[truncated: 100,015 bytes, limit 8,000]")


def test_small_outputs_and_errors_are_stored_whole():
    publish(
        [node("a", "echo", text="hello"), node("b", "fail", retryable=False, message="nope")],
        [{"source": "trigger", "target": "a"}, {"source": "a", "target": "b"}],
    )
    emit_event("caps.test", {})
    steps = steps_of(ExecutionRun.objects.get())
    assert steps["a"].outputs["echo"] == {"text": "hello"}
    assert steps["b"].error == "nope"


def test_the_cap_follows_the_setting(settings):
    settings.DJANGO_AUTOMATE = {
        **settings.DJANGO_AUTOMATE,
        "RETENTION": {"max_payload_bytes": 4096, "max_error_bytes": 1024},
    }
    publish(
        [node("fetch", "big", bytes=10_000), node("call", "fail_long", bytes=5_000)],
        [{"source": "trigger", "target": "fetch"}, {"source": "fetch", "target": "call"}],
    )
    emit_event("caps.test", {})
    steps = steps_of(ExecutionRun.objects.get())
    assert steps["fetch"].outputs["limit_bytes"] == 4096
    assert size(steps["fetch"].outputs) <= 4096
    assert steps["call"].error.endswith("limit 1,024]")


def test_a_run_whose_end_steps_together_pass_the_limit_stores_its_outputs_capped():
    # Each end step is under the cap; their sum (the run's outputs) is not.
    publish(
        [node(f"end{i}", "big", bytes=100_000) for i in range(4)],
        [{"source": "trigger", "target": f"end{i}"} for i in range(4)],
    )
    emit_event("caps.test", {})

    run = ExecutionRun.objects.get()
    assert run.status == "succeeded"
    assert all("_truncated" not in s.outputs for s in steps_of(run).values())
    assert run.outputs["_truncated"] is True
    assert run.outputs["original_bytes"] > LIMIT
    assert size(run.outputs) <= LIMIT
