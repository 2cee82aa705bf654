"""Executing one node: built-in node types in Python, actions through their connector.

No database work of the engine happens here; a connector call runs in a thread of its own
bounded by the step's timeout (``call_with_timeout``).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connections

from automate import conf
from automate.execution.exceptions import StepTimeoutError
from automate.execution.models import ExecutionRun, StepRun
from automate.execution.run_state import graph_of
from automate.rules import compile_rule
from automate.workflows.graph import Node

logger = logging.getLogger("automate.execution")


def execute_node(
    node: Node,
    *,
    run: ExecutionRun,
    step: StepRun,
    context: dict[str, Any],
    inputs: Any,
    secrets: dict[str, str],
) -> dict[str, Any]:
    if node.type == "condition":
        result = compile_rule(node.raw.get("condition")).evaluate(context)
        return {"result": result, "branch": "true" if result else "false"}
    if node.type == "delay":
        return {"waited_seconds": node.raw.get("seconds", 0)}
    if node.type == "merge":
        steps = context["steps"]
        graph = graph_of(run.workflow_version)
        return {
            "inputs": {
                edge.source: steps[edge.source]["output"]
                for edge in graph.incoming(node.id)
                if edge.source in steps
            }
        }
    if node.type == "trigger":
        return dict(run.event.payload)
    if node.type == "transform":
        return inputs if isinstance(inputs, dict) else {"value": inputs}
    return call_connector(node, inputs, run=run, step=step, secrets=secrets)


def call_connector(
    node: Node,
    params: dict[str, Any],
    *,
    run: ExecutionRun,
    step: StepRun,
    secrets: dict[str, str],
) -> dict[str, Any]:
    from automate.connectors import ExecutionContext, check_connector_allowed, get_connector

    code = str(node.raw.get("connector"))
    check_connector_allowed(code)
    adapter = get_connector(code)
    timeout = float(node.raw.get("timeout_seconds") or conf.get("EXECUTION", "timeout_seconds"))
    context = ExecutionContext(
        secrets=secrets,
        idempotency_key=f"{run.pk}:{node.id}",
        trace_id=run.trace_id,
        run_id=str(run.pk),
        node_id=node.id,
        attempt=step.attempt,
        tenant=run.tenant.slug,
        timeout_seconds=timeout,
        deadline=time.monotonic() + timeout,
    )
    action = str(node.raw.get("action"))
    result: dict[str, Any] = call_with_timeout(
        lambda: adapter.run(action, params, context),
        timeout=timeout,
        name=f"step {node.id} of run {run.pk}",
    )
    return result


class _CallThreads:
    """Reusable daemon threads for connector calls (starting a thread per call costs
    about as much as a no-op step). A thread idle for ``idle_seconds`` exits; when none is
    idle a new one starts, so a call stuck past its timeout never delays another."""

    def __init__(self, idle_seconds: float = 60.0) -> None:
        self.idle_seconds = idle_seconds
        self._tasks: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._idle = 0  # waiting threads not yet promised a task
        self._lock = threading.Lock()

    def submit(self, task: Callable[[], None]) -> None:
        with self._lock:
            spawn = self._idle == 0
            if not spawn:
                self._idle -= 1
        self._tasks.put(task)
        if spawn:
            threading.Thread(target=self._loop, name="automate-call", daemon=True).start()

    def _loop(self) -> None:
        while True:
            try:
                task = self._tasks.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # nobody counts on this thread: it may go
                        self._idle -= 1
                        return
                continue  # a task was promised to a waiting thread: keep waiting
            task()
            with self._lock:
                self._idle += 1


_call_threads = _CallThreads()


def call_with_timeout(fn: Callable[[], Any], *, timeout: float, name: str) -> Any:
    """Run ``fn`` in a thread of its own and give up waiting after ``timeout`` seconds.

    Python cannot kill a thread: a step past its timeout is failed (retryably) and its
    thread is abandoned (it returns to the pool when ``fn`` finally returns); connectors
    should also pass the deadline to their own I/O. ``name`` names the call in logs.
    """
    box: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # handed to the waiting thread, which re-raises it
            box["error"] = exc
        finally:
            # A connector that used the ORM leaves no connection open in a pooled thread.
            connections.close_all()
            done.set()

    _call_threads.submit(target)
    if not done.wait(timeout):
        logger.warning("%s ran past its timeout of %gs", name, timeout)
        raise StepTimeoutError(f"The step ran past its timeout of {timeout:g} seconds.")
    if "error" in box:
        raise box["error"]
    return box["result"]
