"""Worker liveness: every worker keeps a ``WorkerProcess`` row fresh from a thread of its own.

A worker registers when it starts, refreshes ``last_heartbeat_at`` every
``EXECUTION["heartbeat_interval_seconds"]`` (on its own database connection, so a step
that holds the loop or a connection does not stop the beat), and deletes its row when it
stops cleanly. A worker whose heartbeat is older than ``EXECUTION["worker_timeout_seconds"]``
is dead (SIGKILL, lost machine): the reaper gives its claimed jobs back without waiting for
their leases.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from django.db import connections
from django.utils import timezone

from automate import conf
from automate.execution.models import WorkerProcess

logger = logging.getLogger("automate.worker")


class Liveness:
    """The heartbeat of one worker: ``start()`` when it starts, ``stop()`` when it stops."""

    def __init__(self, worker_id: str, *, concurrency: int = 1) -> None:
        self.worker_id = worker_id
        self.concurrency = concurrency
        self.interval = float(conf.get("EXECUTION", "heartbeat_interval_seconds"))
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Register this worker and start beating (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self.beat()
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"automate-heartbeat-{self.worker_id}", daemon=True
        )
        self._thread.start()

    def beat(self) -> None:
        """Write this worker's row with the time now."""
        now = timezone.now()
        WorkerProcess.objects.update_or_create(
            worker_id=self.worker_id,
            defaults={"last_heartbeat_at": now},
            create_defaults={
                "hostname": socket.gethostname()[:255],
                "pid": os.getpid(),
                "concurrency": self.concurrency,
                "started_at": now,
                "last_heartbeat_at": now,
            },
        )

    def stop(self) -> None:
        """Stop beating and remove this worker's row (a clean exit is not a death)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(self.interval + 5)
        try:
            WorkerProcess.objects.filter(worker_id=self.worker_id).delete()
        except Exception:
            logger.warning("Could not remove worker %s's liveness row", self.worker_id)

    def _run(self) -> None:
        try:
            while not self._stopping.wait(self.interval):
                try:
                    self.beat()
                except Exception:
                    logger.warning("Worker heartbeat failed (will retry)", exc_info=True)
                    for conn in connections.all(initialized_only=True):
                        conn.close()
        finally:
            connections.close_all()


def dead_worker_ids() -> list[str]:
    """Workers whose last heartbeat is older than ``worker_timeout_seconds``."""
    cutoff = timezone.now() - timedelta(
        seconds=float(conf.get("EXECUTION", "worker_timeout_seconds"))
    )
    return list(
        WorkerProcess.objects.filter(last_heartbeat_at__lt=cutoff).values_list(
            "worker_id", flat=True
        )
    )
