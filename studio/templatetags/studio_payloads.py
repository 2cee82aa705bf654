"""``{% load studio_payloads %}``: stored values the worker cut (``automate.payload_caps``).

* ``{% stored_json value pretty %}`` shows a stored JSON value (a step's inputs or output):
  ``pretty`` (its formatted JSON) in a ``<pre>``, or, when ``value`` is a truncation
  marker, a "Truncated" badge with the original size and the limit, then the preview kept.
* ``{% truncated_badge text %}`` shows the same badge for an error text that was cut, and
  nothing for any other text.
"""

from __future__ import annotations

from typing import Any

from django import template

from automate.governance.redaction import redact_text
from automate.payload_caps import Truncation, text_truncation, truncation_of

register = template.Library()


@register.filter
def truncation(value: Any) -> Truncation | None:
    """What was cut of a stored value (a marker object, or a text ending in the cap's
    suffix), its preview redacted for display; None when nothing was."""
    found = text_truncation(value) if isinstance(value, str) else truncation_of(value)
    if found is None:
        return None
    return Truncation(found.original_bytes, found.limit_bytes, redact_text(found.preview))


@register.inclusion_tag("studio/partials/stored_json.html")
def stored_json(value: Any, pretty: str, css: str = "json") -> dict[str, Any]:
    """A stored JSON value: ``pretty`` in ``<pre class="{css}">``, or the truncation badge
    and the preview when ``value`` is a truncation marker."""
    return {"cut": truncation(value), "pretty": pretty, "css": css}


@register.inclusion_tag("studio/partials/truncated_badge.html")
def truncated_badge(text: Any) -> dict[str, Any]:
    """The truncation badge of an error text that was cut ("" for any other text)."""
    return {"cut": truncation(text) if isinstance(text, str) else None}
