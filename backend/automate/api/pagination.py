"""Opaque cursor pagination: ``?cursor=&limit=``, newest first, stable under inserts.

Pages are ordered by ``(created_at, id)`` descending and the cursor names the last row
shown, so rows inserted while a client pages through land before its first page and
never shift, repeat or hide a row of the pages still to come. ``limit`` defaults to
``API.page_size`` and is capped at ``API.max_page_size``. A page answers
``{"results": [...], "next_cursor": "…" | null, "next": "<url>" | null}``.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, Q, QuerySet
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from automate import conf
from automate.exceptions import AutomateError
from automate.guard.parse import is_whole_number

__all__ = ["CreatedCursorPagination", "InvalidCursorError", "decode_cursor", "encode_cursor"]


class InvalidCursorError(AutomateError):
    code = "invalid_cursor"
    http_status = 400


def encode_cursor(row: Model, field: str = "created_at") -> str:
    """The opaque cursor after ``row``."""
    raw = json.dumps([getattr(row, field).isoformat(), str(row.pk)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, model: type[Model]) -> tuple[datetime, Any]:
    """``(created_at, pk)`` of a cursor made by :func:`encode_cursor`; InvalidCursorError."""
    refused = InvalidCursorError(
        gettext("The cursor is not one this API gave out."), details={"cursor": text[:100]}
    )
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        when_text, pk_text = json.loads(raw)
        when = parse_datetime(when_text)
        pk = model._meta.pk.to_python(pk_text)
    except (ValueError, TypeError, binascii.Error, DjangoValidationError):
        raise refused from None
    if when is None or pk is None:
        raise refused
    return when, pk


def _limit(request: Request) -> int:
    cap = int(conf.get("API", "max_page_size"))
    text = request.query_params.get("limit")
    if text is None or text == "":
        return min(int(conf.get("API", "page_size")), cap)
    if not is_whole_number(text) or len(text) > 6 or int(text) < 1:
        raise AutomateError(
            gettext("The limit must be a whole number from 1 to %(cap)s.") % {"cap": cap},
            code="invalid_request",
            details={"limit": text[:20]},
        )
    return min(int(text), cap)


class CreatedCursorPagination(BasePagination):
    """Keyset pagination on ``(created_at, pk)``, newest first."""

    cursor_field = "created_at"

    def paginate_queryset(  # type: ignore[override]
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        limit = _limit(request)
        self.request = request
        field = getattr(view, "cursor_field", self.cursor_field)
        self.field = field
        queryset = queryset.order_by(f"-{field}", "-pk")
        cursor = request.query_params.get("cursor")
        if cursor:
            when, pk = decode_cursor(cursor, queryset.model)
            queryset = queryset.filter(
                Q(**{f"{field}__lt": when}) | Q(**{field: when, "pk__lt": pk})
            )
        rows = list(queryset[: limit + 1])
        self.next_cursor = encode_cursor(rows[limit - 1], field) if len(rows) > limit else None
        return rows[:limit]

    def get_paginated_response(self, data: Any) -> Response:
        next_url = None
        if self.next_cursor:
            next_url = replace_query_param(
                self.request.build_absolute_uri(), "cursor", self.next_cursor
            )
        return Response({"results": data, "next_cursor": self.next_cursor, "next": next_url})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results", "next_cursor", "next"],
            "properties": {
                "results": schema,
                "next_cursor": {"type": "string", "nullable": True},
                "next": {"type": "string", "nullable": True, "format": "uri"},
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "The next_cursor of the previous page.",
                "schema": {"type": "string"},
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": "Rows per page (capped at API.max_page_size).",
                "schema": {"type": "integer", "minimum": 1, "maximum": 999_999},
            },
        ]
