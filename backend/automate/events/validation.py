"""Pure checks on what an event may contain; no Django imports."""

from __future__ import annotations

import json
import re
from typing import Any

from automate.events.exceptions import InvalidEventError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/\-]{0,199}$")


def check_name(kind: str, value: Any) -> str:
    """An event type or source: 1-200 characters of letters, digits and ``_ . : / -``."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise InvalidEventError(
            f"Event {kind} must be 1-200 characters of letters, digits and '_.:/-', "
            f"starting with a letter or digit; got {value!r}.",
            details={"field": kind},
        )
    return value


def check_payload(payload: Any, *, max_bytes: int) -> dict[str, Any]:
    """The payload must be a JSON object that serialises within ``max_bytes``."""
    if not isinstance(payload, dict):
        raise InvalidEventError(
            f"Event payload must be a JSON object (a dict), not {type(payload).__name__}.",
            details={"field": "payload"},
        )
    try:
        encoded = json.dumps(payload, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidEventError(
            f"Event payload is not valid JSON: {exc}.", details={"field": "payload"}
        ) from None
    size = len(encoded.encode())
    if size > max_bytes:
        raise InvalidEventError(
            f"Event payload is {size} bytes; the limit is {max_bytes} "
            "(DJANGO_AUTOMATE['RETENTION']['max_payload_bytes']).",
            code="payload_too_large",
            details={"field": "payload", "size": size, "limit": max_bytes},
        )
    # Round-trip so what is stored is exactly what JSON can hold (tuples become lists, …).
    result: dict[str, Any] = json.loads(encoded)
    return result


def check_dedupe_key(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= 255:
        raise InvalidEventError(
            "dedupe_key must be a non-empty string of at most 255 characters.",
            details={"field": "dedupe_key"},
        )
    return value
