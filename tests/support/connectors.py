"""A connector for tests of the execution plane (registered by config.settings_test).

Its side effects are observable from other processes: the ``sink`` action appends the
step's idempotency key to a file, one line per call (O_APPEND writes of one short line are
atomic), so tests can count exactly how often each step ran, across worker processes.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from typing import Any

from automate.connectors import ActionSpec, ConnectorAdapter, ConnectorError, ExecutionContext

#: Calls per idempotency key, for in-process tests.
CALLS: Counter[str] = Counter()
_lock = threading.Lock()


class TestKitConnector(ConnectorAdapter):
    code = "testkit"
    name = "Test kit"
    description = "Actions with controllable behaviour, for the engine's own tests."
    actions = {
        "echo": ActionSpec(inputs={"type": "object"}, idempotent=True),
        "sink": ActionSpec(
            inputs={"path": {"type": "string"}, "sleep": {"type": "number"}}, idempotent=True
        ),
        "fail": ActionSpec(
            inputs={
                "retryable": {"type": "boolean"},
                "times": {"type": "integer"},
                "message": {"type": "string"},
                "retry_after": {"type": "number"},
            }
        ),
        "sleep": ActionSpec(inputs={"seconds": {"type": "number", "required": True}}),
        "lose_lease": ActionSpec(inputs={}),
        # An output of about ``bytes`` bytes (a payload cap's test), or a failure whose
        # message is that long (``fail_long``).
        "big": ActionSpec(inputs={"bytes": {"type": "integer", "required": True}}),
        "fail_long": ActionSpec(inputs={"bytes": {"type": "integer", "required": True}}),
    }

    def execute(
        self, action: str, params: dict[str, Any], context: ExecutionContext
    ) -> dict[str, Any]:
        with _lock:
            CALLS[context.idempotency_key] += 1
            calls = CALLS[context.idempotency_key]
        if action == "echo":
            return {"echo": params, "secrets": sorted(context.secrets), "attempt": context.attempt}
        if action == "big":
            size = int(params["bytes"])
            return {"rows": [{"id": n, "text": "é" * 49} for n in range(size // 120)]}
        if action == "fail_long":
            message = "upstream said: " + "ü" * (int(params["bytes"]) // 2)
            raise ConnectorError(message, retryable=False)
        if action == "sink":
            if params.get("sleep"):
                time.sleep(params["sleep"])
            path = params.get("path") or os.environ["AUTOMATE_TEST_SINK"]
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, f"{context.idempotency_key}\n".encode())
            finally:
                os.close(fd)
            return {"sunk": context.idempotency_key}
        if action == "fail":
            # Fail the first `times` calls (all of them when times is absent), then succeed.
            times = params.get("times")
            if times is None or calls <= times:
                raise ConnectorError(
                    params.get("message", "boom"),
                    retryable=params.get("retryable", True),
                    retry_after=params.get("retry_after"),
                )
            return {"succeeded_on_call": calls}
        if action == "lose_lease":
            # On the first call, act like a worker that stalled past its lease: the lease
            # runs out and the reaper hands the job to someone else mid-step.
            if calls == 1:
                from django.utils import timezone

                from automate.execution.models import OutboxJob
                from automate.outbox import OutboxReaper

                OutboxJob.objects.filter(
                    run_id=context.run_id, node_id=context.node_id, status="CLAIMED"
                ).update(lease_expires_at=timezone.now())
                OutboxReaper().reap_stale_items()
            return {"call": calls}
        if action == "sleep":
            time.sleep(params["seconds"])
            return {"slept": params["seconds"]}
        raise ConnectorError(f"unknown action {action}")
