"""Worker liveness: every worker keeps a ``WorkerProcess`` row fresh from a thread of its own.

A worker registers when it starts (before its first claim), refreshes ``last_heartbeat_at``
every ``EXECUTION["heartbeat_interval_seconds"]`` and deletes its row when it stops cleanly.
The beat runs on a thread with its own database connection, so a step that blocks (a slow
HTTP call, a lock wait) does not stop it; a beat that fails (the connection was terminated,
the database restarted) drops that connection and tries again at once on a new one.

A worker whose heartbeat is older than ``EXECUTION["worker_timeout_seconds"]`` is dead
(SIGKILL, lost machine, frozen process): any worker's reaper gives its claimed jobs back
without waiting for their leases (``automate.execution.reaper``), and forgets its row after
``FORGET_AFTER_SECONDS``. A worker never takes itself for dead: the ids beating in this
process are left out of ``dead_workers()``.

Heartbeats are written and compared with the database's clock (``Now()``), so workers on
machines whose clocks disagree still agree on who is alive.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import connections
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.db.models.functions import Now

from automate import conf
from automate.execution.models import WorkerProcess

logger = logging.getLogger("automate.worker")

#: Rows of workers silent this long (seconds) are deleted by the reaper: one hour of
#: history for operators (the admin lists dead workers too), and a table that stays small.
FORGET_AFTER_SECONDS = 3600.0

# The workers whose heartbeat runs in this process (between ``start()`` and ``stop()``),
# by worker id.
_beating: dict[str, Liveness] = {}
_beating_lock = threading.Lock()


def may_declare_dead() -> bool:
    """Whether this process may take other workers for dead now.

    A stale heartbeat means a dead worker only if the heartbeats themselves were getting
    through: after a database outage every worker's beat is stale, and the first worker
    back must not return the jobs its peers are still running. So a process with workers
    of its own judges others only once one of them has beaten without a gap for a whole
    ``worker_timeout_seconds`` (by then live peers have beaten again too). A process with
    no worker of its own (an operator's reaper call) trusts the table.
    """
    with _beating_lock:
        mine = list(_beating.values())
    return not mine or any(worker.steady for worker in mine)


def local_worker_ids() -> frozenset[str]:
    """The ids of the workers beating in this process (never dead to this process)."""
    with _beating_lock:
        return frozenset(_beating)


def worker_timeout() -> timedelta:
    """``EXECUTION["worker_timeout_seconds"]`` as a timedelta."""
    return timedelta(seconds=float(conf.get("EXECUTION", "worker_timeout_seconds")))


def alive_condition() -> Q:
    """Rows of ``WorkerProcess`` whose worker is alive (heartbeat within the timeout)."""
    return Q(last_heartbeat_at__gte=Now() - worker_timeout())


class Liveness:
    """The heartbeat of one worker: ``start()`` when it starts, ``stop()`` when it stops.

    ``interval`` (seconds) defaults to ``EXECUTION["heartbeat_interval_seconds"]``. Neither
    method raises on a database error: the worker keeps working and the thread keeps trying
    (a worker that cannot reach the database cannot finish jobs either).
    """

    def __init__(
        self, worker_id: str, *, concurrency: int = 1, interval: float | None = None
    ) -> None:
        self.worker_id = worker_id
        self.concurrency = concurrency
        self.interval = float(
            interval
            if interval is not None
            else conf.get("EXECUTION", "heartbeat_interval_seconds")
        )
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_beat: float | None = None  # time.monotonic() of the last beat written
        # time.monotonic() of the first beat after the last gap (None before any beat).
        self._fresh_since: float | None = None

    @property
    def fresh(self) -> bool:
        """Whether this worker's last beat was written less than half the worker timeout
        ago. A worker that is not fresh should stop claiming: other workers will soon take
        it for dead and give its jobs back (its writes are fenced, so nothing doubles,
        but every such job counts a lost claim)."""
        if self._last_beat is None:
            return False
        limit = worker_timeout().total_seconds() / 2
        return time.monotonic() - self._last_beat < limit

    @property
    def steady(self) -> bool:
        """Whether this worker has beaten without a gap (no two beats further apart than
        half the worker timeout) for at least the worker timeout: see
        :func:`may_declare_dead`."""
        if not self.fresh or self._fresh_since is None:
            return False
        return time.monotonic() - self._fresh_since >= worker_timeout().total_seconds()

    def _beaten(self, written: float) -> None:
        from automate.observability.metrics import WORKER_HEARTBEATS

        WORKER_HEARTBEATS.inc()
        gap = worker_timeout().total_seconds() / 2
        if self._last_beat is None or written - self._last_beat >= gap:
            self._fresh_since = written
        self._last_beat = written

    @property
    def running(self) -> bool:
        """Whether the heartbeat thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Register this worker (before its first claim) and start beating.

        Idempotent. If registering fails, the thread writes the row on its next beat.
        """
        if self.running:
            return
        with _beating_lock:
            _beating[self.worker_id] = self
        self._stopping.clear()
        try:
            self._register()
        except Exception:
            logger.warning("Worker %s could not register (will retry)", self.worker_id)
        self._thread = threading.Thread(
            target=self._run, name=f"automate-heartbeat-{self.worker_id}", daemon=True
        )
        self._thread.start()

    def _register(self) -> None:
        """Write this worker's row. A row already there means a process that used this id
        (``--worker-id``) did not stop cleanly: it is dead (ids are unique among running
        workers), and the jobs it held go back now, before this worker claims any; without
        this, the new beats would make the old id look alive until those jobs' leases end.
        """
        previous, _ = WorkerProcess.objects.filter(worker_id=self.worker_id).delete()
        if previous:
            from automate.execution.reaper import OutboxReaper

            returned = OutboxReaper().return_jobs_of([self.worker_id])
            logger.warning(
                "Worker id %s was left registered by a process that died; %d of its jobs "
                "were given back",
                self.worker_id,
                returned,
            )
        self.beat()

    def beat(self) -> None:
        """Set this worker's heartbeat to the database's time now (creating the row if
        missing: first beat, or the row was forgotten while this process was frozen)."""
        written = time.monotonic()
        if WorkerProcess.objects.filter(worker_id=self.worker_id).update(last_heartbeat_at=Now()):
            self._beaten(written)
            return
        if self._stopping.is_set():
            return  # stopping: the row is being deleted, do not write it again
        WorkerProcess.objects.bulk_create(
            [
                WorkerProcess(
                    worker_id=self.worker_id,
                    hostname=socket.gethostname()[:255],
                    pid=os.getpid(),
                    concurrency=self.concurrency,
                    started_at=Now(),
                    last_heartbeat_at=Now(),
                )
            ],
            ignore_conflicts=True,  # a row written meanwhile under this id is as good
        )
        self._beaten(written)

    def stop(self) -> None:
        """Stop beating and delete this worker's row (a clean exit is not a death)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(self.interval + 5)
        try:
            WorkerProcess.objects.filter(worker_id=self.worker_id).delete()
        except Exception:
            logger.warning("Could not remove worker %s's liveness row", self.worker_id)
        finally:
            with _beating_lock:
                _beating.pop(self.worker_id, None)

    def _run(self) -> None:
        failing = False
        try:
            while not self._stopping.wait(self.interval):
                try:
                    self._beat_or_reconnect()
                except Exception:
                    if not failing:  # once per outage, not every two seconds
                        logger.warning(
                            "Worker %s's heartbeat failed (will retry)",
                            self.worker_id,
                            exc_info=True,
                        )
                    failing = True
                    _drop_connections()
                else:
                    if failing:
                        logger.info("Worker %s's heartbeat recovered", self.worker_id)
                    failing = False
        finally:
            connections.close_all()

    def _beat_or_reconnect(self) -> None:
        """One beat; when it fails, a second one at once on a new connection."""
        try:
            self.beat()
        except Exception:
            _drop_connections()
            self.beat()


def _drop_connections() -> None:
    """Close this thread's database connections (the next query opens a new one)."""
    for conn in connections.all(initialized_only=True):
        try:
            conn.close()
        except Exception:
            logger.debug("Closing a broken connection failed", exc_info=True)


@dataclass(frozen=True)
class DeadWorker:
    """A worker silent for longer than the timeout; ``forgotten`` once its row may go."""

    worker_id: str
    forgotten: bool


def dead_workers() -> list[DeadWorker]:
    """Workers whose heartbeat is older than ``worker_timeout_seconds`` (one query on the
    ``last_heartbeat_at`` index), except those beating in this process."""
    forget = Q(last_heartbeat_at__lt=Now() - timedelta(seconds=FORGET_AFTER_SECONDS))
    rows = (
        WorkerProcess.objects.filter(last_heartbeat_at__lt=Now() - worker_timeout())
        .exclude(worker_id__in=local_worker_ids())
        .annotate(forgotten=ExpressionWrapper(forget, output_field=BooleanField()))
        .values_list("worker_id", "forgotten")
    )
    return [DeadWorker(worker_id, bool(forgotten)) for worker_id, forgotten in rows]


def dead_worker_ids() -> list[str]:
    """The ids of ``dead_workers()``."""
    return [dead.worker_id for dead in dead_workers()]


def forget(worker_ids: list[str]) -> int:
    """Delete the rows of these workers if they are still silent past ``FORGET_AFTER_SECONDS``
    (a worker that came back meanwhile keeps its row); returns how many were deleted."""
    if not worker_ids:
        return 0
    cutoff = Now() - timedelta(seconds=FORGET_AFTER_SECONDS)
    deleted, _ = WorkerProcess.objects.filter(
        worker_id__in=worker_ids, last_heartbeat_at__lt=cutoff
    ).delete()
    return deleted
