"""W3C trace context: every event, run, step and outbound call carries one trace id."""

from __future__ import annotations

import re
import secrets

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def new_trace_id() -> str:
    """A fresh 32-hex-digit trace id, as W3C trace context defines it."""
    return secrets.token_hex(16)


def new_span_id() -> str:
    """A fresh 16-hex-digit span id."""
    return secrets.token_hex(8)


def parse_traceparent(header: str | None) -> str | None:
    """The trace id of a valid W3C ``traceparent`` header, else None.

    Invalid headers (wrong shape, version ff, all-zero ids) are ignored, as the spec asks.
    """
    if not header:
        return None
    match = _TRACEPARENT.match(header.strip().lower())
    if match is None:
        return None
    version, trace_id, span_id, _flags = match.groups()
    if version == "ff" or trace_id == "0" * 32 or span_id == "0" * 16:
        return None
    return trace_id


def format_traceparent(trace_id: str, span_id: str | None = None) -> str:
    """A ``traceparent`` header value that continues ``trace_id`` (sampled)."""
    return f"00-{trace_id}-{span_id or new_span_id()}-01"
