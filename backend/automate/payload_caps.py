"""Payload caps: what the worker stores of a step's inputs, outputs and errors is bounded.

An event payload over ``RETENTION["max_payload_bytes"]`` is refused at intake (413
``payload_too_large``): it is what rules match and steps read, so a cut copy would make
them see data that never arrived. What a *step* makes (its rendered inputs, its
connector's output, its error text) cannot be refused that way, so it is stored capped:

* a JSON value (step inputs, step outputs) whose compact JSON text is over
  ``RETENTION["max_payload_bytes"]`` UTF-8 bytes is stored as a **marker object**::

      {
        "_truncated": true,            # always true: marks the object as a marker
        "original_bytes": 1048600,     # size of the value's compact JSON text (UTF-8)
        "limit_bytes": 256000,         # the limit it was over
        "preview": "{\\"rows\\":[{\\"id\\":1,..."  # the start of that JSON text (redacted)
      }

  The marker itself (preview included) fits within the limit. The preview is the
  redacted value's JSON text cut at a character boundary: it is text, not JSON, and may
  end in the middle of a key or a string. A step that reads a truncated output gets the
  marker: ``steps.fetch.output._truncated`` is true, and a template that reads a field the
  marker lacks fails with an error saying the output was truncated.

* an error text (step errors, run errors, dead letters' last error, failure notices) over
  ``RETENTION["max_error_bytes"]`` UTF-8 bytes is cut at a character boundary and ends
  with a visible suffix, the whole within the limit::

      "Upstream said: <html>… … [truncated: 1,234,567 bytes, limit 8,000]"

Values within their limit are returned unchanged (the same object). Pure Python: the
limits are arguments; ``json_limit`` and ``text_limit`` read the settings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MARKER_KEY",
    "Truncation",
    "cap_json",
    "cap_text",
    "is_truncated",
    "json_limit",
    "json_size",
    "text_limit",
    "text_truncation",
    "truncation_of",
]

#: The key that makes a JSON object a truncation marker (its value is always ``True``).
MARKER_KEY = "_truncated"

_SUFFIX = " … [truncated: {original:,} bytes, limit {limit:,}]"
_SUFFIX_PATTERN = re.compile(r" … \[truncated: ([0-9,]+) bytes, limit ([0-9,]+)\]\Z")


@dataclass(frozen=True)
class Truncation:
    """What was cut: the original size and the limit (UTF-8 bytes), and what was kept
    (``preview``: the start of the JSON text, or the start of the error text)."""

    original_bytes: int
    limit_bytes: int
    preview: str


def json_limit() -> int:
    """``RETENTION["max_payload_bytes"]``: the cap on stored step inputs and outputs."""
    from automate import conf

    return int(conf.get("RETENTION", "max_payload_bytes"))


def text_limit() -> int:
    """``RETENTION["max_error_bytes"]``: the cap on stored error texts."""
    from automate import conf

    return int(conf.get("RETENTION", "max_error_bytes"))


def _utf8_size(text: str, limit: int) -> int:
    """UTF-8 bytes of ``text``; skips the encoding when its length alone decides that it
    is within ``limit`` (a character is at most four bytes)."""
    if len(text) * 4 <= limit:
        return len(text)  # a lower bound, and within the limit: all the caller asks
    return len(text.encode("utf-8", "surrogatepass"))


def _json_text(value: Any) -> str:
    # What a JSONField stores, compact; odd values (a datetime, a Decimal) as their text.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def json_size(value: Any) -> int:
    """UTF-8 bytes of ``value``'s compact JSON text (what ``cap_json`` compares with its
    limit). Raises ``ValueError`` for a circular structure, ``RecursionError`` for one
    nested too deeply."""
    return len(_json_text(value).encode("utf-8", "surrogatepass"))


def _cut(text: str, max_bytes: int) -> str:
    """The longest start of ``text`` within ``max_bytes`` UTF-8 bytes, never half a
    character."""
    if max_bytes <= 0:
        return ""
    return text.encode("utf-8", "surrogatepass")[:max_bytes].decode("utf-8", "ignore")


def cap_json(value: Any, *, limit_bytes: int | None = None) -> Any:
    """``value`` unchanged when its compact JSON text is at most ``limit_bytes`` UTF-8
    bytes (default: ``RETENTION["max_payload_bytes"]``), else the marker object described
    in the module docstring, whose preview is made from the *redacted* value (a secret is
    masked before the cut, so no prefix of one is kept). The marker is within the limit; a
    marker capped again keeps its first original size and a shorter preview, its text
    redacted again (``redact_text``: known secret values, credential-shaped text and
    ``"password":"..."`` pairs), so an object that only looks like a marker stores no
    secret either.

    A value that is not JSON at all (a circular structure) is returned unchanged: storing
    it fails as it always did.
    """
    limit = json_limit() if limit_bytes is None else limit_bytes
    try:
        text = _json_text(value)
    except (ValueError, RecursionError):
        return value
    original = _utf8_size(text, limit)
    if original <= limit:
        return value
    from automate.governance.redaction import redact, redact_text

    earlier = truncation_of(value)
    if earlier is not None:  # a marker capped again (the editor's copy): its first size
        # The preview is redacted again: a connector may return an object that only
        # looks like a marker, with a secret in its "preview".
        original, shown = earlier.original_bytes, redact_text(earlier.preview)
    else:
        shown = _json_text(redact(value))
    marker: dict[str, Any] = {
        MARKER_KEY: True,
        "original_bytes": original,
        "limit_bytes": limit,
        "preview": "",
    }
    room = limit - json_size(marker)
    preview = _cut(shown, room)
    # Quotes and backslashes in the preview are escaped once more when the marker is
    # stored: shorten until the marker fits. Removing half the excess removes at least
    # that much (an escaped character takes two bytes or more), so it ends close to it.
    while preview and (excess := json_size({**marker, "preview": preview}) - limit) > 0:
        kept = len(preview.encode("utf-8", "surrogatepass")) - max(1, excess // 2)
        preview = _cut(preview, kept)
    marker["preview"] = preview
    return marker


def is_truncated(value: Any) -> bool:
    """Whether ``value`` is a marker object made by ``cap_json``."""
    return isinstance(value, Mapping) and value.get(MARKER_KEY) is True


def truncation_of(value: Any) -> Truncation | None:
    """The ``Truncation`` a marker object tells of, or None for any other value."""
    if not is_truncated(value):
        return None
    try:
        return Truncation(
            original_bytes=int(value.get("original_bytes") or 0),
            limit_bytes=int(value.get("limit_bytes") or 0),
            preview=str(value.get("preview") or ""),
        )
    except (TypeError, ValueError):
        return None


def cap_text(text: str, *, limit_bytes: int | None = None) -> str:
    """``text`` unchanged when it is at most ``limit_bytes`` UTF-8 bytes (default:
    ``RETENTION["max_error_bytes"]``), else its start cut at a character boundary followed
    by `` … [truncated: N bytes, limit L]`` (N the original size; a text already capped
    keeps its first original size), the whole within the limit. Redact before capping: a
    cut through a secret keeps its prefix."""
    limit = text_limit() if limit_bytes is None else limit_bytes
    if not text or _utf8_size(text, limit) <= limit:
        return text
    original = len(text.encode("utf-8", "surrogatepass"))
    earlier = text_truncation(text)
    if earlier is not None:  # cut again (a notice quoting a capped error): say the first size
        text, original = earlier.preview, earlier.original_bytes
    suffix = _SUFFIX.format(original=original, limit=limit)
    return _cut(text, limit - len(suffix.encode("utf-8"))) + suffix


def text_truncation(text: str) -> Truncation | None:
    """The ``Truncation`` a text capped by ``cap_text`` tells of (``preview``: the text
    kept, without the suffix), or None when it was not cut."""
    match = _SUFFIX_PATTERN.search(text or "")
    if match is None:
        return None
    return Truncation(
        original_bytes=int(match.group(1).replace(",", "")),
        limit_bytes=int(match.group(2).replace(",", "")),
        preview=text[: match.start()],
    )
