"""Websockets of the live Execution Explorer: ``/ws/runs/`` and ``/ws/runs/<uuid>/``.

Both refuse anonymous users (close code 4401) and users without the studio permission or
outside the run's tenant (4403). On connect they join their channel groups FIRST, then send
a snapshot read from the database, then stream the frames the publisher sends
(``automate.realtime``). Frames are numbered per run by a database counter
(``automate.realtime.sequence``); one not newer than what was already sent is dropped, so
a client never goes back in time, and a client that sees a gap in the numbers sends
``{"type": "resync"}`` and gets a fresh snapshot. Frames carry statuses, ids, timings and
redacted error messages only.
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from automate.api.errors import error_body
from automate.execution.models import ExecutionRun
from automate.guard.parse import InputRejected, JsonLimits, load_json
from automate.observability.tracing import new_trace_id
from automate.realtime.publisher import bind_loop
from automate.realtime.state import (
    run_frame,
    run_group,
    runs_list_frame,
    runs_with_details,
    tenant_group,
)
from automate.tenants.queries import tenants_for
from studio.access import can_use_studio

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
#: A client sends only ``{"type": "resync"}``: anything much larger is refused.
MESSAGE_LIMITS = JsonLimits(max_bytes=4096, max_depth=8, max_number_digits=20)
#: Runs in the list snapshot (the list page shows at most this many live rows).
LIST_SNAPSHOT_SIZE = 50


class _ExplorerConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    groups: list[str] = []

    async def _refuse(self, code: int) -> None:
        # Accept first so the browser sees our close code rather than a failed handshake.
        await self.accept()
        await self.close(code=code)

    async def _user_or_refuse(self) -> Any | None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self._refuse(CLOSE_UNAUTHENTICATED)
            return None
        if not await database_sync_to_async(can_use_studio)(user):
            await self._refuse(CLOSE_FORBIDDEN)
            return None
        return user

    async def _join(self, groups: list[str]) -> None:
        self.joined = groups
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        """Every client message goes through the input guard: a refused one is answered
        with an ``error`` frame in the error shape and changes nothing."""
        raw = text_data if text_data is not None else (bytes_data or b"")
        try:
            content = load_json(raw, what="The message", limits=MESSAGE_LIMITS)
        except InputRejected as exc:
            body = error_body(exc.code, exc.message, exc.details, new_trace_id())
            await self.send_json({"type": "error", **body})
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The only message a client sends: "resync" after it noticed a gap.
        if isinstance(content, dict) and content.get("type") == "resync":
            await self.send_snapshot()

    async def send_snapshot(self) -> None:
        raise NotImplementedError


class RunConsumer(_ExplorerConsumer):
    """One run: a snapshot of the run and every step, then each change."""

    async def connect(self) -> None:
        bind_loop(asyncio.get_running_loop())
        user = await self._user_or_refuse()
        if user is None:
            return
        self.run_id = str(self.scope["url_route"]["kwargs"]["run_id"])
        tenant_id = await database_sync_to_async(self._tenant_of_run)(user)
        if tenant_id is None:
            # Not found and not allowed look the same: run ids are not disclosed.
            await self._refuse(CLOSE_FORBIDDEN)
            return
        self.last_seq = 0
        await self._join([run_group(self.run_id)])
        await self.accept()
        await self.send_snapshot()

    def _tenant_of_run(self, user: Any) -> int | None:
        return (
            ExecutionRun.objects.filter(pk=self.run_id, tenant__in=tenants_for(user))
            .values_list("tenant_id", flat=True)
            .first()
        )

    async def send_snapshot(self) -> None:
        # Always sent: a snapshot is at least as new as any frame numbered up to its seq
        # (the client asked for it, or has just connected).
        frame = await database_sync_to_async(run_frame)(self.run_id)
        if frame is not None:
            self.last_seq = max(self.last_seq, frame["seq"])
            await self.send_json(frame)

    async def _forward(self, frame: dict[str, Any]) -> None:
        if frame["seq"] <= self.last_seq:
            return
        self.last_seq = frame["seq"]
        await self.send_json(frame)

    async def run_frame(self, message: dict[str, Any]) -> None:
        """Group message ``run.frame`` from the publisher."""
        await self._forward(message["frame"])


class RunsConsumer(_ExplorerConsumer):
    """The runs of the user's tenants: the newest runs, then every run's changes."""

    async def connect(self) -> None:
        bind_loop(asyncio.get_running_loop())
        user = await self._user_or_refuse()
        if user is None:
            return
        self.user = user
        self.tenant_ids: list[int] = await database_sync_to_async(
            lambda: list(tenants_for(user).values_list("pk", flat=True))
        )()
        self.last_seq: dict[str, int] = {}
        await self._join([tenant_group(t) for t in self.tenant_ids])
        await self.accept()
        await self.send_snapshot()

    async def send_snapshot(self) -> None:
        frame = await database_sync_to_async(self._snapshot)()
        for run in frame["runs"]:
            self.last_seq[run["id"]] = max(self.last_seq.get(run["id"], 0), run["seq"])
        await self.send_json(frame)

    def _snapshot(self) -> dict[str, Any]:
        runs = list(
            runs_with_details()
            .filter(tenant_id__in=self.tenant_ids)
            .order_by("-created_at", "-id")[:LIST_SNAPSHOT_SIZE]
        )
        return runs_list_frame(runs)

    async def run_frame(self, message: dict[str, Any]) -> None:
        """Group message ``run.frame``: one run's summary."""
        frame = message["frame"]
        run_id = frame["run"]["id"]
        if frame["seq"] <= self.last_seq.get(run_id, 0):
            return
        self.last_seq[run_id] = frame["seq"]
        await self.send_json(frame)
