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

from django.db import DEFAULT_DB_ALIAS, connections
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
#: What the engine reads of a run's earlier StepRuns (to plan, to build a step's context):
#: not their inputs, errors, tracebacks or times (JSON and timestamps cost most to load).
_STEP = Columns(
    StepRun, "s", only=("id", "run", "node_id", "attempt", "status", "outputs", "is_current")
)
_QUEUED = Columns(OutboxJob, "j", only=("run", "node_id"))
#: The columns of an outbox job a worker reads under the alias ``j`` (``RETURNING`` of the
#: claim): not its times and last error, which the worker only writes (reading one of
#: them on a claimed job loads it with a query of its own).
JOB_COLUMNS = Columns(
    OutboxJob, "j", defer=("created_at", "updated_at", "lease_expires_at", "last_error")
)

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
#: A batch's versions (with workflow and tenant) and its runs' StepRuns in one statement:
#: a version row has NULLs in the step columns and the other way round (a step row's first
#: column, the version id, is NULL). Steps by attempt, as ``_STEPS_OF`` reads them.
_AT_STEP = len(_VERSION) + len(_WORKFLOW) + len(_TENANT)
_VERSIONS_AND_STEPS = (
    f"SELECT {_VERSION.sql}, {_WORKFLOW.sql}, {_TENANT.sql}, "  # noqa: S608
    f"{', '.join(['NULL'] * len(_STEP))} "
    f"FROM {_quote(WorkflowVersion._meta.db_table)} v "
    f"JOIN {_quote(Workflow._meta.db_table)} w ON w.id = v.workflow_id "
    f"JOIN {_quote(Tenant._meta.db_table)} t ON t.id = w.tenant_id "
    "WHERE v.id {versions} "
    f"UNION ALL SELECT {', '.join(['NULL'] * _AT_STEP)}, "
    f"{_STEP.sql} FROM {_quote(StepRun._meta.db_table)} s WHERE s.run_id {{runs}} "
    f"ORDER BY {_AT_STEP + _STEP.attnames.index('attempt') + 1}"
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
    f"ORDER BY {_STEP.attnames.index('attempt') + 1}"
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
    logging and error wrapping are Django's. On PostgreSQL the connection reads timestamps
    in C from then on, and the statements are prepared on the server when
    ``EXECUTION["prepare_hot_statements"]`` says so (``automate.execution.pgconn``)."""
    if conn.vendor != "postgresql":
        return conn.cursor()
    from automate.execution import pgconn  # imports psycopg: PostgreSQL only

    conn.ensure_connection()
    conn.validate_thread_sharing()
    with conn.wrap_database_errors:
        pgconn.use_fast_timestamps(conn.connection)
        cursor = pgconn.hot_cursor(conn.connection)
    return conn.make_debug_cursor(cursor) if conn.queries_logged else conn.make_cursor(cursor)


def fetch_rows(conn: Any, sql: str, params: list[Any]) -> list[Any]:
    """Every row ``sql`` returns, read through ``hot_cursor``."""
    with hot_cursor(conn) as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def runs_with_related(
    run_ids: Sequence[Any], read: Sequence[ExecutionRun] = ()
) -> dict[Any, ExecutionRun]:
    """``{pk: run}`` with version, workflow, event and tenant loaded: one query for the runs
    and their events, one for their distinct versions with workflow and tenant (a batch's
    runs mostly share one version; its instances are shared and its rows read once).
    ``read``: runs already read with their events (``fetch_claimed``), not read again."""
    return runs_and_steps(run_ids, read)[0]


def runs_and_steps(
    run_ids: Sequence[Any], read: Sequence[ExecutionRun] = (), *, steps: bool = False
) -> tuple[dict[Any, ExecutionRun], list[StepRun]]:
    """``runs_with_related`` and, with ``steps``, the StepRuns of those runs (by attempt,
    as ``steps_of`` reads them; ``[]`` without). When ``read`` holds every run (the claim
    read them), the versions and the steps come in one statement (``UNION ALL``), one
    round trip for a batch's whole prepare read; otherwise the runs, the versions and the
    steps are three."""
    if not run_ids:
        return {}, []
    conn = connections[DEFAULT_DB_ALIAS]
    wanted = set(run_ids)
    runs: list[ExecutionRun] = [run for run in read if run.pk in wanted]
    unread = wanted - {run.pk for run in runs}
    if unread:
        marks, params = pk_condition(conn, sorted(unread, key=str))
        for row in fetch_rows(conn, _RUNS_WITH.format(ids=marks), params):
            run = _RUN.build(conn, row)
            run.event = _EVENT.build(conn, row, len(_RUN))
            runs.append(run)
    version_ids = sorted({run.workflow_version_id for run in runs})
    versions: dict[Any, WorkflowVersion] = {}
    found_steps: list[StepRun] = []
    at_workflow, at_tenant = len(_VERSION), len(_VERSION) + len(_WORKFLOW)
    rows: list[Any] = []
    if version_ids and steps and not unread:
        version_marks, version_params = pk_condition(conn, version_ids, WorkflowVersion)
        step_marks, step_params = pk_condition(conn, list(run_ids))
        sql = _VERSIONS_AND_STEPS.format(versions=version_marks, runs=step_marks)
        rows = fetch_rows(conn, sql, [*version_params, *step_params])
    else:
        if version_ids:
            marks, params = pk_condition(conn, version_ids, WorkflowVersion)
            rows = fetch_rows(conn, _VERSIONS_WITH.format(ids=marks), params)
        if steps:
            found_steps = steps_of(list(run_ids))
    for row in rows:
        if row[0] is None:
            found_steps.append(_STEP.build(conn, row, _AT_STEP))
            continue
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
    return found, found_steps


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
    """The StepRuns of the runs (only ``is_current`` ones if asked), by attempt; only the
    fields of ``_STEP`` are read (the others load when used)."""
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


_WITH_RUNS = (
    "WITH claimed AS ({claim}) "  # noqa: S608 (our tables; every value is a parameter)
    f"SELECT claimed.*, {_RUN.sql}, {_EVENT.sql} FROM claimed "
    f"LEFT JOIN {_quote(ExecutionRun._meta.db_table)} r ON r.id = claimed.run_id "
    f"LEFT JOIN {_quote(Event._meta.db_table)} e ON e.id = r.event_id"
)


def fetch_claimed(claim: str, params: list[Any]) -> list[OutboxJob]:
    """PostgreSQL: the jobs the claiming statement ``claim`` returns (``… RETURNING
    {JOB_COLUMNS.sql}``), each step job with its run and the run's event read in the same
    statement (``job.run``, ``job.run.event``), as ``runs_with_related`` reads them: one
    round trip instead of two for a batch of steps. A run is read as it was when the
    claim committed, as the batch's prepare read it before."""
    conn = connections[DEFAULT_DB_ALIAS]
    jobs: list[OutboxJob] = []
    at_run, at_event = len(JOB_COLUMNS), len(JOB_COLUMNS) + len(_RUN)
    for row in fetch_rows(conn, _WITH_RUNS.format(claim=claim), params):
        job = JOB_COLUMNS.build(conn, row)
        if row[at_run] is not None:
            run = _RUN.build(conn, row, at_run)
            run.event = _EVENT.build(conn, row, at_event)
            job._state.fields_cache["run"] = run
        jobs.append(job)
    return jobs


def claimed_run(job: OutboxJob) -> ExecutionRun | None:
    """The run ``fetch_claimed`` read with ``job`` (None when it did not)."""
    run: ExecutionRun | None = job._state.fields_cache.get("run")
    if run is None or "event" not in run._state.fields_cache:
        return None
    return run
