"""Waking workers when jobs are written.

On PostgreSQL, ``NOTIFY`` is sent inside the inserting transaction, so it is delivered
exactly when the jobs become visible (at commit) and never for a rolled-back insert. In
``synchronous`` mode the jobs are run inline right after commit instead.
"""

from __future__ import annotations

from django.db import connection

from automate import conf

CHANNEL = "automate_outbox"


def jobs_written() -> None:
    """Call in the transaction that inserted jobs."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])
    if conf.get("WORKER_MODE") == "synchronous":
        from automate.execution.inline import drain_after_commit

        drain_after_commit()
