"""The event table partitioned by month (PostgreSQL, opt-in: ``EVENTS["partitioning"]``).

``manage.py automate_partition_events --apply`` turns the plain ``automate_event`` table
into one ``PARTITION BY RANGE (created_at)``:

* the old table becomes the first partition as it is (``ATTACH PARTITION``, no row is
  copied), covering everything before the next month: ``automate_event_pre_YYYYMM``;
* one partition per month after it (``automate_event_pYYYYMM``, ``[first day, first day of
  the next month)`` in UTC), kept ``EVENTS["partitions_ahead"]`` months ahead by the
  workers (``ensure_partitions_if_due``) or ``--ensure-ahead N``; a DEFAULT partition
  takes an event no month covers (its rows move when their month is created);
* the primary key becomes ``(id, created_at)``: a partitioned table's unique keys must hold
  the partition key. The foreign keys that pointed at ``automate_event(id)`` (runs, outbox
  jobs) are dropped: PostgreSQL cannot have them. Django still treats them as foreign keys,
  and prune deletes dependent rows itself (``retention.batches.delete_rows``);
* a dedupe key stays unique per tenant across all months through a small side table,
  ``automate_event_dedupe (dedupe_key, tenant_id)`` primary key, written by a trigger in
  the same statement as the event: a second event with the key fails with a unique
  violation, as before, and ``record_event`` returns the first one. Deleting an event (a
  prune) frees its key, as before; an UPDATE of its key or tenant moves it.

``drop_expired`` (called by prune) drops a whole month once every event in it is past
retention and none is still needed; ``revert_plan`` is the way back to one plain table.
Every function raises ``PartitioningError`` (a ``CommandError``) on another database or
in the wrong state; ``apply`` raises it too when a step fails (a lock not granted within
``LOCK_TIMEOUT``), after dropping the CHECK constraint it added to the live table.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from automate import conf

logger = logging.getLogger("automate.events")

UTC = dt_timezone.utc

TABLE = "automate_event"
DEFAULT = "automate_event_default"
DEDUPE = "automate_event_dedupe"
DEDUPE_LOOKUP = "automate_event_dedupe_lookup"
TRIGGER_FUNCTION = "automate_event_dedupe_sync"
#: How long DDL waits for a lock before giving up (the workers' writes are not held longer).
LOCK_TIMEOUT = "5s"
#: PostgreSQL's SQLSTATE for "lock not available" (a ``lock_timeout`` that tripped).
LOCK_NOT_AVAILABLE = "55P03"
#: The workers check their months ahead this often (seconds).
ENSURE_INTERVAL = 3600.0


class PartitioningError(CommandError):
    """Partitioning is not possible here (not PostgreSQL, already done, not done)."""


@dataclass(frozen=True)
class Partition:
    """One partition: ``[start, end)`` in UTC (``start`` None: no lower bound); ``default``
    for the DEFAULT partition (no bounds)."""

    name: str
    start: datetime | None
    end: datetime | None
    default: bool = False


@dataclass
class Plan:
    """SQL of a change: ``concurrent`` statements run one by one outside a transaction
    (index builds that do not block writes, and constraint changes that wait at most
    ``LOCK_TIMEOUT`` for their lock), then ``switch`` in one transaction (its time grows
    with the dedupe keys it copies: ``dedupe_keys``)."""

    concurrent: list[str] = field(default_factory=list)
    switch: list[str] = field(default_factory=list)
    #: The CHECK constraint phase 1 adds to the live table (dropped again if --apply fails).
    bound: str | None = None
    #: Dedupe keys the switch copies into the side table (under its lock).
    dedupe_keys: int = 0

    def sql(self) -> str:
        """The plan as a script a person can read (and run with psql)."""
        lines = [
            "-- 1. Without blocking writes (each statement on its own; the index builds wait",
            "--    for open transactions, the ALTERs wait at most lock_timeout for their lock):",
        ]
        lines += [f"{statement};" for statement in self.concurrent] or ["-- (nothing)"]
        lines += ["-- 2. In one transaction (holds ACCESS EXCLUSIVE on automate_event):"]
        if self.dedupe_keys:
            lines.append(f"--    copies {self.dedupe_keys} dedupe keys into {DEDUPE}")
        lines += ["BEGIN;", f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}';"]
        lines += [f"{statement};" for statement in self.switch]
        lines.append("COMMIT;")
        return "\n".join(lines)


def require_postgresql() -> None:
    if connection.vendor != "postgresql":
        raise PartitioningError(
            f"Partitioning the event table needs PostgreSQL; this database is {connection.vendor}."
        )


def enabled() -> bool:
    """``EVENTS["partitioning"]`` is "monthly" and the database is PostgreSQL."""
    return conf.get("EVENTS", "partitioning") == "monthly" and connection.vendor == "postgresql"


def is_partitioned() -> bool:
    """The event table is partitioned (PostgreSQL; False elsewhere)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relkind = 'p' FROM pg_class c WHERE c.oid = to_regclass(%s)", [TABLE]
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def month_start(at: datetime, months: int = 0) -> datetime:
    """The first instant (UTC) of the month ``months`` after the one ``at`` falls in."""
    at = at.astimezone(UTC)
    index = at.year * 12 + at.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def _name(start: datetime) -> str:
    return f"{TABLE}_p{start:%Y%m}"


def _literal(at: datetime) -> str:
    return f"'{at.astimezone(UTC).isoformat()}'"


_BOUND = re.compile(r"FROM \((.+?)\) TO \((.+?)\)")


def _parse_bound(text: str) -> datetime | None:
    if text == "MINVALUE":
        return None
    value = text.strip("'")
    value = re.sub(r"([+-]\d\d)$", r"\1:00", value)
    return datetime.fromisoformat(value).astimezone(UTC)


def partitions() -> list[Partition]:
    """The event table's partitions, oldest first, the DEFAULT one last."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
            [TABLE],
        )
        rows = cursor.fetchall()
    found: list[Partition] = []
    for name, bound in rows:
        match = _BOUND.search(bound)
        if match is None:
            found.append(Partition(name, None, None, default=True))
        else:
            found.append(Partition(name, _parse_bound(match[1]), _parse_bound(match[2])))
    return sorted(found, key=lambda p: (p.default, p.start or datetime.min.replace(tzinfo=UTC)))


def _fetch(sql: str, params: list[str]) -> list[tuple[str, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def conversion_plan(now: datetime | None = None) -> Plan:
    """The SQL that turns the plain event table into a monthly partitioned one, read from
    the live schema (its indexes, the foreign keys that point at it). Raises
    ``PartitioningError`` when it is partitioned already."""
    require_postgresql()
    if is_partitioned():
        raise PartitioningError("The event table is partitioned already; nothing to do.")
    bound = month_start(now or timezone.now(), 1)
    old = f"{TABLE}_pre_{bound:%Y%m}"
    plan = Plan(bound=f"{old}_bound")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(dedupe_key) FROM {TABLE}")  # noqa: S608
        plan.dedupe_keys = int(cursor.fetchone()[0])
    plan.concurrent = [
        # The partition's counterparts of the parent's keys, built without blocking writes,
        # so that ATTACH PARTITION finds them instead of building them under its lock.
        f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {old}_id_time ON {TABLE} (id, created_at)",
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {old}_dedupe ON {TABLE} "
        "(dedupe_key, tenant_id) WHERE dedupe_key IS NOT NULL",
        # Proves every row is before the bound, so ATTACH does not scan the table.
        f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {old}_bound",
        f"ALTER TABLE {TABLE} ADD CONSTRAINT {old}_bound CHECK (created_at < "
        f"{_literal(bound)}) NOT VALID",
        f"ALTER TABLE {TABLE} VALIDATE CONSTRAINT {old}_bound",
    ]
    foreign_keys = _fetch(
        "SELECT conrelid::regclass::text, conname FROM pg_constraint "
        "WHERE contype = 'f' AND confrelid = to_regclass(%s) ORDER BY 1, 2",
        [TABLE],
    )
    indexes = _fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
        "AND indexname NOT LIKE %s ORDER BY indexname",
        [TABLE, f"{TABLE}_pre_%"],
    )
    tenant_fk = _fetch(
        "SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid = to_regclass(%s)",
        [TABLE],
    )
    switch = [f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE"]
    switch += [f'ALTER TABLE {table} DROP CONSTRAINT "{name}"' for table, name in foreign_keys]
    recreate: list[str] = []
    for name, definition in indexes:
        if name == f"{TABLE}_pkey":
            continue
        if name == "automate_event_unique_dedupe_key":
            # Replaced by the side table (a partition cannot enforce it across months).
            switch.append(f'DROP INDEX "{name}"')
            continue
        switch.append(f'ALTER INDEX "{name}" RENAME TO "{old}_{name.removeprefix(TABLE + "_")}"')
        recreate.append(definition.replace(" ON public.", " ON "))
    switch += [
        # The partition's (id, created_at) index built above takes the primary key's place.
        f"ALTER TABLE {TABLE} DROP CONSTRAINT {TABLE}_pkey",
        f"ALTER TABLE {TABLE} RENAME TO {old}",
        f"CREATE TABLE {TABLE} (LIKE {old} INCLUDING DEFAULTS) PARTITION BY RANGE (created_at)",
        f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id, created_at)",
    ]
    switch += [
        f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" FOREIGN KEY (tenant_id) REFERENCES '
        "automate_tenant (id) DEFERRABLE INITIALLY DEFERRED"
        for (name,) in tenant_fk
    ]
    switch += recreate
    switch += [
        f"CREATE INDEX {DEDUPE_LOOKUP} ON {TABLE} (dedupe_key, tenant_id) "
        "WHERE dedupe_key IS NOT NULL",
        f"ALTER TABLE {TABLE} ATTACH PARTITION {old} FOR VALUES FROM (MINVALUE) TO "
        f"({_literal(bound)})",
        f"ALTER TABLE {old} DROP CONSTRAINT {old}_bound",
        f"CREATE TABLE {DEFAULT} PARTITION OF {TABLE} DEFAULT",
        f"CREATE TABLE {DEDUPE} (dedupe_key varchar(255) NOT NULL, tenant_id bigint NOT NULL, "
        "event_id uuid NOT NULL, PRIMARY KEY (dedupe_key, tenant_id))",
        f"CREATE INDEX {DEDUPE}_event ON {DEDUPE} (event_id)",
        f"INSERT INTO {DEDUPE} SELECT dedupe_key, tenant_id, id FROM {old} "  # noqa: S608
        "WHERE dedupe_key IS NOT NULL",
        f"CREATE FUNCTION {TRIGGER_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "  # noqa: S608
        # An UPDATE of the key or tenant frees the old key and takes the new one (a key
        # already used fails with a unique violation, as with the plain table's index).
        f"IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.dedupe_key IS NOT NULL THEN DELETE FROM "
        f"{DEDUPE} WHERE dedupe_key = OLD.dedupe_key AND tenant_id = OLD.tenant_id "
        "AND event_id = OLD.id; END IF; "
        f"IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.dedupe_key IS NOT NULL THEN INSERT INTO "
        f"{DEDUPE} VALUES (NEW.dedupe_key, NEW.tenant_id, NEW.id); END IF; RETURN NULL; END $$",
        f"CREATE TRIGGER {TABLE}_dedupe_insert AFTER INSERT ON {TABLE} FOR EACH ROW "
        f"WHEN (NEW.dedupe_key IS NOT NULL) EXECUTE FUNCTION {TRIGGER_FUNCTION}()",
        f"CREATE TRIGGER {TABLE}_dedupe_delete AFTER DELETE ON {TABLE} FOR EACH ROW "
        f"WHEN (OLD.dedupe_key IS NOT NULL) EXECUTE FUNCTION {TRIGGER_FUNCTION}()",
        f"CREATE TRIGGER {TABLE}_dedupe_update AFTER UPDATE OF dedupe_key, tenant_id ON "
        f"{TABLE} FOR EACH ROW WHEN (OLD.dedupe_key IS DISTINCT FROM NEW.dedupe_key OR "
        "OLD.tenant_id IS DISTINCT FROM NEW.tenant_id) "
        f"EXECUTE FUNCTION {TRIGGER_FUNCTION}()",
    ]
    plan.switch = switch
    return plan


def revert_plan() -> Plan:
    """The SQL back to one plain table: Django's own table, keys and indexes, every row
    copied over (under an ACCESS EXCLUSIVE lock: writes wait for the copy), the foreign keys
    of runs and outbox jobs restored. Raises ``PartitioningError`` when not partitioned."""
    require_postgresql()
    if not is_partitioned():
        raise PartitioningError("The event table is not partitioned; nothing to revert.")
    from automate.events.models import Event

    indexes = _fetch(
        "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexname <> %s",
        [TABLE, f"{TABLE}_pkey"],
    )
    with connection.schema_editor(collect_sql=True) as editor:
        editor.create_model(Event)
    create = [str(s).rstrip(";") for s in editor.collected_sql]
    columns = ", ".join(str(f.column) for f in Event._meta.concrete_fields)
    plan = Plan()
    plan.switch = [
        f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE",
        *[f'DROP INDEX "{name}"' for (name,) in indexes],
        f"ALTER TABLE {TABLE} DROP CONSTRAINT {TABLE}_pkey",
        f"ALTER TABLE {TABLE} RENAME TO {TABLE}_partitioned",
        *create,
        f"INSERT INTO {TABLE} ({columns}) SELECT {columns} FROM {TABLE}_partitioned",  # noqa: S608
        f"DROP TABLE {TABLE}_partitioned CASCADE",
        f"DROP TABLE {DEDUPE}",
        f"DROP FUNCTION {TRIGGER_FUNCTION}()",
        "ALTER TABLE automate_outboxjob ADD CONSTRAINT automate_outboxjob_event_id_fk "
        f"FOREIGN KEY (event_id) REFERENCES {TABLE} (id) DEFERRABLE INITIALLY DEFERRED",
        "ALTER TABLE automate_executionrun ADD CONSTRAINT automate_executionrun_event_id_fk "
        f"FOREIGN KEY (event_id) REFERENCES {TABLE} (id) DEFERRABLE INITIALLY DEFERRED",
    ]
    return plan


def apply(plan: Plan) -> None:
    """Run ``plan``: its concurrent statements (autocommit; the ``ALTER``s among them wait
    at most ``LOCK_TIMEOUT`` for their lock, the index builds wait for open transactions),
    then its switch in one transaction that waits at most ``LOCK_TIMEOUT`` for each lock.

    On any failure the CHECK constraint phase 1 added to the live table is dropped again
    (else every event insert would fail from next month on) and ``PartitioningError`` says
    the table is unchanged and why."""
    if connection.in_atomic_block and plan.concurrent:
        raise PartitioningError("Run this outside a transaction (indexes are built concurrently).")
    try:
        with connection.cursor() as cursor:
            for statement in plan.concurrent:
                if statement.startswith("ALTER TABLE"):
                    _with_lock_timeout(cursor, statement)
                else:
                    cursor.execute(statement)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            for statement in plan.switch:
                cursor.execute(statement)
    except DatabaseError as exc:
        left = _drop_bound(plan.bound) if plan.bound else None
        raise PartitioningError(_failure(exc, left)) from exc


def _with_lock_timeout(cursor: Any, statement: str) -> None:
    cursor.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
    try:
        cursor.execute(statement)
    finally:
        cursor.execute("RESET lock_timeout")


def _failure(exc: DatabaseError, left: str | None) -> str:
    cause = getattr(exc, "__cause__", None)
    if getattr(cause, "sqlstate", None) == LOCK_NOT_AVAILABLE:
        reason = (
            f"A lock was not granted within {LOCK_TIMEOUT}: a long transaction held "
            f"{TABLE} or a table that refers to it (see pg_stat_activity). Run --apply "
            "again once it has ended."
        )
    else:
        reason = f"The database refused a statement: {exc}".strip()
    if left:
        return (
            f"The event table is still one plain table, but its CHECK constraint {left} "
            f"could not be dropped: drop it before the first of next month (ALTER TABLE "
            f"{TABLE} DROP CONSTRAINT IF EXISTS {left}), or every event insert will fail "
            f"then. {reason}"
        )
    return (
        "Nothing changed: the event table is still one plain table (the indexes built "
        f"concurrently stay, and the next --apply reuses them). {reason}"
    )


def leftover_bounds() -> list[str]:
    """CHECK constraints a failed ``--apply`` left on the plain event table (each makes
    every insert fail from its month on); empty when partitioned or on another database."""
    if connection.vendor != "postgresql" or is_partitioned():
        return []
    rows = _fetch(
        "SELECT conname FROM pg_constraint WHERE contype = 'c' AND conrelid = to_regclass(%s) "
        "AND conname LIKE %s ORDER BY conname",
        [TABLE, f"{TABLE}_pre_%_bound"],
    )
    return [name for (name,) in rows]


def _drop_bound(name: str) -> str | None:
    """Drop ``name`` from the plain table (autocommit, a few tries each within
    ``LOCK_TIMEOUT``). Returns ``name`` when it is still there."""
    if name not in leftover_bounds():
        return None
    for _ in range(3):
        try:
            with connection.cursor() as cursor:
                _with_lock_timeout(cursor, f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {name}")
            return None
        except DatabaseError:
            logger.warning("Dropping %s did not get its lock; trying again", name)
    return name


def ensure_ahead(months: int, now: datetime | None = None) -> list[str]:
    """Create the partitions of the current month and the ``months`` after it that are
    missing; rows the DEFAULT partition holds for such a month move into it. Returns the
    names created. Raises ``PartitioningError`` when the table is not partitioned."""
    require_postgresql()
    if not is_partitioned():
        raise PartitioningError(
            "The event table is not partitioned: run manage.py automate_partition_events "
            "--apply first."
        )
    now = now or timezone.now()
    existing = [p for p in partitions() if not p.default]
    created: list[str] = []
    for n in range(months + 1):
        start, end = month_start(now, n), month_start(now, n + 1)
        if any(_overlaps(p, start, end) for p in existing):
            continue
        _create_month(start, end)
        created.append(_name(start))
    return created


def _overlaps(partition: Partition, start: datetime, end: datetime) -> bool:
    low = partition.start or datetime.min.replace(tzinfo=UTC)
    high = partition.end or datetime.max.replace(tzinfo=UTC)
    return low < end and start < high


def _create_month(start: datetime, end: datetime) -> None:
    name = _name(start)
    span = f"created_at >= {_literal(start)} AND created_at < {_literal(end)}"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        # A table of its own first, attached after: ATTACH locks the parent only against
        # other schema changes (SHARE UPDATE EXCLUSIVE), not against reads and writes.
        cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS)")
        cursor.execute(f"ALTER TABLE {name} ADD CONSTRAINT {name}_bound CHECK ({span})")
        # Rows that landed in DEFAULT for this month move (deleting them there frees their
        # dedupe keys: they are taken again right after).
        cursor.execute(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE {span} RETURNING *) "  # noqa: S608
            f"INSERT INTO {name} SELECT * FROM moved"
        )
        cursor.execute(
            f"INSERT INTO {DEDUPE} SELECT dedupe_key, tenant_id, id FROM {name} "  # noqa: S608
            "WHERE dedupe_key IS NOT NULL"
        )
        cursor.execute(
            f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM "
            f"({_literal(start)}) TO ({_literal(end)})"
        )
        cursor.execute(f"ALTER TABLE {name} DROP CONSTRAINT {name}_bound")
    logger.info("Event partition %s created", name)


class _Skip(Exception):
    """A month turned out to hold a job still needed: roll its transaction back."""


def drop_expired(cutoff: datetime, dead_letters: datetime) -> tuple[int, int]:
    """Drop each partition whose every event is before ``cutoff`` and none still needed
    (``retention.plan``: no run refers to it, no job still to do, no dead letter younger
    than ``dead_letters``), with the outbox jobs of its events and their dedupe keys.
    Returns ``(partitions dropped, events in them)``; one short transaction each.

    Inside that transaction the partition is locked (no event of it is written), its jobs
    are locked (a retry or replay waits) and the check is made again; only jobs the batched
    prune would delete go (COMPLETED, or dead letters of events before ``dead_letters``).
    A month with any other job is skipped and left to the batches."""
    from django.db.models import Exists, OuterRef, Q

    from automate.events.models import Event
    from automate.execution.models import ExecutionRun, OutboxJob
    from automate.retention.plan import DEAD_LETTER, _needed_events

    dropped = rows = 0
    jobs = OutboxJob._meta.db_table
    for partition in partitions():
        if partition.default or partition.end is None or partition.end > cutoff:
            continue
        span = Q(created_at__lt=partition.end)
        if partition.start is not None:
            span &= Q(created_at__gte=partition.start)
        runs = ExecutionRun.objects.filter(event=OuterRef("pk"))
        kept = Event.objects.filter(span).filter(Q(Exists(runs)) | _needed_events(dead_letters))
        if kept.exists():
            continue
        events = f"SELECT id FROM {partition.name}"  # noqa: S608 (a catalog name)
        # What the batched prune deletes with an event: its done jobs, its dead letters
        # once past dead_letter_days (``retention.plan._needed_events``).
        deletable = (
            "status = %s OR (status IN (%s, %s) AND event_id IN "  # noqa: S608 (a catalog name)
            f"(SELECT id FROM {partition.name} WHERE created_at < %s))"
        )
        deletable_params: list[str | datetime] = [
            OutboxJob.Status.COMPLETED.value,
            *(str(s) for s in DEAD_LETTER),
            dead_letters,
        ]
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                cursor.execute(f"LOCK TABLE {partition.name} IN SHARE MODE")
                cursor.execute(
                    f"SELECT id FROM {jobs} WHERE event_id IN ({events}) FOR UPDATE"  # noqa: S608
                )
                if kept.exists():
                    raise _Skip
                cursor.execute(
                    f"DELETE FROM {jobs} WHERE event_id IN ({events}) AND ({deletable})",  # noqa: S608
                    deletable_params,
                )
                cursor.execute(
                    f"SELECT EXISTS (SELECT 1 FROM {jobs} WHERE event_id IN ({events}))"  # noqa: S608
                )
                if cursor.fetchone()[0]:
                    raise _Skip
                cursor.execute(
                    f"DELETE FROM {DEDUPE} WHERE event_id IN ({events})"  # noqa: S608
                )
                cursor.execute(f"SELECT count(*) FROM {partition.name}")  # noqa: S608
                count = int(cursor.fetchone()[0])
                cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {partition.name}")
                cursor.execute(f"DROP TABLE {partition.name}")
        except _Skip:
            logger.info(
                "Event partition %s still holds a job needed; left to the batches", partition.name
            )
            continue
        logger.info("Event partition %s dropped (%s events)", partition.name, count)
        dropped += 1
        rows += count
    return dropped, rows


_state_lock = threading.Lock()
_last_try = 0.0
_warned = False


def ensure_partitions_if_due() -> list[str]:
    """The worker duty: with ``EVENTS["partitioning"] = "monthly"``, once an hour per
    process, create the months ahead (``EVENTS["partitions_ahead"]``). Logs a warning once
    when the table was not converted yet; returns the partitions created."""
    global _last_try, _warned
    if not enabled():
        return []
    with _state_lock:
        now = time.monotonic()
        if _last_try and now - _last_try < ENSURE_INTERVAL:
            return []
        _last_try = now
    if not is_partitioned():
        if not _warned:
            _warned = True
            logger.warning(
                'EVENTS["partitioning"] is "monthly" but the event table is not partitioned '
                "yet: run manage.py automate_partition_events --apply."
            )
        return []
    try:
        return ensure_ahead(int(conf.get("EVENTS", "partitions_ahead")))
    except Exception:
        # A lock not granted in time (another worker is at it): retried in an hour.
        logger.exception("Creating event partitions ahead failed")
        return []


def reset() -> None:
    """Forget when this process last created partitions (tests)."""
    global _last_try, _warned
    with _state_lock:
        _last_try = 0.0
        _warned = False


def rows_in(partition: Partition) -> int:
    """How many events ``partition`` holds (an exact count: reads the partition)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {partition.name}")  # noqa: S608 (a catalog name)
        return int(cursor.fetchone()[0])
