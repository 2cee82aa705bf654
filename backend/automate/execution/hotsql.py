"""Precompiled statements for the worker's hot path (no ORM compilation per call).

The ORM costs about as much as the round trip for the small statements a step writes
(``bulk_update`` builds a CASE expression per field, ``save`` compiles an UPDATE per row),
so the group commit of ``step_batch`` writes its rows in one ``UPDATE … FROM unnest(…)``
on PostgreSQL (one statement for the batch, one array per column) and with ``executemany``
of fixed SQL elsewhere.
Values are what the model fields' own ``get_db_prep_save`` gives (JSON, UUIDs, datetimes;
``rowinsert.values_of``, which reads the plain types directly), so the rows are exactly
what the ORM would have written, on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection

from automate.execution import pgarray
from automate.execution.models import ExecutionRun, StepRun
from automate.execution.rowinsert import values_of
from automate.execution.rowload import hot_cursor

_STEP_TABLE = StepRun._meta.db_table
_RUN_TABLE = ExecutionRun._meta.db_table

# Only while still running: a worker that took the job over may have marked it FAILED.
_STILL_RUNNING = f"status = '{StepRun.Status.RUNNING}'"
_FINISH_STEP = (
    f"UPDATE {_STEP_TABLE} SET status = %s, outputs = %s, finished_at = %s, "  # noqa: S608
    f"duration_ms = %s WHERE id = %s AND {_STILL_RUNNING}"
)
_FINISH_RUN = (
    f"UPDATE {_RUN_TABLE} SET status = %s, finished_at = %s, outputs = %s "  # noqa: S608
    "WHERE id = %s"
)


def _unnest_update(table: str, columns: tuple[tuple[str, str], ...], only: str = "") -> str:
    """PostgreSQL: one ``UPDATE … FROM unnest(…)`` taking one array per column (the last
    column is the id); ``columns`` are ``(name, type)`` pairs. Its text and parameters are
    the same whatever the number of rows, so psycopg parses it once."""
    names = ", ".join(name for name, _ in columns)
    sets = ", ".join(f"{name} = v.{name}" for name, _ in columns[:-1])
    arrays = ", ".join(f"%s::{kind}[]" for _, kind in columns)
    id_name = columns[-1][0]
    return (
        f"UPDATE {table} AS t SET {sets} FROM unnest({arrays}) AS v({names}) "  # noqa: S608
        f"WHERE t.{id_name} = v.{id_name}{f' AND t.{only}' if only else ''}"
    )


def _write(
    sql: str, table: str, columns: tuple[tuple[str, str], ...], rows: list[Any], only: str = ""
) -> None:
    """``sql`` once per row (``executemany``), or on PostgreSQL one ``UPDATE … FROM
    unnest(…)`` with the same extra condition ``only`` (a condition on the target row)."""
    if not rows:
        return
    with hot_cursor(connection) as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                _unnest_update(table, columns, only),
                [pgarray.param(column) for column in zip(*rows, strict=True)],
            )
        else:
            cursor.executemany(sql, rows)


_STEP_COLUMNS = (
    ("status", "varchar"),
    ("outputs", "jsonb"),
    ("finished_at", "timestamptz"),
    ("duration_ms", "integer"),
    ("id", "uuid"),
)
_RUN_COLUMNS = (
    ("status", "varchar"),
    ("finished_at", "timestamptz"),
    ("outputs", "jsonb"),
    ("id", "uuid"),
)


def _step_rows(steps: list[StepRun]) -> list[list[Any]]:
    return values_of(steps, [name for name, _ in _STEP_COLUMNS])


def finish_steps(steps: Iterable[StepRun]) -> None:
    """Write status, outputs, finished_at and duration_ms of each step (one ``executemany``)."""
    _write(_FINISH_STEP, _STEP_TABLE, _STEP_COLUMNS, _step_rows(list(steps)), _STILL_RUNNING)


def finish_runs(runs: Iterable[ExecutionRun]) -> None:
    """Write status, finished_at and outputs of each run (one ``executemany``)."""
    rows = values_of(list(runs), [name for name, _ in _RUN_COLUMNS])
    _write(_FINISH_RUN, _RUN_TABLE, _RUN_COLUMNS, rows)


def complete_steps(
    steps: list[StepRun], job_ids: list[int], held: str, held_params: list[Any]
) -> set[int]:
    """PostgreSQL: complete the jobs ``held`` completes (``store.success_query``: only those
    this worker still holds) and, in the same statement, write each step of ``steps`` whose
    job (``job_ids[i]`` for ``steps[i]``) it completed, as ``finish_steps`` does; returns
    the ids of the jobs completed. One statement instead of two; the steps of jobs whose
    lease was lost are not written, as before."""
    if not steps:
        return set()
    names = ", ".join(name for name, _ in _STEP_COLUMNS)
    sets = ", ".join(f"{name} = v.{name}" for name, _ in _STEP_COLUMNS[:-1])
    arrays = ", ".join(f"%s::{kind}[]" for _, kind in _STEP_COLUMNS)
    sql = (
        f"WITH done AS ({held}), steps AS (UPDATE {_STEP_TABLE} AS t SET {sets} "  # noqa: S608
        f"FROM unnest(%s::bigint[], {arrays}) AS v(job_id, {names}) "
        f"JOIN done ON done.id = v.job_id WHERE t.id = v.id AND t.{_STILL_RUNNING}) "
        "SELECT id FROM done"
    )
    columns = [pgarray.param(column) for column in zip(*_step_rows(steps), strict=True)]
    params = [*held_params, pgarray.param(job_ids), *columns]
    with hot_cursor(connection) as cursor:
        cursor.execute(sql, params)
        return {int(row[0]) for row in cursor.fetchall()}
