"""What matching reads for an event: the event, and the tenant's live versions, kept per process.

Matching an event needs every live version of its tenant with its definition (trigger,
rule, graph: JSON that costs more to read and decode than the rest of matching). Published
versions never change (``WorkflowVersion.save`` refuses it), so a worker process keeps the
versions it read. For each event it reads only the tenant's live marks (:data:`LiveMark`,
one narrow query) and reads again only the versions it does not keep under that mark. The
mark holds the workflow row's ``updated_at`` too, so a publish, a rollback, a
(de)activation or any edit of the workflow (its name is in the steps' context) is seen by
the very next event, in every process.

The SELECTs are built once (``automate.execution.rowload.Columns``): compiling the ORM
queries cost more than their round trips. Rows become instances as the ORM builds them, on
PostgreSQL and SQLite alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from automate.events.models import Event
from automate.execution.rowload import Columns, fetch_rows, pk_condition
from automate.tenants.models import Tenant
from automate.workflows.models import Workflow, WorkflowVersion

#: ``(version id, workflow id, version published_at, workflow updated_at)`` of a live
#: version: which version is live, and whether it or its workflow changed since read.
LiveMark = tuple[int, int, datetime | None, datetime]

_EVENT = Columns(Event, "e")
_TENANT = Columns(Tenant, "t")
_VERSION = Columns(WorkflowVersion, "v")
_WORKFLOW = Columns(Workflow, "w")
_MARK = Columns(WorkflowVersion, "v", only=("id", "workflow", "published_at"))
_MARK_UPDATED = Columns(Workflow, "w", only=("updated_at",))

_VERSIONS = f'"{WorkflowVersion._meta.db_table}"'
_WORKFLOWS = f'"{Workflow._meta.db_table}"'
_EVENTS_SQL = (
    f"SELECT {_EVENT.sql}, {_TENANT.sql} "  # noqa: S608 (our names; values are parameters)
    f'FROM "{Event._meta.db_table}" e JOIN "{Tenant._meta.db_table}" t ON t.id = e.tenant_id '
    "WHERE e.id {ids}"
)
_MARKS_SQL = (
    f"SELECT {_MARK.sql}, {_MARK_UPDATED.sql} "  # noqa: S608
    f"FROM {_VERSIONS} v JOIN {_WORKFLOWS} w ON w.live_version_id = v.id "
    "WHERE w.tenant_id = %s AND w.is_active ORDER BY w.id"
)
_EVENT_WITH_MARKS_SQL = (
    f"SELECT {_EVENT.sql}, {_TENANT.sql}, {_MARK.sql}, {_MARK_UPDATED.sql} "  # noqa: S608
    f'FROM "{Event._meta.db_table}" e JOIN "{Tenant._meta.db_table}" t ON t.id = e.tenant_id '
    f"LEFT JOIN {_WORKFLOWS} w ON w.tenant_id = e.tenant_id AND w.is_active "
    "AND w.live_version_id IS NOT NULL "
    f"LEFT JOIN {_VERSIONS} v ON v.id = w.live_version_id "
    "WHERE e.id = %s ORDER BY w.id"
)
_VERSIONS_SQL = (
    f"SELECT {_VERSION.sql}, {_WORKFLOW.sql} "  # noqa: S608
    f"FROM {_VERSIONS} v JOIN {_WORKFLOWS} w ON w.id = v.workflow_id "
    "WHERE v.id {ids} ORDER BY v.id"
)

#: Versions read earlier, by their mark (bounded: cleared when full).
_kept: dict[LiveMark, WorkflowVersion] = {}
_KEPT_LIMIT = 512
#: Marks of versions that failed to match or start an event in this process.
_broken: set[LiveMark] = set()


def events_with_tenants(event_ids: Sequence[Any]) -> dict[Any, Event]:
    """The events of ``event_ids`` (their ``tenant`` loaded too), by id; missing ids are
    left out."""
    if not event_ids:
        return {}
    conn = connections[DEFAULT_DB_ALIAS]
    ids, params = pk_condition(conn, event_ids, Event)
    found = {}
    for row in fetch_rows(conn, _EVENTS_SQL.format(ids=ids), params):
        event = _EVENT.build(conn, row)
        event.tenant = _TENANT.build(conn, row, len(_EVENT))
        found[event.pk] = event
    return found


def event_with_marks(event_id: Any) -> tuple[Event | None, list[LiveMark]]:
    """The event (its ``tenant`` loaded too; None when there is none) and the marks of its
    tenant's live versions (as ``live_marks``), in one query."""
    conn = connections[DEFAULT_DB_ALIAS]
    pk = Event._meta.pk
    assert pk is not None
    rows = fetch_rows(conn, _EVENT_WITH_MARKS_SQL, [pk.get_db_prep_value(event_id, conn, False)])
    if not rows:
        return None, []
    event = _EVENT.build(conn, rows[0])
    event.tenant = _TENANT.build(conn, rows[0], len(_EVENT))
    at = len(_EVENT) + len(_TENANT)
    marks: list[LiveMark] = [
        (*_MARK.values(conn, row, at), *_MARK_UPDATED.values(conn, row, at + len(_MARK)))
        for row in rows
        if row[at] is not None
    ]
    return event, marks


def live_marks(tenant_id: Any) -> list[LiveMark]:
    """The marks of the live versions of the tenant's active workflows, in workflow order
    (one query; no definitions read)."""
    conn = connections[DEFAULT_DB_ALIAS]
    return [
        (*_MARK.values(conn, row), *_MARK_UPDATED.values(conn, row, len(_MARK)))
        for row in fetch_rows(conn, _MARKS_SQL, [tenant_id])
    ]


def kept(mark: LiveMark) -> WorkflowVersion | None:
    """The version read earlier under ``mark`` (None: read it)."""
    return _kept.get(mark)


def read_versions(version_ids: Sequence[int]) -> dict[int, WorkflowVersion]:
    """The versions of ``version_ids`` with their workflows, by id, in one query; each is
    kept for later events. Decoding a definition can fail (e.g. JSON nested too deep):
    then the error propagates and nothing is kept."""
    if not version_ids:
        return {}
    conn = connections[DEFAULT_DB_ALIAS]
    ids, params = pk_condition(conn, version_ids, WorkflowVersion)
    found = {}
    for row in fetch_rows(conn, _VERSIONS_SQL.format(ids=ids), params):
        version = _VERSION.build(conn, row)
        version.workflow = _WORKFLOW.build(conn, row, len(_VERSION))
        found[version.pk] = version
    for version in found.values():
        keep(version)
    return found


def keep(version: WorkflowVersion) -> None:
    """Keep a published ``version`` (its ``workflow`` loaded) for later events."""
    if version.published_at is None:
        return  # a draft can still change (a live version never is one)
    if len(_kept) >= _KEPT_LIMIT:
        _kept.clear()
    mark = (version.pk, version.workflow_id, version.published_at, version.workflow.updated_at)
    _kept[mark] = version


def note_broken(mark: LiveMark) -> None:
    """Remember that the version under ``mark`` failed on an event in this process."""
    if len(_broken) >= _KEPT_LIMIT:
        _broken.clear()
    _broken.add(mark)


def known_broken(mark: LiveMark) -> bool:
    """Whether the version under ``mark`` failed on an event in this process."""
    return mark in _broken
