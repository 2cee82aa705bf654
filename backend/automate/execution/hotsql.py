"""Precompiled statements for the worker's hot path (no ORM compilation per call).

The ORM costs about as much as the round trip for the small statements a step writes
(``bulk_update`` builds a CASE expression per field, ``save`` compiles an UPDATE per row),
so the group commit of ``step_batch`` writes its rows with ``executemany`` of fixed SQL.
Values go through the model fields' own ``get_db_prep_value`` (JSON, UUIDs, datetimes),
so the rows are exactly what the ORM would have written, on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection

from automate.execution.models import ExecutionRun, StepRun


def _prep(model: Any, name: str, value: Any) -> Any:
    return model._meta.get_field(name).get_db_prep_value(value, connection, prepared=False)


_STEP_TABLE = StepRun._meta.db_table
_RUN_TABLE = ExecutionRun._meta.db_table

_FINISH_STEP = (
    f"UPDATE {_STEP_TABLE} SET status = %s, outputs = %s, finished_at = %s, "  # noqa: S608
    f"duration_ms = %s WHERE id = %s AND status = '{StepRun.Status.RUNNING}'"
)  # only while still running: a worker that took the job over may have marked it FAILED
_FINISH_RUN = (
    f"UPDATE {_RUN_TABLE} SET status = %s, finished_at = %s, outputs = %s "  # noqa: S608
    "WHERE id = %s"
)


def finish_steps(steps: Iterable[StepRun]) -> None:
    """Write status, outputs, finished_at and duration_ms of each step (one ``executemany``)."""
    rows = [
        (
            step.status,
            _prep(StepRun, "outputs", step.outputs),
            _prep(StepRun, "finished_at", step.finished_at),
            step.duration_ms,
            _prep(StepRun, "id", step.pk),
        )
        for step in steps
    ]
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(_FINISH_STEP, rows)


def finish_runs(runs: Iterable[ExecutionRun]) -> None:
    """Write status, finished_at and outputs of each run (one ``executemany``)."""
    rows = [
        (
            run.status,
            _prep(ExecutionRun, "finished_at", run.finished_at),
            _prep(ExecutionRun, "outputs", run.outputs),
            _prep(ExecutionRun, "id", run.pk),
        )
        for run in runs
    ]
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(_FINISH_RUN, rows)
