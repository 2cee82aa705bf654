"""The outbox store for MySQL 8+ and MariaDB 10.6+ (docs/howto/mysql.md).

Both have ``SELECT … FOR UPDATE SKIP LOCKED`` but neither has ``UPDATE … RETURNING`` (nor
PostgreSQL's arrays), so a claim is three short statements in one transaction: lock the
due ids of one kind (rows other workers hold locked are skipped, never waited for), update
them, read them back. Writes under a claim (``store._update_held``) lock the rows still
held with ``SELECT … FOR UPDATE``, then update those: the same contract as the
one-statement forms, since no other worker can change a locked row before the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from automate.execution.models import OutboxJob
from automate.execution.store import OutboxStore

Status = OutboxJob.Status
_TABLE = OutboxJob._meta.db_table


class MySQLSkipLockedOutboxStore(OutboxStore):
    """Claims with ``FOR UPDATE SKIP LOCKED`` (MySQL 8+, MariaDB 10.6+), one kind at a
    time: due step jobs first, then event jobs, each oldest first."""

    supports_skip_locked = True

    def _claim_kind(self, worker_id: str, kind: str, limit: int) -> list[OutboxJob]:
        now = timezone.now()
        due = Q(status=Status.PENDING) & (
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
        )
        with transaction.atomic():
            ids = list(
                OutboxJob.objects.select_for_update(skip_locked=True)
                .filter(due, kind=kind)
                .order_by("id")
                .values_list("id", flat=True)[:limit]
            )
            if not ids:
                return []
            OutboxJob.objects.filter(pk__in=ids).update(
                status=Status.CLAIMED,
                locked_by=worker_id,
                lease_expires_at=now + timedelta(seconds=self.lease_seconds),
                attempts=F("attempts") + 1,
                claims=F("claims") + 1,
                updated_at=now,
            )
            # Read under the lock: the claim numbers are this claim's.
            return list(OutboxJob.objects.filter(pk__in=ids).order_by("id"))


def update_held(
    jobs: Sequence[OutboxJob], worker_id: str, sets: str, values: list[Any]
) -> set[int]:
    """``UPDATE … SET <sets> updated_at = now`` on the jobs of ``jobs`` that ``worker_id``
    still holds under the claims they were read with (CLAIMED by it with the same
    ``claims``, lease not expired), ``values`` filling the placeholders of ``sets``;
    returns the ids updated. Their rows stay locked until the caller's transaction ends
    (at once under autocommit)."""
    if not jobs:
        return set()
    at = connection.ops.adapt_datetimefield_value(timezone.now())
    pairs = ", ".join(["(%s, %s)"] * len(jobs))
    claimed = [value for job in jobs for value in (job.pk, job.claims)]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {_TABLE} WHERE (id, claims) IN ({pairs}) "  # noqa: S608
            "AND status = %s AND locked_by = %s AND lease_expires_at > %s "
            "ORDER BY id FOR UPDATE",
            [*claimed, Status.CLAIMED, worker_id, at],
        )
        held = [int(row[0]) for row in cursor.fetchall()]
        if held:
            cursor.execute(
                f"UPDATE {_TABLE} SET {sets} updated_at = %s "  # noqa: S608
                f"WHERE id IN ({', '.join(['%s'] * len(held))})",
                [*values, at, *held],
            )
    return set(held)
