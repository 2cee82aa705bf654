"""Returning the jobs of workers that died.

Two rules give a CLAIMED job back (to PENDING, due at once), whichever comes first:

- **the lease ran out** (``lease_expires_at`` older than ``stale_threshold_seconds``): a
  worker that stopped extending it. This is the only rule for jobs claimed by ids that
  have no ``WorkerProcess`` row (the synchronous mode, ``Worker.run_until_idle``, an
  inline drain);
- **its worker is dead**: ``locked_by`` names a worker whose heartbeat is older than
  ``EXECUTION["worker_timeout_seconds"]`` (``automate.execution.liveness``), whatever the
  lease says. A SIGKILLed worker's jobs run again within seconds, while a live worker's
  long step keeps its long lease. A process judges others only when its own workers have
  beaten without a gap for a whole worker timeout (``liveness.may_declare_dead``), so
  after a database outage the first worker back does not take its live peers for dead.

A returned job is not charged for the claim it lost: the attempt charged at claim time is
refunded and ``lost_claims`` counts the loss instead, so a job that merely was on a worker
killed from outside (every job it held goes down with it) keeps its whole retry budget for
its step's own errors (``attempts`` against ``max_attempts``: ``execution.step_alone``,
``execution.runner``). A job that lost more than ``WORKER_DEATHS_ALLOWED`` claims goes to
DEAD instead and fails its run, so a job that kills every worker that touches it cannot
loop forever. Dead-letter replay resets both counts.

A pass is cheap when nothing is stale (the usual case): one query for dead workers (the
``last_heartbeat_at`` index) and one for stale jobs (the ``automate_outbox_lease`` partial
index holds only CLAIMED jobs); the writes happen only when something is found. Several
workers may reap at once: each UPDATE re-checks the job's state, so a job is returned once
and a job another worker claimed meanwhile is left alone. A presumed-dead worker that is in
fact alive writes nothing more for a returned job (its ``mark_*`` calls are fenced on
``locked_by``, status and lease: ``automate.execution.store``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, F, PositiveIntegerField, Q, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone

from automate.execution import liveness
from automate.execution.models import OutboxJob
from automate.execution.notify import CHANNEL

logger = logging.getLogger("automate.outbox")
Status = OutboxJob.Status

LEASE_EXPIRED = "Lease expired: the worker holding this job stopped answering."
WORKER_DEAD = "The worker holding this job stopped answering (no heartbeat): returned."
#: Claims a job may lose to dead workers (or expired leases) and still be returned: a worker
#: killed from outside (a deploy, the OOM killer) takes every job it holds with it, and that
#: is not the step's failure; but a job that kills every worker that touches it must still
#: end, so the next loss buries it.
WORKER_DEATHS_ALLOWED = 6
GAVE_UP = (
    f"The worker holding this job stopped answering on {WORKER_DEATHS_ALLOWED + 1} of its "
    "claims: given up."
)


def lost_claim(now: datetime, reason: Any, *, bury: bool) -> dict[str, Any]:
    """The changes that give back a claim lost to the engine (a dead worker, an expired
    lease, a dead connection), for ``QuerySet.update``: the attempt the claim was charged
    refunded (never below zero: a job written CLAIMED by hand may not have been charged),
    ``lost_claims`` + 1, and either PENDING due at once with ``reason`` as its last error,
    or (``bury``) DEAD with ``GAVE_UP``."""
    refund = Greatest(F("attempts") - 1, Value(0), output_field=PositiveIntegerField())
    changes: dict[str, Any] = {
        "lease_expires_at": None,
        "attempts": refund,
        "lost_claims": F("lost_claims") + 1,
        "updated_at": now,
    }
    if bury:
        return {**changes, "status": Status.DEAD, "last_error": GAVE_UP}
    # ``last_error`` first: MySQL and MariaDB assign left to right, each assignment seeing
    # the ones before it, and ``reason`` may read ``locked_by`` (the reaper's "dead worker").
    return {
        "last_error": reason,
        **changes,
        "status": Status.PENDING,
        "locked_by": "",
        "next_attempt_at": now,
    }


class OutboxReaper:
    """Return jobs whose lease expired more than ``stale_threshold_seconds`` ago, and the
    jobs of dead workers at once."""

    def __init__(self, stale_threshold_seconds: float = 0) -> None:
        self.stale_threshold_seconds = stale_threshold_seconds

    def reap_stale_items(self) -> int:
        """One pass; returns how many jobs were returned to the queue or made dead."""
        # After a database outage every heartbeat is stale: judge only once this process's
        # own beats have been getting through for a whole worker timeout.
        dead = liveness.dead_workers() if liveness.may_declare_dead() else []
        dead_ids = [worker.worker_id for worker in dead]
        reaped = self._reap(dead_ids)
        forgotten = liveness.forget([worker.worker_id for worker in dead if worker.forgotten])
        if forgotten:
            logger.info("Forgot %d workers silent for over an hour", forgotten)
        return reaped

    def return_jobs_of(self, worker_ids: list[str]) -> int:
        """Give back the claimed jobs of these workers now (and any expired lease), as for
        dead workers; returns how many jobs were returned or made dead."""
        return self._reap(list(worker_ids))

    def _reap(self, dead_ids: list[str]) -> int:
        now = timezone.now()
        cutoff = now - timedelta(seconds=self.stale_threshold_seconds)
        stale = Q(lease_expires_at__lt=cutoff)
        if dead_ids:
            stale |= Q(locked_by__in=dead_ids)
        claimed = OutboxJob.objects.filter(stale, status=Status.CLAIMED)
        found = list(claimed.values_list("pk", "lost_claims", "locked_by"))
        if not found:
            return 0
        limit = WORKER_DEATHS_ALLOWED
        exhausted = [pk for pk, lost, _ in found if lost >= limit]
        returnable = [pk for pk, lost, _ in found if lost < limit]
        reason = (
            Case(
                When(locked_by__in=dead_ids, then=Value(WORKER_DEAD)), default=Value(LEASE_EXPIRED)
            )
            if dead_ids
            else Value(LEASE_EXPIRED)
        )
        with transaction.atomic():
            # Each UPDATE re-applies the stale condition: a job finished, returned or claimed
            # by a live worker since the read above is left alone.
            buried = 0
            if exhausted:
                buried = claimed.filter(pk__in=exhausted, lost_claims__gte=limit).update(
                    **lost_claim(now, reason, bury=True)
                )
            returned = 0
            if returnable:
                returned = claimed.filter(pk__in=returnable, lost_claims__lt=limit).update(
                    **lost_claim(now, reason, bury=False)
                )
            if returned and connection.vendor == "postgresql":
                # Wake idle workers at commit, as a newly written job does.
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])
        if buried:
            # After the job update commits, so locks are taken run-first like everywhere else.
            from automate.execution.runner import fail_runs_of_dead_jobs

            mine = OutboxJob.objects.filter(pk__in=exhausted, status=Status.DEAD, updated_at=now)
            fail_runs_of_dead_jobs(mine.values_list("pk", flat=True))
        if buried or returned:
            holders = sorted({holder for _, _, holder in found if holder in dead_ids})
            logger.warning(
                "Reaper returned %d stale jobs and dead-lettered %d%s",
                returned,
                buried,
                f" (dead workers: {', '.join(holders)})" if holders else "",
            )
        return buried + returned
