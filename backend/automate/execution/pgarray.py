"""PostgreSQL array parameters written as one text literal (``'{"a","b"}'``), not as lists.

The worker's hot statements take their rows as arrays (``unnest(%s::uuid[], …)``,
``id = ANY(%s::bigint[])``). psycopg dumps a Python list element by element, looking up a
dumper for each and escaping in Python: about 20 µs an array of ten, some 30 arrays a
batch, the largest single share of a step batch's CPU after the round trips. Built here,
an array is one string (each element's text quoted and escaped with ``str.replace``, in C)
that the statement casts to its type, 6x cheaper. PostgreSQL parses the literal with the
element type's own input function, so values arrive exactly as psycopg would have sent
them.

``literal`` returns ``None`` for a value it does not know how to write (bytes, say), and
callers then pass the list as before.
"""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from collections.abc import Iterable
from typing import Any

from psycopg.types.json import Json, Jsonb

_PLAIN = (str, int, float, decimal.Decimal, uuid.UUID, datetime.date, datetime.time)
#: Types whose text never holds a quote, a backslash, a comma, a brace or a space.
_BARE = (int, uuid.UUID)


def literal(values: Iterable[Any]) -> str | None:
    """The PostgreSQL array literal of ``values`` (one dimension; ``None`` is NULL), or
    ``None`` when an element is of a type this does not write."""
    parts: list[str] = []
    append = parts.append
    for value in values:
        kind = type(value)
        if value is None:
            append("NULL")
            continue
        if kind is bool:
            append("t" if value else "f")
            continue
        if kind in _BARE:
            append(str(value))
            continue
        if kind is str:
            text = value
        elif kind is Jsonb or kind is Json:
            dumped = (value.dumps or json.dumps)(value.obj)
            text = dumped.decode() if isinstance(dumped, bytes) else dumped
        elif isinstance(value, datetime.datetime):
            text = value.isoformat()
        elif kind in _PLAIN:
            # Exact types only: a subclass (an Enum on str or int) may print itself other
            # than psycopg would send it, so it takes the list (``None`` below).
            text = str(value)
        elif isinstance(value, str):
            # A str subclass (a TextChoices member): psycopg sends its characters, not
            # what its ``__str__`` says; ``str.__str__`` gives exactly those.
            text = str.__str__(value)
        else:
            return None
        if "\\" in text or '"' in text:
            text = text.replace("\\", "\\\\").replace('"', '\\"')
        append('"' + text + '"')
    return "{" + ",".join(parts) + "}"


def param(values: Iterable[Any]) -> Any:
    """``values`` as an array parameter: its literal, or the list when it has none. The
    statement must cast the parameter to its array type (``%s::uuid[]``)."""
    listed = list(values)
    text = literal(listed)
    return listed if text is None else text
