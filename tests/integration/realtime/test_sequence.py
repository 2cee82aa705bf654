"""The live view converges on the database: frames are numbered per run by a database
counter (not a clock), stale frames are dropped, a gap makes the client resync, and
after a burst of changes the state shown is the state stored."""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from channels.db import database_sync_to_async
from django.db import connections

from automate.execution.models import ExecutionRun, StepRun
from automate.execution.services import cancel_run
from automate.realtime import publish_run
from automate.realtime import state as realtime_state
from automate.realtime.state import run_frame
from automate.runtime import emit_event
from tests.factories import make_published, make_studio_user
from tests.integration.realtime.conftest import open_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

TRIGGER = {"id": "trigger", "type": "trigger"}


def waiting_run():
    """A run whose step ``call`` failed once and waits ten minutes for its next attempt."""
    make_published(
        slug="wf",
        rule_spec={},
        trigger_spec={"event_type": "invoice.paid"},
        graph={
            "nodes": [
                TRIGGER,
                {
                    "id": "call",
                    "type": "action",
                    "connector": "testkit",
                    "action": "fail",
                    "inputs": {"message": "HTTP 429", "retry_after": 600},
                },
            ],
            "edges": [{"source": "trigger", "target": "call"}],
        },
    )
    emit_event("invoice.paid", {})
    run = ExecutionRun.objects.get()
    assert run.steps.get(node_id="call").status == "retrying"
    return run, make_studio_user()


def shown_state(frame):
    return frame["run"]["status"], {s["node_id"]: s["status"] for s in frame["steps"]}


async def publish_elsewhere(run_id, reason):
    """``publish_run`` from another thread (as a worker thread does), closing its
    connection after."""

    def publish():
        try:
            publish_run(run_id, reason=reason)
        finally:
            connections.close_all()

    await asyncio.to_thread(publish)


class Watcher:
    """What run.js does with frames (``judgeFrame`` in live.js): drop what is not newer
    than the shown frame, apply the rest, and on a gap ask for a snapshot."""

    def __init__(self, communicator):
        self.communicator = communicator
        self.shown = None
        self.seq = -1
        self.resyncs = 0
        self.applied = []

    async def take(self, frame):
        if frame["reason"] == "snapshot":
            if frame["seq"] < self.seq:
                return
        elif frame["seq"] <= self.seq:
            return
        elif self.seq >= 0 and frame["seq"] > self.seq + 1:
            self.resyncs += 1
            await self.communicator.send_json_to({"type": "resync"})
        self.seq = frame["seq"]
        self.shown = frame
        self.applied.append(frame["seq"])

    async def until_quiet(self, quiet=1.0):
        # receive_nothing waits without ending the consumer (a receive timeout would).
        while not await self.communicator.receive_nothing(timeout=quiet):
            await self.take(await self.communicator.receive_json_from(timeout=3))


async def test_a_publisher_with_a_clock_ahead_does_not_hide_the_cancel(monkeypatch):
    run, user = await database_sync_to_async(waiting_run)()
    page = await open_socket(f"/ws/runs/{run.pk}/", user)
    watcher = Watcher(page)
    await watcher.take(await page.receive_json_from(timeout=3))

    # A worker on a machine whose clock runs 8 s ahead announces "retrying" (another
    # process: its clock and whatever it keeps in memory are its own, not the site's)...
    real = time.time_ns
    site_memory = dict(vars(realtime_state))
    monkeypatch.setattr(time, "time_ns", lambda: real() + 8_000_000_000)
    await publish_elsewhere(run.pk, "step_retrying")
    monkeypatch.setattr(time, "time_ns", real)
    for name, value in site_memory.items():
        if isinstance(value, int) and not isinstance(value, bool):
            monkeypatch.setattr(realtime_state, name, value)
    # ...then the user cancels the run on the site.
    await database_sync_to_async(cancel_run)(run=run, actor=user)
    await publish_elsewhere(run.pk, "cancel")

    await watcher.until_quiet()
    assert shown_state(watcher.shown) == (
        "cancelled",
        {"trigger": "succeeded", "call": "cancelled"},
    )
    await page.disconnect()


async def test_a_burst_of_changes_converges_on_the_stored_state():
    run, user = await database_sync_to_async(waiting_run)()
    page = await open_socket(f"/ws/runs/{run.pk}/", user)
    watcher = Watcher(page)
    await watcher.take(await page.receive_json_from(timeout=3))
    step = await database_sync_to_async(lambda: run.steps.get(node_id="call").pk)()

    def transition(index):
        # 49 flips between running and retrying from four threads, as several workers'
        # signals would, and the user's cancel among the last of them.
        if index == 45:
            cancel_run(run=run, actor=user)
            publish_run(run.pk, reason="cancel")
            return
        status = StepRun.Status.RUNNING if index % 2 else StepRun.Status.RETRYING
        StepRun.objects.filter(pk=step).exclude(status=StepRun.Status.CANCELLED).update(
            status=status
        )
        publish_run(run.pk, reason="step_retrying" if index % 2 == 0 else "step_started")

    def transition_and_close(index):
        try:
            transition(index)
        finally:
            connections.close_all()

    def burst():
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(transition_and_close, range(50)))

    await asyncio.to_thread(burst)
    await watcher.until_quiet()

    stored = await database_sync_to_async(run_frame)(run.pk)
    assert shown_state(watcher.shown) == shown_state(stored)
    assert shown_state(stored)[0] == "cancelled"
    # 49 flips and the cancel's two frames (its signal's and the site's).
    assert watcher.seq == stored["seq"] == 51
    assert watcher.applied == sorted(watcher.applied)
    await page.disconnect()


async def test_a_gap_makes_the_client_resync_and_the_snapshot_is_current():
    run, user = await database_sync_to_async(waiting_run)()
    page = await open_socket(f"/ws/runs/{run.pk}/", user)
    watcher = Watcher(page)
    await watcher.take(await page.receive_json_from(timeout=3))
    assert watcher.seq == 0
    # Two changes are published while this watcher's first frame is lost on the way.
    await publish_elsewhere(run.pk, "step_retrying")
    lost = await page.receive_json_from(timeout=3)
    assert lost["seq"] == 1
    await database_sync_to_async(cancel_run)(run=run, actor=user)  # its signal publishes
    await watcher.until_quiet()
    assert watcher.resyncs == 1
    assert watcher.applied == [0, 2, 2]  # the frame after the gap, then the snapshot
    assert shown_state(watcher.shown)[0] == "cancelled"
    await page.disconnect()


async def test_a_run_stopped_with_a_job_in_flight_keeps_publishing_until_it_settles(
    monkeypatch,
):
    from automate.execution.models import OutboxJob
    from automate.realtime import publisher

    monkeypatch.setattr(publisher, "SETTLE_SECONDS", 0.2)
    run, user = await database_sync_to_async(waiting_run)()
    # A worker holds the step's job when the run is cancelled...
    await database_sync_to_async(
        lambda: OutboxJob.objects.filter(run=run, node_id="call").update(status="CLAIMED")
    )()
    page = await open_socket(f"/ws/runs/{run.pk}/", user)
    watcher = Watcher(page)
    await watcher.take(await page.receive_json_from(timeout=3))
    await database_sync_to_async(cancel_run)(run=run, actor=user)
    # ...and then writes "not run" without sending any signal, as the engine does.
    await database_sync_to_async(
        lambda: (
            OutboxJob.objects.filter(run=run, node_id="call").update(status="COMPLETED"),
            StepRun.objects.create(
                run=run,
                node_id="call",
                attempt=2,
                status="cancelled",
                error="Not run: the run had cancelled before this step started.",
            ),
        )
    )()
    await watcher.until_quiet(quiet=1.5)
    steps = {s["node_id"]: s for s in watcher.shown["steps"]}
    assert steps["call"]["queued"] is False
    assert watcher.shown["reason"] in ("settle", "snapshot")
    assert steps["call"]["note"].startswith("Stopped after 1 attempt (last error: HTTP 429)")
    await page.disconnect()
