"""Inserting the worker's new rows in one statement each, as the ORM would write them.

``insert`` writes new instances of one model in one statement (PostgreSQL: one array per
column through ``unnest``, so the statement's text is the same whatever the number of
rows); ``insert_fenced`` does it in the same statement as a fence (only for the jobs this
worker still holds under their claims). Each value is what the field's own
``get_db_prep_save`` returns; for the plain field types (text, numbers, booleans, native
UUIDs, aware datetimes) that is the attribute itself, read without the generic calls
(``_preparer``): a tenth of a step batch's CPU went there.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.models import Model
from django.db.models.base import ModelState

from automate.execution import pgarray
from automate.execution.rowload import _has_init_receivers, _quote, fetch_rows, hot_cursor


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
    rows = _rows(objs, fields, conn)
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

#: Field types whose ``get_db_prep_save`` returns the attribute as it is (on PostgreSQL and
#: SQLite alike, for the values the engine stores in them): exact types only, so a
#: subclass that converts its values (an encrypted field, say) takes the field's own path.
_AS_IS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.PositiveIntegerField,
    models.BigIntegerField,
    models.BooleanField,
    models.BigAutoField,
    models.AutoField,
)
_PREPARERS: dict[tuple[type[Model], str, tuple[str, ...]], list[Callable[[Any], Any]]] = {}


def _preparer(field: Any, conn: Any) -> Callable[[Any], Any]:
    """``obj -> the value of field`` to write, as ``get_db_prep_save(pre_save(obj, True))``
    returns it, without its generic calls where the field type lets them be skipped."""
    target = field.target_field if field.is_relation else field
    kind = type(target)
    read = attrgetter(field.attname)

    def generic(obj: Any) -> Any:
        return field.get_db_prep_save(field.pre_save(obj, True), conn)

    if kind in _AS_IS:
        return read
    if kind is models.UUIDField and conn.features.has_native_uuid_field:

        def uuid_value(obj: Any) -> Any:
            value = read(obj)
            return value if value is None or type(value) is uuid.UUID else generic(obj)

        return uuid_value
    if kind is models.DateTimeField and not (field.auto_now or field.auto_now_add):
        adapt = conn.ops.adapt_datetimefield_value

        def when(obj: Any) -> Any:
            value = read(obj)
            if value is None or (type(value) is datetime and value.tzinfo is not None):
                return adapt(value)
            return generic(obj)  # a naive or odd value: Django's warning and conversion

        return when
    return generic


def _rows(objs: Sequence[Model], fields: Sequence[Any], conn: Any) -> list[list[Any]]:
    """The values of ``fields`` of each of ``objs`` to write (see ``_preparer``)."""
    model = type(objs[0])
    key = (model, conn.vendor, tuple(field.attname for field in fields))
    preparers = _PREPARERS.get(key)
    if preparers is None:
        preparers = _PREPARERS[key] = [_preparer(field, conn) for field in fields]
    return [[prepare(obj) for prepare in preparers] for obj in objs]


def values_of(objs: Sequence[Model], names: Sequence[str]) -> list[list[Any]]:
    """The values to write of the fields ``names`` of each of ``objs`` (instances of one
    model; none of those fields ``auto_now``), one list per object, as
    ``get_db_prep_save`` gives them (see ``_preparer``): what an UPDATE of those columns
    writes."""
    if not objs:
        return []
    conn = connections[DEFAULT_DB_ALIAS]
    meta = type(objs[0])._meta
    return _rows(objs, [meta.get_field(name) for name in names], conn)


def new(model: type[Model], **values: Any) -> Any:
    """``model(**values)``, built without ``Model.__init__``'s generic per-field calls: each
    concrete field gets its value from ``values`` (by name; a foreign key given as an
    instance sets its id and caches the instance, as the descriptor does) or its default
    (``field.get_default()``, so callable defaults such as ``uuid4`` run per instance).
    Falls back to ``model(**values)`` when ``pre_init``/``post_init`` receivers listen to
    the model or a value names no concrete field."""
    plan = _NEW.get(model)
    if plan is None:
        plan = _NEW[model] = [
            (field.name, field.attname, bool(field.many_to_one), field)
            for field in model._meta.concrete_fields
        ]
    # Neither a one-to-one field (its descriptor also caches the reverse side) nor a value
    # given by attname: ``Model.__init__`` handles those.
    names = {name for name, _, _, field in plan if not field.one_to_one}
    if _has_init_receivers(model) or not names.issuperset(values):
        return model(**values)
    obj = model.__new__(model)
    state = ModelState()
    obj._state = state
    attrs = obj.__dict__
    for name, attname, foreign, field in plan:
        if name not in values:
            attrs[attname] = field.get_default()
        elif foreign:
            related = values[name]
            attrs[attname] = (
                None if related is None else getattr(related, field.target_field.attname)
            )
            state.fields_cache[name] = related
        else:
            attrs[attname] = values[name]
    return obj


_NEW: dict[type[Model], list[tuple[str, str, bool, Any]]] = {}


def insert_fenced(
    objs: Sequence[Model],
    keys: Sequence[int],
    fence: str,
    fence_params: list[Any],
    *,
    where: str = "",
    where_params: Sequence[Any] = (),
) -> tuple[set[Any], set[int]]:
    """PostgreSQL, outside a transaction: INSERT the instances whose key (``keys[i]`` for
    ``objs[i]``) is an id the ``fence`` query returns (and, with ``where``, whose row
    ``v`` meets that condition: ``v.<column>`` names the row's values), in one statement
    with that query (``WITH held AS (fence), ins AS (INSERT … SELECT … FROM unnest(…) AS v
    JOIN held …)``); returns ``(primary keys inserted, keys held)``. One statement is one
    transaction: the fence's row locks and the rows commit together, with no BEGIN and
    COMMIT round trips. The join reads every row the fence returns, so every key is checked
    (and its row locked) before the commit. Raises ``IntegrityError`` with nothing written
    when a row is refused."""
    if not objs:
        return set(), set()
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
    pk_column = _quote(str(pk.column))
    sql = (
        f"WITH held AS ({fence}), ins AS (INSERT INTO {_quote(model._meta.db_table)} "  # noqa: S608
        f"({', '.join(names)}) SELECT {picked} FROM unnest(%s::bigint[], {arrays}) "
        f"AS v(held_key, {', '.join(names)}) JOIN held ON held.id = v.held_key "
        f"{f'WHERE {where} ' if where else ''}RETURNING {pk_column}) "
        f"SELECT id, NULL::{pk.db_type(conn)} FROM held UNION ALL SELECT NULL, {pk_column} FROM ins"
    )
    rows = _rows(objs, fields, conn)
    columns = (pgarray.param(column) for column in zip(*rows, strict=True))
    params = [*fence_params, pgarray.param(keys), *columns, *where_params]
    inserted: set[Any] = set()
    held: set[int] = set()
    for key, inserted_pk in fetch_rows(conn, sql, params):
        if key is not None:
            held.add(int(key))
        else:
            inserted.add(pk.to_python(inserted_pk))
    for obj in objs:
        if obj.pk in inserted:
            obj._state.adding = False
            obj._state.db = conn.alias
    return inserted, held


def _execute(conn: Any, sql: str, params: list[Any]) -> None:
    with hot_cursor(conn) as cursor:
        cursor.execute(sql, params)
