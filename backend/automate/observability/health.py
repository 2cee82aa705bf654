"""Health checks for load balancers and orchestrators: ``/healthz`` and ``/readyz``.

- ``GET /healthz`` (liveness): ``200 {"status": "ok"}`` while the process answers; touches
  nothing else, so a slow database never gets a healthy process restarted.
- ``GET /readyz`` (readiness): ``200 {"status": "ready", "checks": {...}}`` when this process
  can do its work, else ``503`` in the one error shape (``code`` ``not_ready``) with every
  check's result in ``details.checks``. The checks:

  - ``database``: ``SELECT 1`` answers on the default connection;
  - ``migrations``: no migration is left to apply (a process that started before
    ``migrate`` finished is not ready; once applied, remembered for the process's life);
  - ``channel_layer``: a message sent to a new channel comes back within
    ``CHANNEL_LAYER_TIMEOUT_SECONDS`` (the live explorer needs it; skipped when no layer
    is configured);
  - ``workers``: a worker beat within ``EXECUTION.worker_timeout_seconds``
    (``automate.execution.liveness``); skipped with ``WORKER_MODE = "synchronous"``.

Each check result is ``{"ok": bool, "detail": str}``; a failing check's detail says what
failed (an exception's class name, never its message, which may hold a DSN). Both views are
exempt from the HTTPS redirect in the standalone site, and need no login.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from automate import conf
from automate.api.errors import json_error
from automate.guard.http import guarded

#: Seconds the channel layer's round trip may take before it counts as unreachable.
CHANNEL_LAYER_TIMEOUT_SECONDS = 2.0

_migrated = threading.Event()


def _check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means not ready; the class name says which
        return {"ok": False, "detail": f"the database did not answer ({type(exc).__name__})"}
    return {"ok": True, "detail": "answers"}


def _check_migrations() -> dict[str, Any]:
    if _migrated.is_set():
        return {"ok": True, "detail": "all applied"}
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return {"ok": False, "detail": f"could not read migrations ({type(exc).__name__})"}
    if plan:
        return {"ok": False, "detail": f"{len(plan)} migration(s) not applied"}
    _migrated.set()
    return {"ok": True, "detail": "all applied"}


async def _round_trip(layer: Any) -> bool:
    channel = await layer.new_channel(prefix="automate-readyz.")
    token = uuid.uuid4().hex
    await layer.send(channel, {"type": "readyz.ping", "token": token})
    message = await asyncio.wait_for(layer.receive(channel), CHANNEL_LAYER_TIMEOUT_SECONDS)
    return bool(message.get("token") == token)


def _check_channel_layer() -> dict[str, Any]:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return {"ok": True, "detail": "none configured"}
    try:
        ok = async_to_sync(_round_trip)(layer)
    except Exception as exc:
        return {"ok": False, "detail": f"unreachable ({type(exc).__name__})"}
    return {"ok": ok, "detail": f"{type(layer).__name__} answers" if ok else "lost a message"}


def _check_workers() -> dict[str, Any]:
    if conf.get("WORKER_MODE") == "synchronous":
        return {"ok": True, "detail": "synchronous mode: no workers"}
    from automate.execution.liveness import alive_condition
    from automate.execution.models import WorkerProcess

    try:
        alive = WorkerProcess.objects.filter(alive_condition()).count()
    except Exception as exc:
        return {"ok": False, "detail": f"could not read workers ({type(exc).__name__})"}
    if not alive:
        timeout = conf.get("EXECUTION", "worker_timeout_seconds")
        return {"ok": False, "detail": f"no worker beat in the last {timeout:g} s"}
    return {"ok": True, "detail": f"{alive} alive"}


def readiness() -> dict[str, dict[str, Any]]:
    """Run every check; ``{name: {"ok": bool, "detail": str}}``. The database goes first:
    without it the migration and worker checks are not attempted."""
    checks = {"database": _check_database()}
    if checks["database"]["ok"]:
        checks["migrations"] = _check_migrations()
        checks["workers"] = _check_workers()
    else:
        skipped = {"ok": False, "detail": "not checked: no database"}
        checks["migrations"] = checks["workers"] = skipped
    checks["channel_layer"] = _check_channel_layer()
    return checks


@guarded("json")
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches no database."""
    return JsonResponse({"status": "ok"})


@guarded("json")
@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 with every check, or 503 ``not_ready`` naming the failing ones."""
    checks = readiness()
    failing = sorted(name for name, result in checks.items() if not result["ok"])
    if failing:
        return json_error(
            request,
            503,
            "not_ready",
            f"Not ready: {', '.join(failing)}.",
            {"checks": checks},
        )
    return JsonResponse({"status": "ready", "checks": checks})
