"""The worker's opt-in periodic prune: ``RETENTION["prune_interval_seconds"]`` (0 = off).

``prune_if_due`` is a worker duty (``automate.execution.duties``, connected in
``AutomateConfig.ready``): every worker loop calls it every few seconds. When the interval
has passed since this process last tried, it starts one bounded pass (at most
``PASS_BATCHES`` batches of ``RETENTION["prune_batch_size"]`` rows per table) on a thread of
its own, so the loop goes on claiming jobs while the pass deletes.

One worker at a time: on PostgreSQL the pass holds a session advisory lock
(``pg_try_advisory_lock``) and a worker that does not get it skips its turn; elsewhere
(SQLite: one machine, writes serialized) a process-wide lock keeps one pass per process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from automate import conf
from automate.retention.batches import Pruner, TableTally, default_batch_size

logger = logging.getLogger("automate.retention")

#: Batches per table in one periodic pass (a backlog is worked off over several passes).
PASS_BATCHES = 20
#: pg_advisory_lock key of the periodic prune (any bigint; "prune" in ASCII).
LOCK_KEY = 0x7072756E65
#: The same lock's name on MySQL/MariaDB (GET_LOCK is per server, names up to 64 chars).
MYSQL_LOCK_NAME = "automate.periodic_prune"

_state_lock = threading.Lock()
_last_try = 0.0
_running: threading.Thread | None = None


@contextmanager
def prune_lock() -> Iterator[bool]:
    """Yield True when this connection holds the cluster-wide prune lock (PostgreSQL's
    advisory lock, MySQL/MariaDB's ``GET_LOCK``; on SQLite always True), released on exit."""
    if connection.vendor == "postgresql":
        take, release = "SELECT pg_try_advisory_lock(%s)", "SELECT pg_advisory_unlock(%s)"
        key: int | str = LOCK_KEY
    elif connection.vendor == "mysql":
        take, release = "SELECT GET_LOCK(%s, 0)", "SELECT RELEASE_LOCK(%s)"
        key = MYSQL_LOCK_NAME
    else:
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute(take, [key])
        got = bool(cursor.fetchone()[0])
    try:
        yield got
    finally:
        if got:
            with connection.cursor() as cursor:
                cursor.execute(release, [key])


def prune_pass(max_batches: int = PASS_BATCHES) -> dict[str, TableTally] | None:
    """One bounded prune pass in this thread, if no other worker is pruning; returns the
    tallies, or None when another process holds the lock."""
    with prune_lock() as got:
        if not got:
            logger.info("Periodic prune skipped: another worker is pruning")
            return None
        tallies = Pruner(batch_size=default_batch_size(), max_batches=max_batches).run()
    done = {table: tally.rows for table, tally in tallies.items() if tally.rows}
    if done:
        logger.info("Periodic prune: %s", ", ".join(f"{n} {t}" for t, n in done.items()))
    return tallies


def _pass_on_thread() -> None:
    try:
        prune_pass()
    except Exception:
        # A failed pass (the database went away) is retried at the next interval.
        logger.exception("Periodic prune failed")
    finally:
        connection.close()


def prune_if_due() -> threading.Thread | None:
    """The worker duty: start a pass on its own thread when the interval has passed and no
    pass of this process is still running; returns the thread started, if any."""
    global _last_try, _running
    interval = float(conf.get("RETENTION", "prune_interval_seconds"))
    if interval <= 0:
        return None
    with _state_lock:
        now = time.monotonic()
        if (_running is not None and _running.is_alive()) or (
            _last_try and now - _last_try < interval
        ):
            return None
        _last_try = now
        _running = threading.Thread(target=_pass_on_thread, name="automate-prune", daemon=True)
        _running.start()
        return _running


def reset() -> None:
    """Forget when this process last pruned (tests)."""
    global _last_try
    with _state_lock:
        _last_try = 0.0
