"""Precompiled SELECTs for a step batch's loads: model instances without ORM compilation.

Compiling a ``select_related`` query costs more CPU than its round trip for the small loads
a batch makes (its runs with version, workflow, event and tenant; their StepRuns; the runs
locked at finish; the latest StepRuns and queued jobs of ``run_state.load_states_of``). The
SQL here is built once per shape (and per length of the id list); rows become instances
through each field's own database converters and ``Model.from_db``, exactly as the ORM
builds them, on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Model, signals
from django.db.models.base import ModelState

from automate.events.models import Event
from automate.execution import pgarray
from automate.execution.models import ExecutionRun, OutboxJob, StepRun
from automate.tenants.models import Tenant
from automate.workflows.models import Workflow, WorkflowVersion

Converter = Callable[[Any, Any, Any], Any]


def _quote(name: str) -> str:
    return f'"{name}"'


class Columns:
    """The concrete columns of ``model`` (or the ``only`` ones, or all but ``defer``) under
    ``alias``. Fields not read are deferred on the instances built, as ``QuerySet.defer``
    leaves them: reading one loads it with a query of its own."""

    def __init__(
        self,
        model: type[Model],
        alias: str,
        only: Sequence[str] | None = None,
        defer: Sequence[str] = (),
    ) -> None:
        self.model = model
        fields = [field for field in model._meta.concrete_fields if field.name not in defer]
        if only is not None:
            fields = [model._meta.get_field(name) for name in only]  # type: ignore[misc]
        self.fields = fields
        self.attnames = [field.attname for field in fields]
        self.sql = ", ".join(f"{alias}.{_quote(str(field.column))}" for field in fields)
        self.alias = alias
        self._plain: bool | None = None
        self._converters: dict[str, list[tuple[int, list[Converter], Any]]] = {}

    def __len__(self) -> int:
        return len(self.fields)

    def _converters_for(self, conn: Any) -> list[tuple[int, list[Converter], Any]]:
        found = self._converters.get(conn.vendor)
        if found is None:
            found = []
            for index, field in enumerate(self.fields):
                column = field.get_col(self.alias)
                converters = conn.ops.get_db_converters(column) + field.get_db_converters(conn)
                if converters:
                    found.append((index, converters, column))
            self._converters[conn.vendor] = found
        return found

    def values(self, conn: Any, row: Sequence[Any], offset: int = 0) -> list[Any]:
        """This model's values of ``row`` (from ``offset``), converted as the ORM does;
        ``conn`` is the connection that read it."""
        values = list(row[offset : offset + len(self.fields)])
        for index, converters, column in self._converters_for(conn):
            value = values[index]
            for convert in converters:
                value = convert(value, column, conn)
            values[index] = value
        return values

    def build(self, conn: Any, row: Sequence[Any], offset: int = 0) -> Any:
        """The instance of this model read from ``row`` (this object's columns)."""
        values = self.values(conn, row, offset)
        model = self.model
        if self._plain is None:  # receivers connect at start-up, before any worker runs
            self._plain = not _has_init_receivers(model)
        if not self._plain:
            return model.from_db(conn.alias, self.attnames, values)
        # What ``Model.from_db`` leaves, without ``__init__``'s per-field descriptor calls
        # (a third of a step batch's CPU went there): each value read stored under its
        # attname (a field not read stays deferred), the state of an instance loaded from
        # ``conn``.
        obj = model.__new__(model)
        obj.__dict__.update(zip(self.attnames, values, strict=True))
        state = ModelState()
        state.adding = False
        state.db = conn.alias
        obj._state = state
        return obj


def _has_init_receivers(model: type[Model]) -> bool:
    return signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model)


_RUN = Columns(ExecutionRun, "r")
#: What may change in a run's row while a worker runs its steps (``lock_runs``).
_RUN_STATE = Columns(
    ExecutionRun, "r", only=("id", "status", "outputs", "error", "started_at", "finished_at")
)
_VERSION = Columns(WorkflowVersion, "v")
# Not what a step needs, and the largest columns: the draft's JSON and the raw request body.
_WORKFLOW = Columns(
    Workflow, "w", defer=("description", "draft_trigger_spec", "draft_rule_spec", "draft_graph")
)
_EVENT = Columns(Event, "e", defer=("raw_body",))
_TENANT = Columns(Tenant, "t")
_STEP = Columns(StepRun, "s")
_QUEUED = Columns(OutboxJob, "j", only=("run", "node_id"))
#: Every column of an outbox job under the alias ``j`` (``RETURNING`` of the claim).
JOB_COLUMNS = Columns(OutboxJob, "j")

_RUNS_WITH = (
    f"SELECT {_RUN.sql}, {_EVENT.sql} "  # noqa: S608
    f"FROM {_quote(ExecutionRun._meta.db_table)} r "
    f"JOIN {_quote(Event._meta.db_table)} e ON e.id = r.event_id "
    "WHERE r.id {ids}"
)
_VERSIONS_WITH = (
    f"SELECT {_VERSION.sql}, {_WORKFLOW.sql}, {_TENANT.sql} "  # noqa: S608
    f"FROM {_quote(WorkflowVersion._meta.db_table)} v "
    f"JOIN {_quote(Workflow._meta.db_table)} w ON w.id = v.workflow_id "
    f"JOIN {_quote(Tenant._meta.db_table)} t ON t.id = w.tenant_id "
    "WHERE v.id {ids}"
)
_RUNS_LOCK = (
    f"SELECT {_RUN_STATE.sql} FROM {_quote(ExecutionRun._meta.db_table)} r "  # noqa: S608
    "WHERE r.id {ids} ORDER BY r.id"
)
_STEPS_OF = (
    f"SELECT {_STEP.sql} FROM {_quote(StepRun._meta.db_table)} s "  # noqa: S608
    "WHERE s.run_id {ids}{current} ORDER BY s.attempt"
)


_STATES_OF = (
    f"SELECT {_STEP.sql}, {', '.join(['NULL'] * len(_QUEUED))} "  # noqa: S608
    f"FROM {_quote(StepRun._meta.db_table)} s "
    "WHERE s.run_id {ids} AND s.is_current = %s "
    f"UNION ALL SELECT {', '.join(['NULL'] * len(_STEP))}, {_QUEUED.sql} "
    f"FROM {_quote(OutboxJob._meta.db_table)} j "
    "WHERE j.run_id {ids} AND j.kind = %s AND j.status IN (%s, %s) "
    f"ORDER BY {StepRun._meta.concrete_fields.index(StepRun._meta.get_field('attempt')) + 1}"
)


def pk_condition(
    conn: Any, pks: Sequence[Any], model: type[Model] = ExecutionRun
) -> tuple[str, list[Any]]:
    """``(condition, params)`` matching a column against the primary keys ``pks`` of
    ``model``: ``= ANY(%s)`` with one array on PostgreSQL (one statement text whatever the
    count, parsed once), ``IN (%s, …)`` elsewhere."""
    pk = model._meta.pk
    assert pk is not None
    params = [pk.get_db_prep_value(value, conn, prepared=False) for value in pks]
    if conn.vendor == "postgresql":
        return f"= ANY(%s::{pk.rel_db_type(conn)}[])", [pgarray.param(params)]
    return f"IN ({', '.join(['%s'] * len(params))})", params


def hot_cursor(conn: Any) -> Any:
    """A cursor of ``conn`` for the worker's hot statements: on PostgreSQL psycopg's own
    ``Cursor``, which binds parameters on the server (as Django's ``server_side_binding``
    option makes every cursor do), so the values travel beside the statement instead of
    being quoted into its text in Python (that quoting was about a sixth of a step batch's
    CPU); elsewhere ``conn.cursor()``. Statements use ``%s`` placeholders either way; query
    logging and error wrapping are Django's."""
    if conn.vendor != "postgresql":
        return conn.cursor()
    import psycopg  # a dependency of the project (psycopg[binary])

    conn.ensure_connection()
    conn.validate_thread_sharing()
    with conn.wrap_database_errors:
        cursor = psycopg.Cursor(conn.connection)
    return conn.make_debug_cursor(cursor) if conn.queries_logged else conn.make_cursor(cursor)


def fetch_rows(conn: Any, sql: str, params: list[Any]) -> list[Any]:
    """Every row ``sql`` returns, read through ``hot_cursor``."""
    with hot_cursor(conn) as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def insert(objs: Sequence[Model], *, savepoint: bool = True) -> None:
    """INSERT new instances of one model in one statement, as ``bulk_create`` writes them
    (each field's ``pre_save`` and ``get_db_prep_save``), without its transaction: one
    statement is atomic on its own, so this is one round trip, not BEGIN, INSERT, COMMIT.
    Inside an atomic block it takes a savepoint, so an ``IntegrityError`` leaves the outer
    transaction usable (``savepoint=False`` when the caller leaves the block on an error
    anyway). Instances must have their primary key set (UUIDs).

    On PostgreSQL the rows travel as one array per column (``INSERT … SELECT * FROM
    unnest(…)``): the statement's text and its number of parameters stay the same whatever
    the number of rows, so psycopg parses it once (it re-parses statements with more than
    50 parameters on every call: a sixth of a step batch's CPU went there)."""
    if not objs:
        return
    conn = connections[DEFAULT_DB_ALIAS]
    model = type(objs[0])
    table, fields = _INSERTS.get(model, (None, None))
    if table is None or fields is None:
        fields = list(model._meta.concrete_fields)
        table = _quote(model._meta.db_table)
        _INSERTS[model] = (table, fields)
    postgres = conn.vendor == "postgresql"
    size = max(1, conn.ops.bulk_batch_size(fields, objs))
    if not postgres and len(objs) > size:  # SQLite's limit on parameters per statement
        for start in range(0, len(objs), size):
            insert(objs[start : start + size], savepoint=savepoint)
        return
    columns = ", ".join(_quote(str(field.column)) for field in fields)
    rows = [
        [field.get_db_prep_save(field.pre_save(obj, True), conn) for field in fields]
        for obj in objs
    ]
    params: list[Any]
    if postgres:
        arrays = ", ".join(f"%s::{field.db_type(conn)}[]" for field in fields)
        sql = f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays})"  # noqa: S608
        params = [pgarray.param(column) for column in zip(*rows, strict=True)]
    else:
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(objs))}"  # noqa: S608
        params = [value for values in rows for value in values]
    if conn.in_atomic_block and savepoint:
        with transaction.atomic():
            _execute(conn, sql, params)
    else:
        _execute(conn, sql, params)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = conn.alias


_INSERTS: dict[type[Model], tuple[str, list[Any]]] = {}


def insert_fenced(
    objs: Sequence[Model], keys: Sequence[int], fence: str, fence_params: list[Any]
) -> set[Any]:
    """PostgreSQL, outside a transaction: INSERT the instances whose key (``keys[i]`` for
    ``objs[i]``) is an id the ``fence`` query returns, in one statement with that query
    (``WITH held AS (fence) INSERT … SELECT … FROM unnest(…) JOIN held``); returns the
    primary keys inserted. One statement is one transaction: the fence's row locks and the
    rows commit together, with no BEGIN and COMMIT round trips. The join reads every row
    the fence returns, so every key is checked (and its row locked) before the commit.
    Raises ``IntegrityError`` with nothing written when a row is refused."""
    if not objs:
        return set()
    conn = connections[DEFAULT_DB_ALIAS]
    assert conn.vendor == "postgresql"
    assert not conn.in_atomic_block
    model = type(objs[0])
    fields = list(model._meta.concrete_fields)
    pk = model._meta.pk
    assert pk is not None
    names = [_quote(str(field.column)) for field in fields]
    arrays = ", ".join(f"%s::{field.db_type(conn)}[]" for field in fields)
    picked = ", ".join(f"v.{name}" for name in names)
    sql = (
        f"WITH held AS ({fence}) INSERT INTO {_quote(model._meta.db_table)} "  # noqa: S608
        f"({', '.join(names)}) SELECT {picked} FROM unnest(%s::bigint[], {arrays}) "
        f"AS v(held_key, {', '.join(names)}) JOIN held ON held.id = v.held_key "
        f"RETURNING {_quote(str(pk.column))}"
    )
    rows = [
        [field.get_db_prep_save(field.pre_save(obj, True), conn) for field in fields]
        for obj in objs
    ]
    columns = (pgarray.param(column) for column in zip(*rows, strict=True))
    params = [*fence_params, pgarray.param(keys), *columns]
    inserted = {pk.to_python(row[0]) for row in fetch_rows(conn, sql, params)}
    for obj in objs:
        if obj.pk in inserted:
            obj._state.adding = False
            obj._state.db = conn.alias
    return inserted


def _execute(conn: Any, sql: str, params: list[Any]) -> None:
    with hot_cursor(conn) as cursor:
        cursor.execute(sql, params)


def runs_with_related(run_ids: Sequence[Any]) -> dict[Any, ExecutionRun]:
    """``{pk: run}`` with version, workflow, event and tenant loaded: one query for the runs
    and their events, one for their distinct versions with workflow and tenant (a batch's
    runs mostly share one version; its instances are shared and its rows read once)."""
    if not run_ids:
        return {}
    conn = connections[DEFAULT_DB_ALIAS]
    marks, params = pk_condition(conn, run_ids)
    runs: list[ExecutionRun] = []
    for row in fetch_rows(conn, _RUNS_WITH.format(ids=marks), params):
        run = _RUN.build(conn, row)
        run.event = _EVENT.build(conn, row, len(_RUN))
        runs.append(run)
    version_ids = sorted({run.workflow_version_id for run in runs})
    versions: dict[Any, WorkflowVersion] = {}
    if version_ids:
        marks, params = pk_condition(conn, version_ids, WorkflowVersion)
        at_workflow, at_tenant = len(_VERSION), len(_VERSION) + len(_WORKFLOW)
        for row in fetch_rows(conn, _VERSIONS_WITH.format(ids=marks), params):
            version = _VERSION.build(conn, row)
            version.workflow = workflow = _WORKFLOW.build(conn, row, at_workflow)
            workflow.tenant = _TENANT.build(conn, row, at_tenant)
            versions[version.pk] = version
    found: dict[Any, ExecutionRun] = {}
    for run in runs:
        version = versions.get(run.workflow_version_id)
        if version is None:  # deleted meanwhile: the one-job path reports it
            continue
        run.workflow_version = version
        if run.tenant_id == version.workflow.tenant_id:  # always, as events match their own
            run.tenant = version.workflow.tenant  # tenant's workflows; else read when used
        found[run.pk] = run
    return found


def lock_runs(runs: dict[Any, ExecutionRun]) -> dict[Any, ExecutionRun]:
    """Lock the rows of ``runs`` (``{pk: instance}``; ``FOR UPDATE`` where supported) in id
    order and bring each instance's changing fields (status, outputs, error, started and
    finished) up to date from its locked row; returns those still there. The other fields
    never change once a run is created."""
    if not runs:
        return {}
    conn = connections[DEFAULT_DB_ALIAS]
    marks, params = pk_condition(conn, list(runs))
    sql = _RUNS_LOCK.format(ids=marks)
    if conn.features.has_select_for_update:
        sql += " FOR UPDATE"
    locked: dict[Any, ExecutionRun] = {}
    for row in fetch_rows(conn, sql, params):
        pk, *values = _RUN_STATE.values(conn, row)
        run = runs[pk]
        run.__dict__.update(zip(_RUN_STATE.attnames[1:], values, strict=True))
        locked[pk] = run
    return locked


def steps_of(run_ids: Sequence[Any], *, current_only: bool = False) -> list[StepRun]:
    """The StepRuns of the runs (only ``is_current`` ones if asked), by attempt."""
    if not run_ids:
        return []
    conn = connections[DEFAULT_DB_ALIAS]
    marks, params = pk_condition(conn, run_ids)
    current = ""
    if current_only:
        current = " AND s.is_current = %s"
        params.append(True)
    rows = fetch_rows(conn, _STEPS_OF.format(ids=marks, current=current), params)
    return [_STEP.build(conn, row) for row in rows]


def states_of(run_ids: Sequence[Any]) -> tuple[list[StepRun], list[tuple[Any, str]]]:
    """The current StepRuns of the runs (by attempt) and ``(run_id, node_id)`` of their
    PENDING or CLAIMED step jobs, in one query (one round trip while the runs are locked)."""
    if not run_ids:
        return [], []
    conn = connections[DEFAULT_DB_ALIAS]
    marks, ids = pk_condition(conn, run_ids)
    params = [
        *ids,
        True,
        *ids,
        OutboxJob.Kind.STEP.value,
        OutboxJob.Status.PENDING.value,
        OutboxJob.Status.CLAIMED.value,
    ]
    steps: list[StepRun] = []
    queued: list[tuple[Any, str]] = []
    for row in fetch_rows(conn, _STATES_OF.format(ids=marks), params):
        if row[0] is not None:
            steps.append(_STEP.build(conn, row))
        else:
            run_id, node_id = _QUEUED.values(conn, row, len(_STEP))
            queued.append((run_id, node_id))
    return steps, queued


def fetch_jobs(sql: str, params: list[Any]) -> list[OutboxJob]:
    """The jobs a statement returns as ``JOB_COLUMNS`` (``… RETURNING {JOB_COLUMNS.sql}``)."""
    conn = connections[DEFAULT_DB_ALIAS]
    return [JOB_COLUMNS.build(conn, row) for row in fetch_rows(conn, sql, params)]
