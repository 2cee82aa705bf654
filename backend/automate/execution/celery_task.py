"""The Celery side of ``EXECUTION["backend"] = "celery"``: take relayed claims over, run them.

``automate.tasks.run_outbox_jobs`` (the task the relay sends, ``automate.execution.
celery_relay``) calls ``run_handed_off``. Each Celery worker process is a worker of its
own to the engine: an id (``celery:host:pid:random``), a ``WorkerProcess`` row beaten
every ``heartbeat_interval_seconds`` from a thread (started at the process's first task,
removed when it shuts down cleanly), and a thread that keeps the leases of the jobs it
runs. So a Celery worker SIGKILLed mid-task is dead to the reaper within
``worker_timeout_seconds``, its jobs go back and the relay sends them again.

**The takeover** is one compare-and-set per message: the jobs of the message that are
still CLAIMED under the claim number it names (lease not expired) pass to this process,
their claim number moved on by one (no attempt charged: the relay's claim was). A doubled
or stale message (the relay sent it again, the broker redelivered it, the job was given
back and claimed again since) takes over nothing and is dropped with a log line. The jobs
taken over then run through ``runner.process_batch``, the code ``automate_worker`` runs,
so fencing, retries, dead letters, idempotency keys and lost-claim refunds are the same.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from automate.execution.liveness import Liveness
from automate.execution.models import OutboxJob
from automate.execution.store import OutboxStore, default_store

logger = logging.getLogger("automate.worker")

ClaimKey = tuple[int, int]


class _Process:
    """This process's identity as a worker, its heartbeat and its lease keeper."""

    def __init__(self) -> None:
        from automate.execution.worker import new_worker_id

        self.pid = os.getpid()
        self.worker_id = f"celery:{new_worker_id()}"[:100]
        self.store = default_store()
        self.liveness = Liveness(self.worker_id)
        self._held: dict[ClaimKey, OutboxJob] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._keeper = threading.Thread(
            target=self._keep_leases, name="automate-celery-leases", daemon=True
        )

    def start(self) -> None:
        self.liveness.start()
        self._keeper.start()

    def stop(self) -> None:
        self._stopping.set()
        self.liveness.stop()
        if self._keeper.is_alive():
            self._keeper.join(5)

    def hold(self, jobs: list[OutboxJob]) -> None:
        with self._lock:
            self._held.update(((job.pk, job.claims), job) for job in jobs)

    def drop(self, jobs: list[OutboxJob]) -> None:
        with self._lock:
            for job in jobs:
                self._held.pop((job.pk, job.claims), None)

    def _keep_leases(self) -> None:
        """Extend the leases of the jobs running here every third of a lease (a step may
        run longer than a lease)."""
        from django.db import connections

        every = max(1.0, self.store.lease_seconds / 3)
        try:
            while not self._stopping.wait(every):
                with self._lock:
                    jobs = list(self._held.values())
                if not jobs:
                    continue
                try:
                    self.store.heartbeat(jobs, self.worker_id)
                except Exception:
                    logger.warning("Extending leases failed (will retry)", exc_info=True)
                    connections.close_all()
        finally:
            connections.close_all()


_process: _Process | None = None
_process_lock = threading.Lock()


def this_process() -> _Process:
    """This process's worker identity, started at first use (again after a fork)."""
    global _process
    with _process_lock:
        if _process is None or _process.pid != os.getpid():
            _process = _Process()
            _process.start()
        return _process


def stop_this_process(**kwargs: Any) -> None:
    """Celery's ``worker_process_shutdown`` / ``worker_shutdown``: remove this process's
    ``WorkerProcess`` row (a clean exit is not a death)."""
    global _process
    with _process_lock:
        process, _process = _process, None
    if process is not None and process.pid == os.getpid():
        process.stop()


def take_over(pairs: list[ClaimKey], worker_id: str, store: OutboxStore) -> list[OutboxJob]:
    """Move the claims ``pairs`` (``(job id, claim number)``) that are still current to
    ``worker_id`` in one transaction; returns the jobs taken over, each with its new claim
    number (the others were taken by another message, returned or finished: dropped)."""
    if not pairs:
        return []
    now = timezone.now()
    named = Q()
    moved = Q()
    for job_id, claim in pairs:
        named |= Q(pk=job_id, claims=claim)
        moved |= Q(pk=job_id, claims=claim + 1)
    with transaction.atomic():
        taken = OutboxJob.objects.filter(
            named, status=OutboxJob.Status.CLAIMED, lease_expires_at__gt=now
        ).update(
            locked_by=worker_id,
            claims=F("claims") + 1,
            lease_expires_at=now + timedelta(seconds=store.lease_seconds),
            updated_at=now,
        )
        if not taken:
            return []
        # The rows this transaction just updated (locked until it commits).
        return list(
            OutboxJob.objects.filter(
                moved, status=OutboxJob.Status.CLAIMED, locked_by=worker_id
            ).order_by("id")
        )


def run_handed_off(pairs: list[list[int]]) -> int:
    """Take over and run the relayed claims ``pairs`` (``[[job id, claim number], ...]``);
    returns how many jobs ran here (0 for a doubled or stale message)."""
    from automate.execution.runner import give_back_now, process_batch, stranded_jobs
    from automate.execution.worker import reset_broken_connections

    claims = [(int(job_id), int(claim)) for job_id, claim in pairs]
    process = this_process()
    reset_broken_connections()
    jobs = take_over(claims, process.worker_id, process.store)
    if len(jobs) < len(claims):
        logger.info(
            "%d of %d relayed jobs were no longer waiting (a doubled or stale message); dropped",
            len(claims) - len(jobs),
            len(claims),
        )
    if not jobs:
        return 0
    process.hold(jobs)
    hopped: list[OutboxJob] = []

    def track(claimed: list[OutboxJob]) -> None:
        hopped.extend(claimed)
        process.hold(claimed)

    try:
        with stranded_jobs() as stranded:
            process_batch(
                jobs,
                store=process.store,
                worker_id=process.worker_id,
                on_claimed=track,
                on_settled=process.drop,
            )
        for job, reason in stranded:
            try:
                give_back_now(job, store=process.store, worker_id=process.worker_id, reason=reason)
            except Exception:
                logger.warning("Job %s not given back; its lease expires", job.pk, exc_info=True)
    finally:
        process.drop(jobs + hopped)
        reset_broken_connections()
    return len(jobs)
