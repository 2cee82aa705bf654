"""The input guard for Django REST framework views: a JSON parser within the limits.

DRF views parse their body lazily through their parser classes, so the REST API uses
:class:`GuardedJSONParser` (and only it): the same size, depth, number and text checks
as every other endpoint, and its refusals reach the client in the one error shape (the
API's exception handler maps ``InputRejected`` like any ``AutomateError``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework.parsers import JSONParser

from automate.guard.http import BODY_SETTING, json_limits
from automate.guard.parse import load_json


class GuardedJSONParser(JSONParser):
    """``application/json`` through :func:`automate.guard.parse.load_json`."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limits = json_limits()
        data = stream.read(limits.max_bytes + 1) if stream is not None else b""
        return load_json(data, what="The body", limits=limits, setting=BODY_SETTING)
