"""The outbox: claiming jobs under a lease, and finishing them only while the lease holds.

Two stores share one contract (``OutboxStore``):

- ``SkipLockedClaimOutboxStore`` (PostgreSQL): one ``UPDATE … WHERE id IN (SELECT … FOR
  UPDATE SKIP LOCKED) RETURNING`` statement claims a batch; concurrent workers never wait
  on each other's rows and never claim the same one.
- ``OptimisticClaimOutboxStore`` (SQLite and anything else): reads candidate ids, then
  claims each with a compare-and-set ``UPDATE … WHERE id = %s AND status = 'PENDING'``;
  a row another worker took first simply updates nothing.

**Claim order.** Both stores claim due STEP jobs first (oldest first), then fill what is
left of the batch with due EVENT jobs (oldest first). Steps of runs already started never
wait behind a backlog of new events, so under a backlog of 10,000 events runs start
completing within the first batches, and the backlog drains at the rate the workers
finish runs. Each kind is one range scan of the partial index ``(kind, id) WHERE status =
'PENDING'``; the event scan runs only when there were fewer due step jobs than the limit.
On PostgreSQL both scans are one statement (one round trip); SQLite reads each kind's
candidates in a query of its own.
Jobs due later (``next_attempt_at`` in the future: retries, delays) are skipped over.

**Claims are fenced by their number.** Every claim adds one to the job's ``claims`` (the
one-hop jobs ``run_state.claiming_new_jobs`` writes already CLAIMED start at 1), and the
claimed job carries that number. Every ``mark_*`` call, the fence, the heartbeat and the
release take the job as claimed and are conditional on the caller still holding that very
claim (same worker, same claim number, still CLAIMED, lease not expired), and return
whether it did; callers that write run state do it in the same transaction (or statement)
and roll back when the mark fails, so a worker that lost its lease cannot complete the
job, not even when the same worker (same ``locked_by``) has claimed the job again since:
a write of the earlier claim carries the earlier number. Times are the application's clock
(``timezone.now()``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from automate import conf
from automate.execution import pgarray, rowload
from automate.execution.models import OutboxJob

Status = OutboxJob.Status


def _due(now: datetime) -> Q:
    return Q(status=Status.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


class OutboxStore:
    """Claim and finish outbox jobs. Subclasses differ only in how they claim."""

    #: Whether concurrent claims skip each other's locked rows in the database.
    supports_skip_locked = False

    def __init__(self, lease_seconds: float | None = None) -> None:
        self.lease_seconds = float(
            lease_seconds if lease_seconds is not None else conf.get("EXECUTION", "lease_seconds")
        )

    def claim_batch(self, worker_id: str, limit: int) -> list[OutboxJob]:
        """Lease up to ``limit`` due jobs to ``worker_id``: step jobs first, then event jobs,
        each kind oldest first (the returned list is in that order). Each job returned
        carries the number of its claim (``claims``), which every later write checks."""
        if limit <= 0:
            return []
        jobs = self._claim_kind(worker_id, OutboxJob.Kind.STEP, limit)
        if len(jobs) < limit:
            jobs += self._claim_kind(worker_id, OutboxJob.Kind.EVENT, limit - len(jobs))
        return jobs

    def _claim_kind(self, worker_id: str, kind: str, limit: int) -> list[OutboxJob]:
        """Lease up to ``limit`` due jobs of ``kind``, oldest first."""
        raise NotImplementedError

    def _owned(self, job: OutboxJob, worker_id: str, now: datetime) -> QuerySet[OutboxJob]:
        return OutboxJob.objects.filter(
            pk=job.pk,
            claims=job.claims,
            status=Status.CLAIMED,
            locked_by=worker_id,
            lease_expires_at__gt=now,
        )

    def mark_success(self, job: OutboxJob, worker_id: str) -> bool:
        """Complete the job if ``worker_id`` still holds its lease under the claim ``job``
        was read with (``job.claims``)."""
        now = timezone.now()
        return bool(
            self._owned(job, worker_id, now).update(
                status=Status.COMPLETED, lease_expires_at=None, updated_at=now
            )
        )

    def mark_success_many(self, jobs: Sequence[OutboxJob], worker_id: str) -> set[int]:
        """Complete every job of ``jobs`` that ``worker_id`` still holds under the claim it
        was read with, in one statement; returns the ids completed (the others' results
        must be discarded)."""
        return _update_held(
            jobs, worker_id, "status = %s, lease_expires_at = NULL,", [Status.COMPLETED]
        )

    def success_query(self, jobs: Sequence[OutboxJob], worker_id: str) -> tuple[str, list[Any]]:
        """``mark_success_many``'s statement and its parameters (``… RETURNING id``), for a
        statement that also writes for the jobs it completes (``hotsql.complete_steps``)."""
        return _held_update(
            jobs, worker_id, "status = %s, lease_expires_at = NULL,", [Status.COMPLETED]
        )

    def fence(self, jobs: Sequence[OutboxJob], worker_id: str) -> set[int]:
        """The ids of ``jobs`` that ``worker_id`` still holds under the claims they were
        read with, their rows locked until the caller's transaction ends: call it inside
        the transaction that writes for those jobs, before the writes; the others' writes
        must not be made.

        On PostgreSQL the rows are locked with ``SELECT … FOR UPDATE`` (a row lock writes
        no new row version, so no index entry either); a reaper or another worker that
        wants them waits for this transaction and then sees what it wrote. SQLite has no
        row locks: there the rows are touched (``updated_at``), which takes the database's
        write lock at once."""
        if connection.vendor != "postgresql":
            return _update_held(jobs, worker_id, "", [])
        if not jobs:
            return set()
        sql, params = self.fence_query(jobs, worker_id)
        with rowload.hot_cursor(connection) as cursor:
            cursor.execute(sql, params)
            return {int(row[0]) for row in cursor.fetchall()}

    def fence_query(self, jobs: Sequence[OutboxJob], worker_id: str) -> tuple[str, list[Any]]:
        """PostgreSQL: ``fence``'s query and its parameters, for a statement that writes
        for the jobs it returns (``rowinsert.insert_fenced``): ``SELECT id … FOR UPDATE``."""
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        ids, claims = _claim_arrays(jobs)
        return _LOCK_HELD, [ids, claims, Status.CLAIMED, worker_id, now]

    def mark_retry(
        self, job: OutboxJob, worker_id: str, next_attempt_at: datetime, reason: str
    ) -> bool:
        """Give the job back to be tried again at ``next_attempt_at``."""
        now = timezone.now()
        return bool(
            self._owned(job, worker_id, now).update(
                status=Status.PENDING,
                next_attempt_at=next_attempt_at,
                lease_expires_at=None,
                locked_by="",
                last_error=reason[:10_000],
                updated_at=now,
            )
        )

    def mark_lost(self, job: OutboxJob, worker_id: str, reason: str) -> str | None:
        """Give back a claim lost to the engine, not to the step (its thread's database
        connection died): due at once, the attempt it was charged refunded and the loss
        counted in ``lost_claims``, as the reaper does for a dead worker's jobs; a job that
        lost more than ``reaper.WORKER_DEATHS_ALLOWED`` claims is buried instead.

        Returns ``"returned"``, ``"buried"`` (the caller fails its run), or None when
        ``worker_id`` no longer holds the job under ``job``'s claim."""
        from automate.execution.reaper import WORKER_DEATHS_ALLOWED, lost_claim

        now = timezone.now()
        owned = self._owned(job, worker_id, now)
        returnable = owned.filter(lost_claims__lt=WORKER_DEATHS_ALLOWED)
        if returnable.update(**lost_claim(now, reason[:10_000], bury=False)):
            return "returned"
        if owned.update(**lost_claim(now, reason, bury=True)):
            return "buried"
        return None

    def mark_failed(
        self, job: OutboxJob, worker_id: str, reason: str, *, dead: bool = False
    ) -> bool:
        """Stop trying: FAILED for a permanent error, DEAD when retries ran out.

        Both stay visible as dead letters and can be replayed.
        """
        now = timezone.now()
        return bool(
            self._owned(job, worker_id, now).update(
                status=Status.DEAD if dead else Status.FAILED,
                lease_expires_at=None,
                last_error=reason[:10_000],
                updated_at=now,
            )
        )

    def heartbeat(self, jobs: Sequence[OutboxJob], worker_id: str) -> int:
        """Extend the leases of jobs a long step still works on (only under the claims
        they were read with); returns how many held."""
        lease = timezone.now() + timedelta(seconds=self.lease_seconds)
        at = connection.ops.adapt_datetimefield_value(lease)
        return len(_update_held(jobs, worker_id, "lease_expires_at = %s,", [at]))

    def release(self, job: OutboxJob, worker_id: str) -> bool:
        """Hand back a claimed job that was never started (graceful shutdown).

        The attempt it was charged at claim time is refunded.
        """
        now = timezone.now()
        return bool(
            OutboxJob.objects.filter(
                pk=job.pk, claims=job.claims, status=Status.CLAIMED, locked_by=worker_id
            ).update(
                status=Status.PENDING,
                lease_expires_at=None,
                locked_by="",
                attempts=F("attempts") - 1,
                updated_at=now,
            )
        )

    def still_claimed(self, job: OutboxJob, worker_id: str) -> bool:
        """Whether ``worker_id`` still holds ``job`` under its claim (lease not checked)."""
        return OutboxJob.objects.filter(
            pk=job.pk, claims=job.claims, status=Status.CLAIMED, locked_by=worker_id
        ).exists()


_TABLE = OutboxJob._meta.db_table
#: The jobs of a list of ``(id, claim)`` pairs (two arrays) that ``worker_id`` still holds
#: under those claims, locked in id order.
_LOCK_HELD = (
    f"SELECT j.id FROM {_TABLE} AS j "  # noqa: S608
    "JOIN unnest(%s::bigint[], %s::integer[]) AS c(id, claims) "
    "ON j.id = c.id AND j.claims = c.claims "
    "WHERE j.status = %s AND j.locked_by = %s AND j.lease_expires_at > %s "
    "ORDER BY j.id FOR UPDATE OF j"
)


def _claim_arrays(jobs: Sequence[OutboxJob]) -> tuple[Any, Any]:
    """PostgreSQL: the ids and claim numbers of ``jobs`` as two array parameters."""
    return pgarray.param(job.pk for job in jobs), pgarray.param(job.claims for job in jobs)


def _held_update(
    jobs: Sequence[OutboxJob], worker_id: str, sets: str, values: list[Any]
) -> tuple[str, list[Any]]:
    """``UPDATE … SET <sets> updated_at = now … RETURNING id`` on the jobs of ``jobs`` that
    ``worker_id`` still holds under the claims they were read with (CLAIMED by it with the
    same ``claims``, lease not expired), with ``values`` for the placeholders of ``sets``:
    the statement and its parameters."""
    at = connection.ops.adapt_datetimefield_value(timezone.now())
    held = [Status.CLAIMED, worker_id, at]
    if connection.vendor == "postgresql":
        sql = (
            f"UPDATE {_TABLE} AS j SET {sets} updated_at = %s "  # noqa: S608
            "FROM unnest(%s::bigint[], %s::integer[]) AS c(id, claims) "
            "WHERE j.id = c.id AND j.claims = c.claims "
            "AND j.status = %s AND j.locked_by = %s AND j.lease_expires_at > %s "
            "RETURNING j.id"
        )
        return sql, [*values, at, *_claim_arrays(jobs), *held]
    pairs = ", ".join(["(%s, %s)"] * len(jobs))
    sql = (
        f"UPDATE {_TABLE} SET {sets} updated_at = %s "  # noqa: S608
        f"WHERE (id, claims) IN (VALUES {pairs}) "
        "AND status = %s AND locked_by = %s AND lease_expires_at > %s RETURNING id"
    )
    claimed = [value for job in jobs for value in (job.pk, job.claims)]
    return sql, [*values, at, *claimed, *held]


def _update_held(
    jobs: Sequence[OutboxJob], worker_id: str, sets: str, values: list[Any]
) -> set[int]:
    """Run ``_held_update``; returns the ids it updated."""
    if not jobs:
        return set()
    if connection.vendor == "mysql":  # no UPDATE … RETURNING
        from automate.execution import store_mysql

        return store_mysql.update_held(jobs, worker_id, sets, values)
    sql, params = _held_update(jobs, worker_id, sets, values)
    with rowload.hot_cursor(connection) as cursor:
        cursor.execute(sql, params)
        return {int(row[0]) for row in cursor.fetchall()}


class OptimisticClaimOutboxStore(OutboxStore):
    """Compare-and-set claims; correct on any database (used for SQLite)."""

    def _claim_kind(self, worker_id: str, kind: str, limit: int) -> list[OutboxJob]:
        now = timezone.now()
        candidates = list(
            OutboxJob.objects.filter(_due(now), kind=kind)
            .order_by("id")
            .values_list("id", flat=True)[:limit]
        )
        if not candidates:
            return []
        lease = now + timedelta(seconds=self.lease_seconds)
        claimed: list[int] = []
        with transaction.atomic():
            for job_id in candidates:
                if OutboxJob.objects.filter(pk=job_id, status=Status.PENDING).update(
                    status=Status.CLAIMED,
                    locked_by=worker_id,
                    lease_expires_at=lease,
                    attempts=F("attempts") + 1,
                    claims=F("claims") + 1,
                    updated_at=now,
                ):
                    claimed.append(job_id)
            # Read in the claiming transaction: the claim numbers are this claim's, never a
            # later one's (nobody can claim these rows again before it commits).
            return list(OutboxJob.objects.filter(pk__in=claimed).order_by("id"))


class SkipLockedClaimOutboxStore(OutboxStore):
    """One-statement claims with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL)."""

    supports_skip_locked = True

    def claim_batch(self, worker_id: str, limit: int) -> list[OutboxJob]:
        """One statement for both kinds: a ``UNION ALL`` of the step scan, then the event
        scan, under one ``LIMIT``. The append node reads its branches in order and the
        limit stops it, so the event scan runs (and locks rows) only for what the step
        jobs left of the batch, as two statements would, in one round trip. The same
        statement reads the step jobs' runs with their events (``rowload.fetch_claimed``),
        which a step batch would otherwise read next."""
        if limit <= 0:
            return []
        jobs = rowload.fetch_claimed(_CLAIM_BOTH, self._claim_params(worker_id, limit))
        step = OutboxJob.Kind.STEP
        jobs.sort(key=lambda job: (job.kind != step, job.pk))
        return jobs

    def _claim_params(self, worker_id: str, limit: int) -> list[object]:
        now = timezone.now()
        lease = now + timedelta(seconds=self.lease_seconds)
        return [
            *(Status.CLAIMED, worker_id, lease, now),
            *(Status.PENDING, OutboxJob.Kind.STEP, now, limit),
            *(Status.PENDING, OutboxJob.Kind.EVENT, now, limit),
            limit,
        ]


#: Due jobs of one kind, oldest first, on the partial index ``(kind, id) WHERE status =
#: 'PENDING'``; rows other workers hold locked are skipped, never waited for.
_SCAN = f"""
    SELECT id FROM {_TABLE}
    WHERE status = %s AND kind = %s AND (next_attempt_at IS NULL OR next_attempt_at <= %s)
    ORDER BY id
    LIMIT %s
    FOR UPDATE SKIP LOCKED
"""  # noqa: S608 (the table name is ours, every value is a parameter)
#: Step jobs first, then event jobs, at most ``limit`` in all.
_CLAIM_BOTH = f"""
    UPDATE {_TABLE} AS j SET status = %s, locked_by = %s, lease_expires_at = %s,
           attempts = attempts + 1, claims = claims + 1, updated_at = %s
    WHERE id IN (
        SELECT id FROM (
            SELECT id FROM ({_SCAN}) AS steps UNION ALL SELECT id FROM ({_SCAN}) AS events
        ) AS due
        LIMIT %s
    )
    RETURNING {rowload.JOB_COLUMNS.sql}
"""  # noqa: S608


def default_store(lease_seconds: float | None = None) -> OutboxStore:
    """The store for the default database: SKIP LOCKED on PostgreSQL, MySQL and MariaDB,
    optimistic elsewhere."""
    if connection.vendor == "postgresql":
        return SkipLockedClaimOutboxStore(lease_seconds)
    if connection.vendor == "mysql":
        from automate.execution.store_mysql import MySQLSkipLockedOutboxStore

        return MySQLSkipLockedOutboxStore(lease_seconds)
    return OptimisticClaimOutboxStore(lease_seconds)
