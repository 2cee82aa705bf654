"""Fixed-window rate limits shared by every process through the database.

One ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` per hit: atomic on PostgreSQL and
SQLite (3.35+), so two processes can never both take the last slot of a window. MySQL and
MariaDB have no ``RETURNING`` there: an ``INSERT … ON DUPLICATE KEY UPDATE`` and a read of
the row it locked, in one transaction.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import OperationalError, connection, transaction

from automate.compat import UTC
from automate.governance.models import RateLimitWindow


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # seconds until the window resets (0 when allowed)


def hit(key: str, *, limit: int, window_seconds: int = 60) -> RateDecision:
    """Count one hit against ``key`` and say whether it is within ``limit`` per window."""
    now = time.time()
    start = math.floor(now / window_seconds) * window_seconds
    window_start = datetime.fromtimestamp(start, UTC)
    table = RateLimitWindow._meta.db_table
    if connection.vendor == "mysql":
        count = _hit_mysql(table, key, window_start)
    else:
        count = _hit_returning(table, key, window_start)
    if random.random() < 0.01:  # keep the table small without a cron job
        _sweep(window_start - timedelta(seconds=window_seconds * 10))
    allowed = count <= limit
    retry_after = 0 if allowed else max(1, math.ceil(start + window_seconds - now))
    return RateDecision(allowed=allowed, count=count, limit=limit, retry_after=retry_after)


def _sweep(before: datetime) -> None:
    """Delete windows that started before ``before``: housekeeping, best effort. Two hits
    sweeping at once can deadlock on MySQL/MariaDB (1213); the loser's sweep is rolled back
    (in its own savepoint) and skipped, since the other one is doing the same work."""
    try:
        with transaction.atomic():
            RateLimitWindow.objects.filter(window_start__lt=before).delete()
    except OperationalError as exc:
        if not (exc.args and exc.args[0] in (1205, 1213)):
            raise


def _hit_returning(table: str, key: str, window_start: datetime) -> int:
    """PostgreSQL and SQLite: the upsert returns the window's new count."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {table} ("key", "window_start", "count") VALUES (%s, %s, 1) '  # noqa: S608
            'ON CONFLICT ("key", "window_start") DO UPDATE SET "count" = '
            f'{table}."count" + 1 RETURNING "count"',
            [key, window_start],
        )
        return int(cursor.fetchone()[0])


#: Times a hit InnoDB chose as a deadlock victim is tried again: two first hits of a new
#: window race for the same gap lock, and MySQL/MariaDB rolls one of them back (1213).
MYSQL_DEADLOCK_RETRIES = 5


def _hit_mysql(table: str, key: str, window_start: datetime) -> int:
    """MySQL/MariaDB: no ``RETURNING`` on an upsert; the row it wrote stays locked by this
    transaction, so the count read next in it is this hit's. A hit rolled back as a
    deadlock victim counted nothing, so it is tried again (``MYSQL_DEADLOCK_RETRIES``)."""
    for attempt in range(MYSQL_DEADLOCK_RETRIES + 1):
        try:
            return _hit_mysql_once(table, key, window_start)
        except OperationalError as exc:
            if not (exc.args and exc.args[0] == 1213) or attempt == MYSQL_DEADLOCK_RETRIES:
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def _hit_mysql_once(table: str, key: str, window_start: datetime) -> int:
    at = connection.ops.adapt_datetimefield_value(window_start)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {table} ("key", "window_start", "count") VALUES (%s, %s, 1) '  # noqa: S608
            'ON DUPLICATE KEY UPDATE "count" = "count" + 1',
            [key, at],
        )
        cursor.execute(
            f'SELECT "count" FROM {table} WHERE "key" = %s AND "window_start" = %s',  # noqa: S608
            [key, at],
        )
        return int(cursor.fetchone()[0])
