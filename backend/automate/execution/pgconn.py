"""PostgreSQL specifics of the worker's hot cursors (``rowload.hot_cursor``).

- **Timestamps read in C.** Django loads every ``timestamptz`` value through a loader of
  its own written in Python (psycopg's pure-Python parser, then ``replace(tzinfo=…)``):
  about 16 values a no-op step job, the largest single item of the worker's CPU after
  the round trips. ``FastTzLoader`` parses the ISO text PostgreSQL sends with
  ``datetime.fromisoformat`` (C) and sets the same ``tzinfo`` Django's loader sets, so
  the values are identical; anything that is not plain ISO text (``infinity``, BC dates,
  another ``DateStyle``) goes to Django's loader as before. It is registered on the
  connection the first time a hot cursor is made on it, so the ORM's queries on that
  connection read timestamps the same way.
- **Prepared hot statements** (``EXECUTION["prepare_hot_statements"]``, off by default):
  the worker's hot statements have one text whatever the batch size; with the setting on
  they are prepared on the server at their first use, whatever the connection's
  ``prepare_threshold`` (the ORM's statements still follow it: unset, as Django leaves it
  unless ``DATABASES[…]["OPTIONS"]`` sets it, they are never prepared; a pooler in
  transaction mode breaks prepared statements). Off, the hot statements follow the
  connection's ``prepare_threshold``, as every other statement does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg.adapt import Buffer
from psycopg.pq import Format

from automate import conf

_TIMESTAMPTZ = psycopg.adapters.types["timestamptz"].oid


class FastTzLoader(BaseTzLoader):  # type: ignore[misc]  # Django's stubs leave it Any
    """Django's ``timestamptz`` loader, parsing ISO text in C (see the module docstring)."""

    def load(self, data: Buffer) -> Any:
        try:
            value = datetime.fromisoformat(str(data, "ascii"))
        except ValueError:
            return super().load(data)
        # The text is the wall clock in the session's time zone, which Django sets to
        # its own: the same replace Django's loader makes.
        return value.replace(tzinfo=self.timezone)


def use_fast_timestamps(raw: psycopg.Connection[Any]) -> None:
    """Register ``FastTzLoader`` on the psycopg connection ``raw`` (once), with the time
    zone of the loader Django registered there."""
    current = raw.adapters.get_loader(_TIMESTAMPTZ, Format.TEXT)
    if current is None or issubclass(current, FastTzLoader):
        return
    zone = getattr(current, "timezone", None)
    loader = type("SpecificFastTzLoader", (FastTzLoader,), {"timezone": zone})
    raw.adapters.register_loader("timestamptz", loader)


class HotCursor(psycopg.Cursor[Any]):
    """A psycopg cursor that prepares its statements on the server when ``prepare`` is
    true (``None``: the connection's ``prepare_threshold`` decides)."""

    prepare: bool | None = None

    def execute(
        self,
        query: Any,
        params: Any = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> HotCursor:
        chosen = self.prepare if prepare is None else prepare
        super().execute(query, params, prepare=chosen, binary=binary)
        return self


class PreparedHotCursor(HotCursor):
    prepare = True


#: psycopg prepares nothing, not even on request, on a connection whose
#: ``prepare_threshold`` is None (Django's default): with the setting on, such a connection
#: gets this threshold instead, which no other statement reaches.
_NEVER = 2**31 - 1


def hot_cursor(raw: psycopg.Connection[Any]) -> HotCursor:
    """A cursor on ``raw`` for hot statements under ``EXECUTION["prepare_hot_statements"]``
    (prepared at first use when on; the connection's ``prepare_threshold`` otherwise)."""
    if not conf.get("EXECUTION", "prepare_hot_statements"):
        return HotCursor(raw)
    if raw.prepare_threshold is None:
        raw.prepare_threshold = _NEVER
    return PreparedHotCursor(raw)
