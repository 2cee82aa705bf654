"""``EXECUTION.backend = "celery"`` end to end: events emitted here run through a relay
(``manage.py automate_worker``) and Celery worker processes on RabbitMQ and on Redis, and
a doubled, a lost or a half-run message (its Celery worker SIGKILLed mid-step) neither
loses nor doubles a run. See conftest.py for the processes and brokers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from automate.execution.celery_relay import TASK_NAME
from automate.execution.models import ExecutionRun, OutboxJob, StepRun, WorkerProcess
from automate.runtime import emit_event
from tests.factories import make_published
from tests.integration.celery.conftest import Cluster, probe_app, purge

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def sink_workflow(sink: Path) -> None:
    """trigger → first → second: each step appends its idempotency key to ``sink``."""
    make_published(
        slug="celery-sink",
        rule_spec={},
        trigger_spec={"event_type": "order.placed"},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                *(
                    {
                        "id": node,
                        "type": "action",
                        "connector": "testkit",
                        "action": "sink",
                        "inputs": {"path": str(sink)},
                    }
                    for node in ("first", "second")
                ),
            ],
            "edges": [
                {"source": "trigger", "target": "first"},
                {"source": "first", "target": "second"},
            ],
        },
    )


def succeeded(count: int):
    return lambda: ExecutionRun.objects.filter(status="succeeded").count() == count


def side_effects(sink: Path) -> list[str]:
    return sorted(sink.read_text().split()) if sink.exists() else []


def expected_keys(count: int) -> list[str]:
    runs = ExecutionRun.objects.values_list("pk", flat=True)
    assert len(runs) == count
    return sorted(f"{run}:{node}" for run in runs for node in ("first", "second"))


def test_events_become_completed_runs_through_celery(cluster: Cluster, tmp_path: Path):
    sink = tmp_path / "sink.txt"
    sink_workflow(sink)
    cluster.celery("alpha", pool="prefork")  # jobs run in its forked children
    cluster.relay()
    for number in range(5):
        emit_event("order.placed", {"number": number})

    cluster.wait_for(succeeded(5), 45, "the runs never completed through Celery")
    assert side_effects(sink) == expected_keys(5), "every step ran once"
    steps = StepRun.objects.exclude(node_id="trigger").values_list("status", flat=True)
    assert list(steps) == ["succeeded"] * 10
    jobs = OutboxJob.objects.all()
    assert {job.status for job in jobs} == {"COMPLETED"}
    # Every job was run by a Celery worker process, registered like any worker.
    runners = {job.locked_by for job in jobs}
    assert all(runner.startswith("celery:") for runner in runners), runners
    alive = set(WorkerProcess.objects.values_list("pk", flat=True))
    assert {"relay", *runners} <= alive


@pytest.mark.parametrize("broker", ["rabbitmq"], indirect=True)
def test_a_doubled_message_does_the_work_once(cluster: Cluster, tmp_path: Path):
    sink = tmp_path / "sink.txt"
    sink_workflow(sink)
    cluster.relay()  # no Celery worker yet: the messages wait in the queue
    emit_event("order.placed", {})
    cluster.wait_for(
        lambda: OutboxJob.objects.filter(status="CLAIMED", locked_by="relay").exists(),
        30,
        "the relay never claimed the event job",
    )
    job = OutboxJob.objects.get(status="CLAIMED", locked_by="relay")
    with probe_app(cluster.broker) as app:
        for _ in range(2):  # the same claim twice more: three messages for one job
            app.send_task(TASK_NAME, args=[[[job.pk, job.claims]]], queue=cluster.queue)

    cluster.celery("alpha")
    cluster.wait_for(succeeded(1), 45, "the run never completed")
    assert side_effects(sink) == expected_keys(1), "each step ran once"
    assert ExecutionRun.objects.count() == 1
    assert StepRun.objects.exclude(node_id="trigger").count() == 2
    job.refresh_from_db()
    assert (job.status, job.attempts, job.lost_claims) == ("COMPLETED", 1, 0)
    cluster.wait_for(
        lambda: "no longer waiting" in (cluster.logs / "alpha.log").read_text(),
        15,
        "the Celery worker never said it dropped the doubled messages",
    )


@pytest.mark.parametrize("broker", ["redis"], indirect=True)
def test_a_lost_message_is_sent_again(cluster: Cluster, tmp_path: Path):
    sink = tmp_path / "sink.txt"
    sink_workflow(sink)
    cluster.relay()
    emit_event("order.placed", {})
    cluster.wait_for(
        lambda: OutboxJob.objects.filter(status="CLAIMED", locked_by="relay").exists(),
        30,
        "the relay never claimed the event job",
    )
    # The message is lost (a purged queue, a broker restarted without persistence).
    cluster.wait_for(
        lambda: purge(cluster.broker, cluster.queue) > 0, 10, "the relay's message never arrived"
    )
    cluster.celery("alpha")

    cluster.wait_for(succeeded(1), 45, "the run never completed after its message was lost")
    assert side_effects(sink) == expected_keys(1)
    relay_log = (cluster.logs / "relay.log").read_text()
    assert "were not taken over in time; sending them again" in relay_log


def test_a_celery_worker_killed_mid_step_loses_nothing(cluster: Cluster, hook):
    make_published(
        slug="celery-slow",
        rule_spec={},
        trigger_spec={"event_type": "hook.called"},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {
                    "id": "call",
                    "type": "action",
                    "connector": "http",
                    "action": "request",
                    "inputs": {
                        "url": f"http://127.0.0.1:{hook.port}/slow",
                        "method": "POST",
                        "body": "hello",
                        "timeout_seconds": 60,
                    },
                },
            ],
            "edges": [{"source": "trigger", "target": "call"}],
        },
    )
    workers = {"alpha": cluster.celery("alpha"), "beta": cluster.celery("beta")}
    cluster.relay()
    emit_event("hook.called", {})
    cluster.wait_for(lambda: hook.requests, 45, "no Celery worker ever called the hook")

    # Kill the Celery worker holding the step (its pid is in its worker id).
    holder = OutboxJob.objects.get(kind="step").locked_by
    pid = int(re.fullmatch(r"celery:.*:(\d+):[0-9a-f]+", holder).group(1))
    victim = next(name for name, process in workers.items() if process.pid == pid)
    cluster.kill(workers[victim])

    cluster.wait_for(lambda: len(hook.requests) > 1, 30, "the step never ran again")
    cluster.wait_for(succeeded(1), 30, "the run never completed")
    (_, first), (_, second) = hook.requests[:2]
    run = ExecutionRun.objects.get()
    assert first == second == f"{run.pk}:call", "the same idempotency key both times"
    job = OutboxJob.objects.get(kind="step")
    assert job.status == "COMPLETED"
    assert job.locked_by.startswith("celery:")
    assert job.locked_by != holder
    assert (job.attempts, job.lost_claims) == (1, 1), "the kill is not charged to the step"
    steps = StepRun.objects.filter(node_id="call").order_by("attempt")
    # The killed attempt is marked failed when the step runs again; one attempt succeeded.
    assert list(steps.values_list("status", flat=True)) == ["failed", "succeeded"]
