"""Pure checks on what an event may contain; no Django imports."""

from __future__ import annotations

import json
import re
from typing import Any

from automate.events.exceptions import InvalidEventError
from automate.guard.parse import shown_key

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/\-]{0,199}$")


_MAX_LENGTH = {"type": 200, "source": 100}


def check_name(kind: str, value: Any) -> str:
    """An event type (1-200) or source (1-100): letters, digits and ``_ . : / -``."""
    limit = _MAX_LENGTH.get(kind, 200)
    if not isinstance(value, str) or not _NAME.match(value) or len(value) > limit:
        raise InvalidEventError(
            f"Event {kind} must be 1-{limit} characters of letters, digits and '_.:/-', "
            f"starting with a letter or digit; got {value!r:.80}.",
            details={"field": kind},
        )
    return value


def _bad_text(value: Any, path: str, depth: int = 0) -> str | None:
    """The path of the first string (or key) no database can store: NUL, lone surrogates."""
    if depth > 64:
        return path or "payload"
    if isinstance(value, str):
        if "\x00" in value:
            return path or "payload"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "payload"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            # The key is shown escaped: a NUL or a surrogate cannot go into a response.
            found = _bad_text(key, f"{path}.{shown_key(key)}", depth + 1) or _bad_text(
                item, f"{path}.{shown_key(key)}", depth + 1
            )
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _bad_text(item, f"{path}[{index}]", depth + 1)
            if found:
                return found
    return None


def check_payload(payload: Any, *, max_bytes: int) -> dict[str, Any]:
    """The payload must be a JSON object that serialises within ``max_bytes``."""
    if not isinstance(payload, dict):
        raise InvalidEventError(
            f"Event payload must be a JSON object (a dict), not {type(payload).__name__}.",
            details={"field": "payload"},
        )
    try:
        encoded = json.dumps(payload, allow_nan=False, separators=(",", ":"))
    except RecursionError:
        raise InvalidEventError(
            "Event payload is nested too deeply.", details={"field": "payload"}
        ) from None
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
    bad = _bad_text(result, "payload")
    if bad:
        raise InvalidEventError(
            f"Event payload holds text no database can store (a NUL character, an unpaired "
            f"surrogate, or nesting deeper than 64) at {bad}.",
            details={"field": "payload", "path": bad},
        )
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
