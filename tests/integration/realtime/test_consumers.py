"""The explorer's websockets: who may connect, the snapshot, and the live frames of a run."""

import json

import pytest
from channels.db import database_sync_to_async
from django.test import override_settings

from automate.execution.models import ExecutionRun
from automate.execution.services import cancel_run, retry_step
from automate.execution.worker import Worker
from automate.runtime import emit_event
from tests.factories import make_published, make_studio_user, make_tenant, make_user
from tests.integration.realtime.conftest import frames_until, open_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

TRIGGER = {"id": "trigger", "type": "trigger"}


def action(node_id, act="echo", **inputs):
    return {
        "id": node_id,
        "type": "action",
        "connector": "testkit",
        "action": act,
        "inputs": inputs,
    }


def publish(nodes, edges, *, tenant=None, slug="wf"):
    return make_published(
        slug=slug,
        tenant=tenant,
        rule_spec={},
        trigger_spec={"event_type": "invoice.paid"},
        graph={"nodes": [TRIGGER, *nodes], "edges": edges},
    )


def chain(*ids):
    return [{"source": a, "target": b} for a, b in zip(("trigger", *ids), ids, strict=False)]


@database_sync_to_async
def staff_in(tenant=None, **kwargs):
    user = make_studio_user(**kwargs)
    if tenant is not None:
        tenant.members.add(user)
    return user


@database_sync_to_async
def emit(tenant=None, payload=None):
    emit_event("invoice.paid", payload or {"amount": 1}, tenant=tenant)
    return ExecutionRun.objects.order_by("-created_at").first()


async def closed_with(communicator):
    message = await communicator.receive_output(timeout=3)
    assert message["type"] == "websocket.close"
    return message["code"]


async def test_anonymous_users_are_refused_with_4401():
    communicator = await open_socket("/ws/runs/")
    assert await closed_with(communicator) == 4401


async def test_users_without_the_studio_permission_are_refused_with_4403():
    user = await database_sync_to_async(make_user)()
    communicator = await open_socket("/ws/runs/", user)
    assert await closed_with(communicator) == 4403


async def test_staff_status_alone_is_refused_with_4403():
    user = await database_sync_to_async(make_user)(staff=True)
    communicator = await open_socket("/ws/runs/", user)
    assert await closed_with(communicator) == 4403


async def test_another_tenants_run_is_refused_with_4403():
    mine, theirs = (
        await database_sync_to_async(make_tenant)("mine"),
        await database_sync_to_async(make_tenant)("theirs"),
    )
    await database_sync_to_async(publish)([action("a")], chain("a"), tenant=theirs)
    run = await emit(tenant=theirs)
    user = await staff_in(mine)
    communicator = await open_socket(f"/ws/runs/{run.pk}/", user)
    assert await closed_with(communicator) == 4403
    # A run id that does not exist looks the same.
    communicator = await open_socket("/ws/runs/00000000-0000-0000-0000-000000000000/", user)
    assert await closed_with(communicator) == 4403


async def test_a_late_joiner_gets_the_snapshot_then_the_updates():
    await database_sync_to_async(publish)(
        [action("flaky", "fail", retryable=False, times=1), action("after")],
        chain("flaky", "after"),
    )
    run = await emit()
    assert run.status == "failed"
    user = await staff_in()
    communicator = await open_socket(f"/ws/runs/{run.pk}/", user)

    snapshot = await communicator.receive_json_from(timeout=3)
    assert snapshot["type"] == "run"
    assert snapshot["reason"] == "snapshot"
    assert snapshot["run"]["status"] == "failed"
    steps = {s["node_id"]: s for s in snapshot["steps"]}
    assert steps["trigger"]["status"] == "succeeded"
    assert steps["flaky"]["status"] == "failed"
    assert steps["flaky"]["error"] == "boom"
    assert "after" not in steps

    await database_sync_to_async(retry_step)(run=run, node_id="flaky", actor=user)
    frames = await frames_until(communicator, lambda f: f["run"]["status"] == "succeeded")
    seqs = [snapshot["seq"], *(f["seq"] for f in frames)]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    last = {s["node_id"]: s for s in frames[-1]["steps"]}
    assert last["flaky"]["status"] == "succeeded"
    assert last["flaky"]["attempts"] == 2
    assert last["after"]["status"] == "succeeded"
    await communicator.disconnect()


@override_settings(
    DJANGO_AUTOMATE={
        "WORKER_MODE": "process",
        "CONNECTORS": ["tests.support.connectors.TestKitConnector"],
    }
)
async def test_a_run_streams_started_step_running_step_succeeded_run_succeeded():
    await database_sync_to_async(publish)([action("a"), action("b")], chain("a", "b"))
    user = await staff_in()
    runs_list = await open_socket("/ws/runs/", user)
    assert (await runs_list.receive_json_from(timeout=3))["runs"] == []

    await emit()
    worker = Worker(worker_id="test", concurrency=1)
    # The event job: matching starts the run and queues its first step.
    assert await database_sync_to_async(worker.run_until_idle)(max_jobs=1) == 1
    started = await runs_list.receive_json_from(timeout=3)
    assert started["type"] == "run_summary"
    assert started["reason"] == "workflow_started"
    assert started["run"]["status"] == "running"
    run_id = started["run"]["id"]

    page = await open_socket(f"/ws/runs/{run_id}/", user)
    snapshot = await page.receive_json_from(timeout=3)
    assert {s["node_id"]: s["status"] for s in snapshot["steps"]} == {
        "trigger": "succeeded",
        "a": "pending",
    }
    await database_sync_to_async(worker.run_until_idle)()
    frames = await frames_until(page, lambda f: f["run"]["status"] == "succeeded")
    reasons = [f["reason"] for f in frames]
    # The engine announces the run's end before the last step's (both after one commit);
    # each frame is the whole state, so the order of the two does not matter.
    assert reasons[:3] == ["step_started", "step_completed", "step_started"]
    assert reasons[-1] in ("workflow_completed", "step_completed")
    status = [{s["node_id"]: s["status"] for s in f["steps"]} for f in frames]
    assert status[0]["a"] == "running"
    assert status[1]["a"] == "succeeded"
    assert status[2]["b"] == "running"
    assert status[-1] == {"trigger": "succeeded", "a": "succeeded", "b": "succeeded"}
    assert frames[-1]["run"]["status"] == "succeeded"
    assert frames[-1]["run"]["duration_ms"] is not None
    # The list saw the run finish too.
    summaries = await frames_until(runs_list, lambda f: f["run"]["status"] == "succeeded")
    assert summaries[-1]["run"]["id"] == run_id
    await page.disconnect()
    await runs_list.disconnect()


async def test_retrying_and_cancelled_are_streamed():
    await database_sync_to_async(publish)([action("slow", "fail", retryable=True)], chain("slow"))
    user = await staff_in()
    runs_list = await open_socket("/ws/runs/", user)
    await runs_list.receive_json_from(timeout=3)
    run = await emit()
    frames = await frames_until(runs_list, lambda f: f["reason"] == "step_retrying")
    assert frames[-1]["run"]["status"] == "running"

    page = await open_socket(f"/ws/runs/{run.pk}/", user)
    snapshot = await page.receive_json_from(timeout=3)
    assert {s["node_id"]: s["status"] for s in snapshot["steps"]}["slow"] == "retrying"

    @database_sync_to_async
    def cancel_from_the_studio():
        # The studio's cancel view publishes after the service (no engine signal).
        from automate.realtime import publish_run

        cancel_run(run=run, actor=user)
        publish_run(run.pk, reason="cancel")

    await cancel_from_the_studio()
    frame = await page.receive_json_from(timeout=3)
    assert frame["run"]["status"] == "cancelled"
    assert {s["node_id"]: s["status"] for s in frame["steps"]}["slow"] == "cancelled"
    await page.disconnect()
    await runs_list.disconnect()


async def test_no_frame_contains_a_secret(canary):
    await database_sync_to_async(publish)(
        [
            action("send", token={"$secret": "CANARY"}, note="sent"),
            action("leak", "fail", retryable=False, message="{{ steps.send.output.echo.token }}"),
        ],
        chain("send", "leak"),
    )
    user = await staff_in()
    runs_list = await open_socket("/ws/runs/", user)
    received = [await runs_list.receive_json_from(timeout=3)]
    run = await emit()
    received += await frames_until(runs_list, lambda f: f["run"]["status"] == "failed")
    page = await open_socket(f"/ws/runs/{run.pk}/", user)
    received.append(await page.receive_json_from(timeout=3))
    text = json.dumps(received)
    assert "failed" in text
    assert canary not in text
    await page.disconnect()
    await runs_list.disconnect()


async def test_a_client_can_ask_for_a_fresh_snapshot():
    await database_sync_to_async(publish)([action("a")], chain("a"))
    run = await emit()
    user = await staff_in()
    page = await open_socket(f"/ws/runs/{run.pk}/", user)
    first = await page.receive_json_from(timeout=3)
    await page.send_json_to({"type": "resync"})
    again = await page.receive_json_from(timeout=3)
    # Nothing changed: the counter did not move, and the snapshot is sent all the same.
    assert again["seq"] == first["seq"]
    assert again["run"] == first["run"]
    await page.disconnect()
