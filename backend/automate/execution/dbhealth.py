"""Noticing a dead database connection in a worker thread, and replacing it.

A connection can die under a running job: the database restarted or failed over, an
operator ran ``pg_terminate_backend``, a proxy dropped an idle socket. Everything the
thread then sends on it fails, including the bookkeeping that would give the job back,
which would leave the job CLAIMED until its lease ran out. So the worker checks, on the
error path only, whether the thread's connection still answers, and if not closes it:
Django opens a fresh one on the next query.
"""

from __future__ import annotations

import logging

from django.db import connection

logger = logging.getLogger("automate.worker")


def connection_is_dead() -> bool:
    """True when this thread's default connection is open but no longer answers.

    Costs one ``SELECT 1`` round trip (on PostgreSQL; SQLite's is always usable). False
    inside a transaction block (the connection cannot be replaced there; the outermost
    caller checks again) and when no connection is open (the next query opens one).
    """
    if connection.in_atomic_block or connection.connection is None:
        return False
    try:
        return not connection.is_usable()
    except Exception:
        return True


def replace_connection() -> None:
    """Close this thread's default connection so the next query opens a fresh one.

    Never raises: closing a connection the server already dropped may fail, and that
    failure says nothing new. Does nothing inside a transaction block.
    """
    if connection.in_atomic_block:
        return
    try:
        connection.close()
    except Exception:
        logger.debug("Closing a dead connection failed", exc_info=True)
        connection.connection = None
    connection.errors_occurred = False


def heal_connection() -> bool:
    """Replace this thread's connection if it is dead; returns whether it was."""
    if connection_is_dead():
        logger.warning("The worker thread's database connection died; reconnecting")
        replace_connection()
        return True
    return False
