"""Runs end to end in synchronous mode: an event arrives, rules match, steps run."""

import copy
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from automate import signals
from automate.execution.models import ExecutionRun, OutboxJob
from automate.execution.services import cancel_run, resume_run, retry_step
from automate.execution.worker import Worker
from automate.governance.models import AuditLogEntry
from automate.runtime import emit_event
from automate.workflows.exceptions import WorkflowValidationError
from automate.workflows.models import WorkflowVersion
from tests.factories import make_published
from tests.support.connectors import CALLS

pytestmark = pytest.mark.django_db(transaction=True)

TRIGGER = {"id": "trigger", "type": "trigger"}


def action(node_id, act="echo", **inputs):
    return {
        "id": node_id,
        "type": "action",
        "connector": "testkit",
        "action": act,
        "inputs": inputs,
    }


def edge(source, target, branch=None):
    return {"source": source, "target": target, **({"branch": branch} if branch else {})}


def publish(nodes, edges, *, rule=None, slug="wf", trigger_spec=None):
    return make_published(
        slug=slug,
        rule_spec=rule or {},
        trigger_spec=trigger_spec or {"event_type": "invoice.paid"},
        graph={"nodes": [TRIGGER, *nodes], "edges": edges},
    )


def steps_of(run):
    return {s.node_id: s for s in run.steps.filter(is_current=True).order_by("attempt")}


def drain_everything_due_now():
    """Make delayed and backed-off jobs due, then run them (time travel for tests)."""
    OutboxJob.objects.filter(status="PENDING").update(next_attempt_at=timezone.now())
    return Worker(worker_id="test", concurrency=1).run_until_idle()


@pytest.fixture(autouse=True)
def _fresh_calls():
    CALLS.clear()


def test_matching_event_runs_the_workflow_with_templated_inputs():
    publish(
        [
            action("first", text="Invoice {{ event.payload.id }} for {{ event.payload.amount }}"),
            action(
                "second",
                previous="{{ steps.first.output.echo.text }}",
                n="{{ event.payload.amount }}",
            ),
        ],
        [edge("trigger", "first"), edge("first", "second")],
        rule={">": [{"var": "amount"}, 1000]},
    )
    emit_event("invoice.paid", {"id": "in_1", "amount": 1200})

    run = ExecutionRun.objects.get()
    assert run.status == "succeeded"
    steps = steps_of(run)
    assert steps["first"].outputs["echo"]["text"] == "Invoice in_1 for 1200"
    assert steps["second"].inputs == {"previous": "Invoice in_1 for 1200", "n": 1200}
    assert run.outputs == {"second": steps["second"].outputs}
    assert steps["second"].started_at >= steps["first"].finished_at
    assert OutboxJob.objects.exclude(status="COMPLETED").count() == 0


@pytest.mark.parametrize(
    ("payload", "trigger_spec", "active"),
    [
        ({"amount": 10}, None, True),  # rule says no
        ({"amount": 5000}, {"event_type": "invoice.created"}, True),  # other type
        ({"amount": 5000}, {"event_type": "invoice.paid", "source": "stripe"}, True),  # source
        ({"amount": 5000}, None, False),  # workflow switched off
    ],
)
def test_events_that_do_not_match_start_nothing(payload, trigger_spec, active):
    version = publish(
        [action("a")],
        [edge("trigger", "a")],
        rule={">": [{"var": "amount"}, 1000]},
        trigger_spec=trigger_spec,
    )
    version.workflow.is_active = active
    version.workflow.save()
    emit_event("invoice.paid", payload)
    assert ExecutionRun.objects.count() == 0
    assert OutboxJob.objects.get().status == "COMPLETED"


def test_a_replayed_event_never_starts_a_second_run():
    publish([action("a")], [edge("trigger", "a")])
    emit_event("invoice.paid", {}, dedupe_key="evt_1")
    job = OutboxJob.objects.get(kind="event")
    job.status = "DEAD"
    job.save()
    call_command("automate_replay_dead", str(job.pk))
    assert ExecutionRun.objects.count() == 1
    assert CALLS.total() == 1


def test_condition_takes_one_branch_and_skips_the_other():
    publish(
        [
            {
                "id": "big",
                "type": "condition",
                "condition": {">": [{"var": "event.payload.amount"}, 1000]},
            },
            action("yes"),
            action("no"),
            action("after_no"),
        ],
        [
            edge("trigger", "big"),
            edge("big", "yes", "true"),
            edge("big", "no", "false"),
            edge("no", "after_no"),
        ],
    )
    emit_event("invoice.paid", {"amount": 5000})

    run = ExecutionRun.objects.get()
    steps = steps_of(run)
    assert run.status == "succeeded"
    assert steps["big"].outputs == {"result": True, "branch": "true"}
    assert steps["yes"].status == "succeeded"
    assert steps["no"].status == "skipped"
    assert steps["after_no"].status == "skipped"


def test_fan_out_runs_branches_as_separate_jobs_and_merge_waits_for_both():
    publish(
        [
            action("left", side="L"),
            action("right", side="R"),
            {"id": "join", "type": "merge"},
            action(
                "last",
                got="{{ steps.join.output.inputs.left.echo.side }}{{ steps.join.output.inputs.right.echo.side }}",
            ),
        ],
        [
            edge("trigger", "left"),
            edge("trigger", "right"),
            edge("left", "join"),
            edge("right", "join"),
            edge("join", "last"),
        ],
    )
    emit_event("invoice.paid", {})

    run = ExecutionRun.objects.get()
    assert run.status == "succeeded"
    jobs = OutboxJob.objects.filter(kind="step").values_list("node_id", flat=True)
    assert sorted(jobs) == ["join", "last", "left", "right"]
    assert steps_of(run)["last"].inputs == {"got": "LR"}
    assert run.steps.filter(node_id="join").count() == 1


def test_delay_schedules_the_next_step_in_the_future_without_sleeping():
    publish(
        [{"id": "wait", "type": "delay", "seconds": 3600}, action("after")],
        [edge("trigger", "wait"), edge("wait", "after")],
    )
    before = timezone.now()
    emit_event("invoice.paid", {})

    run = ExecutionRun.objects.get()
    assert run.status == "running"
    job = OutboxJob.objects.get(node_id="wait")
    assert job.status == "PENDING"
    assert before + timedelta(seconds=3590) < job.next_attempt_at < before + timedelta(seconds=3610)
    assert Worker(worker_id="t", concurrency=1).run_until_idle() == 0  # not due yet

    drain_everything_due_now()
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert steps_of(run)["after"].status == "succeeded"


@override_settings(
    DJANGO_AUTOMATE={
        "WORKER_MODE": "synchronous",
        "CONNECTORS": ["tests.support.connectors.TestKitConnector"],
        "EXECUTION": {"backoff_base_seconds": 10, "backoff_max_seconds": 40},
    }
)
def test_transient_failures_are_retried_with_capped_backoff_then_succeed():
    publish(
        [action("flaky", "fail", times=2, message="Slack said 503")], [edge("trigger", "flaky")]
    )
    before = timezone.now()
    emit_event("invoice.paid", {})

    run = ExecutionRun.objects.get()
    job = OutboxJob.objects.get(node_id="flaky")
    first_try = run.steps.get(node_id="flaky", attempt=1)
    assert first_try.status == "retrying"
    assert first_try.error == "Slack said 503"
    assert job.status == "PENDING"
    # Full jitter: anywhere from the failure itself up to one base delay later.
    assert before <= job.next_attempt_at <= timezone.now() + timedelta(seconds=10)

    drain_everything_due_now()
    job.refresh_from_db()
    assert job.next_attempt_at <= timezone.now() + timedelta(
        seconds=20
    )  # 2nd retry: at most 2 x base
    drain_everything_due_now()

    run.refresh_from_db()
    attempts = list(
        run.steps.filter(node_id="flaky").order_by("attempt").values_list("status", flat=True)
    )
    assert attempts == ["retrying", "retrying", "succeeded"]
    assert run.status == "succeeded"


def test_retry_after_from_the_connector_is_respected():
    publish([action("limited", "fail", times=1, retry_after=120)], [edge("trigger", "limited")])
    emit_event("invoice.paid", {})
    job = OutboxJob.objects.get(node_id="limited")
    assert job.next_attempt_at >= timezone.now() + timedelta(seconds=115)


def test_exhausted_retries_go_dead_fail_the_run_and_can_be_replayed():
    failed = []
    signals.workflow_failed.connect(
        lambda sender, execution, error, **kw: failed.append(error),
        weak=False,
        dispatch_uid="t-failed",
    )
    try:
        node = action("always", "fail", times=3)
        node["retry"] = {"max_retries": 2, "backoff_base_seconds": 0}
        publish([node, action("after")], [edge("trigger", "always"), edge("always", "after")])
        emit_event("invoice.paid", {})
        drain_everything_due_now()
        drain_everything_due_now()
    finally:
        signals.workflow_failed.disconnect(dispatch_uid="t-failed")

    run = ExecutionRun.objects.get()
    job = OutboxJob.objects.get(node_id="always")
    assert (job.status, job.attempts) == ("DEAD", 3)
    assert run.status == "failed"
    assert "always" in run.error
    assert failed == ["Step 'always' failed: boom"]
    assert not run.steps.filter(node_id="after").exists()

    # The fourth call succeeds: replaying the dead letter finishes the run.
    call_command("automate_replay_dead", "--all")
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert steps_of(run)["after"].status == "succeeded"
    assert AuditLogEntry.objects.filter(action="job.replay").count() == 1


def test_permanent_errors_fail_at_once():
    publish(
        [action("bad", "fail", retryable=False, message="invalid_auth")], [edge("trigger", "bad")]
    )
    emit_event("invoice.paid", {})
    job = OutboxJob.objects.get(node_id="bad")
    assert (job.status, job.attempts) == ("FAILED", 1)
    assert ExecutionRun.objects.get().status == "failed"


def test_retry_a_failed_step_then_the_run_carries_on():
    publish(
        [action("bad", "fail", retryable=False, times=1), action("after")],
        [edge("trigger", "bad"), edge("bad", "after")],
    )
    emit_event("invoice.paid", {})
    run = ExecutionRun.objects.get()
    assert run.status == "failed"

    run = retry_step(run=run, node_id="bad")
    assert run.status == "succeeded"
    steps = steps_of(run)
    assert steps["bad"].attempt == 2
    assert steps["after"].status == "succeeded"
    assert AuditLogEntry.objects.filter(action="run.retry_step").exists()


def test_retrying_a_step_that_did_not_fail_is_refused():
    from automate.execution.exceptions import RunStateError

    publish([action("a")], [edge("trigger", "a")])
    emit_event("invoice.paid", {})
    run = ExecutionRun.objects.get()
    with pytest.raises(RunStateError, match="has not failed"):
        retry_step(run=run, node_id="a")
    assert run.steps.count() == 2


def test_resume_reruns_a_step_and_everything_after_it():
    publish(
        [action("a"), action("b"), action("c")],
        [edge("trigger", "a"), edge("a", "b"), edge("b", "c")],
    )
    emit_event("invoice.paid", {})
    run = ExecutionRun.objects.get()
    assert run.status == "succeeded"

    run = resume_run(run=run, from_node="b")
    assert run.status == "succeeded"
    counts = {node: run.steps.filter(node_id=node).count() for node in ("a", "b", "c")}
    assert counts == {"a": 1, "b": 2, "c": 2}
    assert set(steps_of(run)) == {"trigger", "a", "b", "c"}
    assert AuditLogEntry.objects.get(action="run.resume").details["reset"] == ["b", "c"]


def test_cancelled_runs_start_no_more_jobs():
    publish(
        [{"id": "wait", "type": "delay", "seconds": 60}, action("after")],
        [edge("trigger", "wait"), edge("wait", "after")],
    )
    emit_event("invoice.paid", {})
    run = cancel_run(run=ExecutionRun.objects.get())

    assert run.status == "cancelled"
    # Dropped, not given up: no dead letter (the job is done, its error says why).
    dropped = OutboxJob.objects.get(node_id="wait")
    assert (dropped.status, dropped.last_error) == ("COMPLETED", "The run was cancelled.")
    assert drain_everything_due_now() == 0
    assert not run.steps.filter(node_id="after").exists()
    assert AuditLogEntry.objects.filter(action="run.cancel").exists()


def test_a_step_past_its_timeout_fails_retryably():
    node = action("slow", "sleep", seconds=2)
    node["timeout_seconds"] = 0.2
    node["retry"] = {"max_retries": 0}
    publish([node], [edge("trigger", "slow")])
    emit_event("invoice.paid", {})
    step = ExecutionRun.objects.get().steps.get(node_id="slow")
    assert step.status == "failed"
    assert step.error_type == "StepTimeoutError"
    assert "timeout of 0.2 seconds" in step.error
    assert OutboxJob.objects.get(node_id="slow").status == "DEAD"  # retryable, but out of tries


def test_signals_are_sent_once_each_after_commit():
    seen = []
    inside = []

    def recorder(name):
        def receive(sender, **kwargs):
            from django.db import connection

            # Asserted outside: the engine sends robustly, so a receiver's error is only logged.
            seen.append(name)
            inside.append(connection.in_atomic_block)

        return receive

    receivers = {
        name: recorder(name)
        for name in [
            "workflow_started",
            "workflow_completed",
            "step_started",
            "step_completed",
            "event_received",
        ]
    }
    for name, receiver in receivers.items():
        getattr(signals, name).connect(receiver, dispatch_uid=f"t-{name}")
    try:
        publish([action("a")], [edge("trigger", "a")])
        emit_event("invoice.paid", {})
    finally:
        for name in receivers:
            getattr(signals, name).disconnect(dispatch_uid=f"t-{name}")
    assert sorted(seen) == sorted(
        [
            "event_received",
            "workflow_started",
            "step_started",
            "step_completed",
            "workflow_completed",
        ]
    )
    assert not any(inside), "every signal is sent after commit, outside any transaction"


def test_connectors_get_secrets_by_name_and_inputs_are_stored_masked(monkeypatch):
    monkeypatch.setenv("AUTOMATE_SLACK_TOKEN", "xoxb-1111111111-2222222222-abcdefghijkl")
    publish(
        [action("a", token={"$secret": "SLACK_TOKEN"}, note="{{ secrets.SLACK_TOKEN }}")],
        [edge("trigger", "a")],
    )
    emit_event("invoice.paid", {})
    step = steps_of(ExecutionRun.objects.get())["a"]
    assert step.status == "succeeded"
    assert step.outputs["secrets"] == ["SLACK_TOKEN"]
    assert "xoxb-1111111111" not in str(step.inputs)
    assert "xoxb-1111111111" not in str(step.outputs)


def test_event_data_cannot_choose_which_secret_a_template_reads(monkeypatch):
    monkeypatch.setenv("AUTOMATE_DB_PASSWORD", "hunter2-very-secret")
    leak = "{{ secrets[event.payload.which] }}"
    with pytest.raises(WorkflowValidationError, match="secret names must be written literally"):
        publish([action("a", leak=leak)], [edge("trigger", "a")])
    # A version stored before the check existed is refused when it runs.
    version = publish([action("a", leak="safe")], [edge("trigger", "a")])
    graph = copy.deepcopy(version.graph)
    graph["nodes"][1]["inputs"]["leak"] = leak
    WorkflowVersion.objects.filter(pk=version.pk).update(graph=graph)
    emit_event("invoice.paid", {"which": "DB_PASSWORD"})
    step = steps_of(ExecutionRun.objects.get())["a"]
    assert step.status == "failed"
    assert "secret names must be written literally" in step.error
    assert "hunter2" not in step.error


def test_queued_steps_of_a_run_that_failed_are_recorded_as_not_run():
    node = action("bad", "fail", retryable=False)
    publish([node, action("sibling")], [edge("trigger", "bad"), edge("trigger", "sibling")])
    emit_event("invoice.paid", {})
    run = ExecutionRun.objects.get()
    assert run.status == "failed"
    sibling = run.steps.get(node_id="sibling")
    assert sibling.status == "cancelled"
    assert sibling.error == "Not run: the run had failed before this step started."
    assert CALLS.total() == 1, "the sibling's connector was never called"


def test_retrying_a_failed_step_also_runs_the_siblings_that_never_ran():
    publish(
        [
            action("bad", "fail", retryable=False, times=1),
            action("sibling"),
            {"id": "join", "type": "merge"},
        ],
        [
            edge("trigger", "bad"),
            edge("trigger", "sibling"),
            edge("bad", "join"),
            edge("sibling", "join"),
        ],
    )
    emit_event("invoice.paid", {})
    run = ExecutionRun.objects.get()
    assert run.status == "failed"
    assert steps_of(run)["sibling"].status == "cancelled"

    run = retry_step(run=run, node_id="bad")
    assert run.status == "succeeded", "the run does not hang with nothing queued"
    assert {n: s.status for n, s in steps_of(run).items()} == {
        "trigger": "succeeded",
        "bad": "succeeded",
        "sibling": "succeeded",
        "join": "succeeded",
    }


def test_resuming_past_a_node_that_failed_elsewhere_fails_the_run_instead_of_hanging():
    publish(
        [action("a"), action("bad", "fail", retryable=False)],
        [edge("trigger", "a"), edge("trigger", "bad")],
    )
    emit_event("invoice.paid", {})
    run = ExecutionRun.objects.get()
    assert run.status == "failed"
    run = resume_run(run=run, from_node="a")
    assert run.status == "failed"
    assert "bad" in run.error
    assert not OutboxJob.objects.filter(status__in=["PENDING", "CLAIMED"]).exists()


def test_a_signal_receiver_that_raises_does_not_fail_the_step(caplog):
    def broken(sender, **kwargs):
        raise RuntimeError("dashboard is down")

    signals.step_started.connect(broken, dispatch_uid="t-broken")
    signals.workflow_completed.connect(broken, dispatch_uid="t-broken-2")
    try:
        publish([action("a")], [edge("trigger", "a")])
        emit_event("invoice.paid", {})
    finally:
        signals.step_started.disconnect(dispatch_uid="t-broken")
        signals.workflow_completed.disconnect(dispatch_uid="t-broken-2")
    run = ExecutionRun.objects.get()
    assert run.status == "succeeded"
    assert CALLS.total() == 1
    assert "dashboard is down" in caplog.text


def test_an_absurd_retry_after_is_clamped_not_a_crash():
    publish([action("limited", "fail", times=1, retry_after=1e300)], [edge("trigger", "limited")])
    emit_event("invoice.paid", {})
    job = OutboxJob.objects.get(node_id="limited")
    assert job.status == "PENDING"
    assert job.next_attempt_at <= timezone.now() + timedelta(days=7, seconds=5)
    assert ExecutionRun.objects.get().steps.get(node_id="limited").status == "retrying"
