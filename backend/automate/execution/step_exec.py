"""Executing one node: built-in node types in Python, actions through their connector.

No database work of the engine happens here; a connector call runs in a pooled thread of
its own bounded by the step's timeout (``start_call``), so a batch of steps can have all
its calls in flight at once (``step_batch``) while one-job paths wait for theirs.
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
from automate.observability.log_context import bound
from automate.observability.metrics import count_step_attempt
from automate.payload_caps import cap_json
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
    """Run ``node`` to its end (or its timeout) in this thread's stead: its output (capped,
    ``automate.payload_caps.cap_json``); raises what the node raised, or
    ``StepTimeoutError``."""
    call = start_node(node, run=run, step=step, context=context, inputs=inputs, secrets=secrets)
    output: dict[str, Any] = call.result()
    return output


def start_node(
    node: Node,
    *,
    run: ExecutionRun,
    step: StepRun,
    context: dict[str, Any],
    inputs: Any,
    secrets: dict[str, str],
    notify: Callable[[], None] | None = None,
) -> Call:
    """Start ``node``: a built-in type computes here and now; an action's connector call
    starts on a pooled thread under the step's timeout. ``notify`` is called (from the
    thread that finished it) once the node's outcome is known; read it with
    ``Call.result()``: an output over ``RETENTION["max_payload_bytes"]`` is already the
    truncation marker of ``automate.payload_caps``. Never raises: a failure to start is
    the call's outcome."""
    try:
        if node.type not in _BUILT_IN:
            return call_connector(node, inputs, run=run, step=step, secrets=secrets, notify=notify)
        with bound(**log_fields(run, node.id)):
            value = cap_json(_built_in(node, run=run, context=context, inputs=inputs))
    except Exception as exc:
        if node.type in _BUILT_IN:
            count_step_attempt(node.type, "failed")
        return Call.finished(error=exc, notify=notify)
    count_step_attempt(node.type, "succeeded")
    return Call.finished(value=value, notify=notify)


def log_fields(run: ExecutionRun, node_id: str) -> dict[str, Any]:
    """The run context of log lines written for ``node_id`` of ``run``: trace, run, step,
    and the workflow and tenant slugs when already loaded (never a query on the hot path)."""
    cache = run._state.fields_cache
    version = cache.get("workflow_version")
    workflow = version._state.fields_cache.get("workflow") if version is not None else None
    tenant = cache.get("tenant")
    return {
        "trace_id": run.trace_id or None,
        "run_id": str(run.pk),
        "step_id": node_id,
        "workflow": getattr(workflow, "slug", None),
        "tenant": getattr(tenant, "slug", None),
    }


_BUILT_IN = frozenset({"condition", "delay", "merge", "trigger", "transform"})


def _built_in(
    node: Node, *, run: ExecutionRun, context: dict[str, Any], inputs: Any
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
    return inputs if isinstance(inputs, dict) else {"value": inputs}  # transform


def call_connector(
    node: Node,
    params: dict[str, Any],
    *,
    run: ExecutionRun,
    step: StepRun,
    secrets: dict[str, str],
    notify: Callable[[], None] | None = None,
) -> Call:
    """Start the node's connector action on a pooled thread (see ``start_node``)."""
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
    fields = log_fields(run, node.id)

    def call() -> Any:
        # Log lines the connector writes name the run (automate.observability.log_context),
        # and its outcome and duration are counted (automate.observability.metrics).
        started = time.monotonic()
        with bound(**fields):
            try:
                value = adapter.run(action, params, context)
            except BaseException:
                count_step_attempt(code, "failed", time.monotonic() - started)
                raise
        count_step_attempt(code, "succeeded", time.monotonic() - started)
        # Capped here, on the call's thread: every writer stores it as it is.
        return cap_json(value)

    return start_call(
        call,
        timeout=timeout,
        name=f"step {node.id} of run {run.pk}",
        notify=notify,
    )


class Call:
    """A call running on a pooled thread (``start_call``), or one that finished at once.

    ``done`` is set when it returned or raised; ``ended`` is then its ``time.monotonic()``;
    ``deadline`` is when waiting for it stops (``time.monotonic()`` seconds).
    """

    def __init__(self, name: str, timeout: float) -> None:
        self.name = name
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.done = threading.Event()
        self.ended: float | None = None
        self._value: Any = None
        self._error: BaseException | None = None

    @classmethod
    def finished(
        cls,
        *,
        value: Any = None,
        error: BaseException | None = None,
        notify: Callable[[], None] | None = None,
    ) -> Call:
        call = cls("", 0.0)
        call._settle(value, error, notify, ended=call.deadline)  # its end is its deadline
        return call

    def _settle(
        self,
        value: Any,
        error: BaseException | None,
        notify: Callable[[], None] | None,
        *,
        ended: float | None = None,
    ) -> None:
        self._value, self._error = value, error
        self.ended = time.monotonic() if ended is None else ended
        self.done.set()
        if notify is not None:
            notify()

    def result(self, *, wait: bool = True) -> Any:
        """The call's value (waiting until its deadline unless ``wait`` is false); raises
        what it raised, or ``StepTimeoutError`` when it has not returned by then."""
        remaining = max(0.0, self.deadline - time.monotonic()) if wait else 0.0
        # Past the deadline is a timeout even if the call returned since: its own end
        # decides, not when the waiting thread looked.
        returned = self.done.wait(remaining)
        if not returned or (self.ended is not None and self.ended > self.deadline):
            logger.warning("%s ran past its timeout of %gs", self.name, self.timeout)
            raise StepTimeoutError(f"The step ran past its timeout of {self.timeout:g} seconds.")
        if self._error is not None:
            raise self._error
        return self._value


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


def start_call(
    fn: Callable[[], Any],
    *,
    timeout: float,
    name: str,
    notify: Callable[[], None] | None = None,
) -> Call:
    """Start ``fn`` in a pooled thread of its own; wait for it with ``Call.result()``, which
    gives up ``timeout`` seconds after the start.

    Python cannot kill a thread: a step past its timeout is failed (retryably) and its
    thread is abandoned (it returns to the pool when ``fn`` finally returns); connectors
    should also pass the deadline to their own I/O. ``name`` names the call in logs;
    ``notify`` is called from that thread when ``fn`` returned or raised.
    """
    call = Call(name, timeout)

    def target() -> None:
        value: Any = None
        error: BaseException | None = None
        try:
            value = fn()
        except Exception as exc:  # handed to the waiting thread, which re-raises it
            error = exc
        except BaseException as exc:  # SystemExit, a stray CancelledError: still a failure
            from automate.connectors import ConnectorError

            error = ConnectorError(
                f"The connector stopped with {type(exc).__name__}.", retryable=True
            )
        finally:
            # A connector that used the ORM leaves no connection open in a pooled thread.
            connections.close_all()
            call._settle(value, error, notify)

    _call_threads.submit(target)
    return call


def call_with_timeout(fn: Callable[[], Any], *, timeout: float, name: str) -> Any:
    """Run ``fn`` in a thread of its own and give up waiting after ``timeout`` seconds
    (``start_call``, then wait for it)."""
    return start_call(fn, timeout=timeout, name=name).result()
