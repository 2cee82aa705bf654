"""Send run state changes to the studio's websockets, through the Channels layer.

The engine's signals (sent after the transaction that made the change commits) trigger a
fresh read of the run's state (``automate.realtime.state.run_frame``), which goes to the
groups ``run.<run_id>`` (the run page) and ``runs.tenant.<tenant_id>`` (the runs list).
Reading from the database rather than trusting the signal's objects means every frame is a
complete, current picture. Each is numbered by the run's database counter
(``automate.realtime.sequence``), in the order the states were read: watchers drop a
frame numbered below what they show and resync (ask for a snapshot) on a gap.

Publishing never raises into the engine: a channel layer that is down costs a log line,
not a step. Websockets only *show* state; the database stays the truth.

The in-memory channel layer (``make run``) is not thread-safe: its queues belong to the
event loop of the server. Worker threads therefore hand the send to that loop (learnt from
the first websocket that connects, ``bind_loop``) instead of ``async_to_sync``, which
would run it on a private loop and wake the server's consumers only by chance.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import OrderedDict
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import connections

from automate import signals
from automate.realtime.state import run_frame, run_group, tenant_group

logger = logging.getLogger("automate.realtime")

#: How long a publisher waits for an in-process send before giving up on it.
SEND_TIMEOUT_SECONDS = 1.0

_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def bind_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Remember the event loop the websocket consumers of this process run on."""
    global _loop
    with _loop_lock:
        _loop = loop


def _consumer_loop() -> asyncio.AbstractEventLoop | None:
    loop = _loop
    if loop is None or loop.is_closed() or not loop.is_running():
        return None
    return loop


def _send(layer: Any, messages: list[tuple[str, dict[str, Any]]]) -> None:
    async def send_all() -> None:
        for group, message in messages:
            await layer.group_send(group, message)

    if isinstance(layer, InMemoryChannelLayer):
        loop = _consumer_loop()
        if loop is None:
            return  # no websocket was ever opened in this process: nobody is listening
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            loop.create_task(send_all())
            return
        asyncio.run_coroutine_threadsafe(send_all(), loop).result(SEND_TIMEOUT_SECONDS)
        return
    async_to_sync(send_all)()


#: A run that has stopped while some of its jobs were still claimed gets a few more
#: frames, this far apart (see ``_settle_later``).
SETTLE_SECONDS = 1.5
SETTLE_ROUNDS = 20
#: At most this many runs are being settled at once in a process; past it the one waiting
#: longest is dropped (its page converges on its next signal or a reload).
MAX_SETTLING = 200
_TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
_IN_FLIGHT = frozenset({"running", "retrying"})


def _in_flight(frame: dict[str, Any]) -> bool:
    return any(step.get("queued") or step.get("status") in _IN_FLIGHT for step in frame["steps"])


class _Settle:
    """The next settle publish of one run: when it is due and how many rounds are left."""

    __slots__ = ("due", "rounds_left")

    def __init__(self, due: float, rounds_left: int) -> None:
        self.due = due
        self.rounds_left = rounds_left


#: The pending settle of each run (at most one per run), oldest request first; served by
#: one scheduler thread, started when there is something to settle and ended when not.
_settling: OrderedDict[str, _Settle] = OrderedDict()
_settling_changed = threading.Condition()
_scheduler: threading.Thread | None = None


def _settle_later(run_id: uuid.UUID | str, rounds_left: int) -> None:
    """Publish the run again in a moment.

    When a run stops (a cancel, a failed sibling) while jobs of it are claimed, the
    engine still writes their outcome ("not run", a step that finishes alone), and not
    every such write sends a signal: without another frame the page would keep showing
    them in flight. A few frames after the run stopped, until none is in flight, let the
    page converge on the database.

    A run has at most one pending settle: another request (each signal of a stopped run
    asks) extends its rounds instead of starting a second chain. At most ``MAX_SETTLING``
    runs are pending; a new one drops the one waiting longest."""
    global _scheduler
    key = str(run_id)
    with _settling_changed:
        pending = _settling.get(key)
        if pending is not None:
            pending.rounds_left = max(pending.rounds_left, rounds_left)
            return
        while len(_settling) >= MAX_SETTLING:
            dropped, _ = _settling.popitem(last=False)
            logger.debug("Too many runs settling: run %s gets no more settle frames", dropped)
        _settling[key] = _Settle(time.monotonic() + SETTLE_SECONDS, rounds_left)
        if _scheduler is None:
            _scheduler = threading.Thread(
                target=_run_scheduler, name="automate-realtime-settle", daemon=True
            )
            _scheduler.start()
        _settling_changed.notify()


def _due_settles() -> list[tuple[str, int]] | None:
    """Wait for the settles that are due and take them; None when nothing is left."""
    global _scheduler
    with _settling_changed:
        while True:
            if not _settling:
                _scheduler = None  # under the lock: the next request starts a new thread
                return None
            now = time.monotonic()
            due = [key for key, settle in _settling.items() if settle.due <= now]
            if due:
                return [(key, _settling.pop(key).rounds_left) for key in due]
            _settling_changed.wait(min(s.due for s in _settling.values()) - now)


def _run_scheduler() -> None:
    while (due := _due_settles()) is not None:
        for run_id, rounds_left in due:
            publish_run(run_id, reason="settle", _rounds_left=rounds_left)  # never raises
        try:
            connections.close_all()  # each round closes this thread's connections
        except Exception:
            logger.warning("Could not close the settle thread's connections", exc_info=True)


def settling() -> dict[str, int]:
    """The runs with a settle pending and their rounds left (for tests and diagnostics)."""
    with _settling_changed:
        return {key: settle.rounds_left for key, settle in _settling.items()}


def stop_settling() -> None:
    """Drop the follow-up publishes not sent yet (``disconnect`` does; tests too)."""
    with _settling_changed:
        _settling.clear()
        _settling_changed.notify()


def publish_run(run_id: uuid.UUID | str, *, reason: str, _rounds_left: int = SETTLE_ROUNDS) -> None:
    """Read the run's state and send it to its watchers. Logs failures, never raises."""
    try:
        layer = get_channel_layer()
        if layer is None:
            return
        if isinstance(layer, InMemoryChannelLayer) and _consumer_loop() is None:
            return  # skip the database read too
        frame = run_frame(run_id, reason=reason, advance=True)
        if frame is None:
            return
        summary = {
            "type": "run_summary",
            "reason": reason,
            "seq": frame["seq"],
            "run": frame["run"],
        }
        _send(
            layer,
            [
                (run_group(run_id), {"type": "run.frame", "frame": frame}),
                (
                    tenant_group(frame["run"]["tenant_id"]),
                    {"type": "run.frame", "frame": summary},
                ),
            ],
        )
        if frame["run"]["status"] in _TERMINAL and _in_flight(frame) and _rounds_left > 0:
            _settle_later(run_id, _rounds_left - 1)
    except Exception:
        # The websocket view is a convenience; the run itself must never fail because of it.
        logger.warning("Could not publish the state of run %s", run_id, exc_info=True)
        if reason == "settle" and _rounds_left > 0:
            _settle_later(run_id, _rounds_left - 1)  # a busy database: try again


def _on_run_signal(reason: str) -> Any:
    def receiver(sender: Any, execution: Any, **kwargs: Any) -> None:
        publish_run(execution.pk, reason=reason)

    return receiver


def _on_step_signal(reason: str) -> Any:
    def receiver(sender: Any, step: Any, execution: Any, **kwargs: Any) -> None:
        if reason == "step_failed" and kwargs.get("will_retry"):
            publish_run(execution.pk, reason="step_retrying")
        else:
            publish_run(execution.pk, reason=reason)

    return receiver


# Kept at module level: signals hold receivers weakly.
_RECEIVERS: dict[str, Any] = {
    "workflow_started": _on_run_signal("workflow_started"),
    "workflow_completed": _on_run_signal("workflow_completed"),
    "workflow_failed": _on_run_signal("workflow_failed"),
    "step_started": _on_step_signal("step_started"),
    "step_completed": _on_step_signal("step_completed"),
    "step_failed": _on_step_signal("step_failed"),
    # Sent by the engine once it announces runs changed outside a step (cancel, retry,
    # resume); absent signals are simply not connected.
    "workflow_cancelled": _on_run_signal("workflow_cancelled"),
    "workflow_resumed": _on_run_signal("workflow_resumed"),
}


def connect() -> None:
    """Connect the publisher to the engine's signals (idempotent; call from ``ready()``)."""
    for name, receiver in _RECEIVERS.items():
        signal = getattr(signals, name, None)
        if signal is not None:
            signal.connect(receiver, dispatch_uid=f"automate.realtime.{name}")


def disconnect() -> None:
    """Undo ``connect`` (for tests and embedders that want no live updates)."""
    stop_settling()
    for name in _RECEIVERS:
        signal = getattr(signals, name, None)
        if signal is not None:
            signal.disconnect(dispatch_uid=f"automate.realtime.{name}")
