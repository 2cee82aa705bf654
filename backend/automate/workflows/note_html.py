"""Sticky notes as HTML: Markdown rendered on the server, then sanitized with bleach.

A note's text is written by a workflow author and shown to everyone who opens the
workflow, so it is treated as hostile. Two layers, each enough on its own for the common
attacks:

1. Markdown is rendered with its raw-HTML support switched off (the ``html_block``
   preprocessor and the ``html`` inline pattern are removed), so ``<script>`` or
   ``<img onerror=…>`` typed into a note comes out as visible text, and with its image
   syntax switched off (``![alt](url)`` stays text: notes show no images).
2. The HTML is then cleaned with bleach against :data:`ALLOWED_TAGS` and
   :data:`ALLOWED_ATTRIBUTES`; link targets keep only :data:`ALLOWED_PROTOCOLS`
   (``javascript:``, ``data:``, ``vbscript:`` in any case or entity encoding are dropped,
   so are relative targets, and a link left without a target becomes plain text); every
   link gets
   ``rel="noopener noreferrer nofollow"`` and opens in a new tab; bare ``https://…``
   addresses become such links.

Pure Python (no Django). ``render_note_html(text)`` is cached by text.
"""

from __future__ import annotations

import re
from functools import lru_cache, partial
from typing import Any, Final

import bleach
import markdown
from bleach.linkifier import LinkifyFilter

from automate.workflows.notes import MAX_NOTE_CHARS

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "ALLOWED_PROTOCOLS",
    "ALLOWED_TAGS",
    "LINK_REL",
    "render_note_html",
]

ALLOWED_TAGS: Final = frozenset(
    {
        "a", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "h5", "h6",
        "hr", "li", "ol", "p", "pre", "strong", "ul",
    }
)  # fmt: skip
"""What a rendered note may contain: text structure, emphasis, lists, code and links."""

ALLOWED_ATTRIBUTES: Final[dict[str, list[str]]] = {
    "a": ["href", "title", "rel", "target"],
}
"""Attributes kept per tag; no ``style``, ``class``, ``id`` or ``on…`` handler survives."""

ALLOWED_PROTOCOLS: Final = frozenset({"http", "https", "mailto"})
"""URL schemes a link may use; a link to anything else loses its target."""

LINK_REL: Final = "noopener noreferrer nofollow"
"""The ``rel`` of every link in a note (no opener access, no referrer, no endorsement)."""

#: Markdown's own parts that would let raw HTML or images through.
_RAW_HTML_PARTS: Final = (
    ("preprocessors", "html_block"),
    ("inlinePatterns", "html"),
    ("inlinePatterns", "image_link"),
    ("inlinePatterns", "image_reference"),
    ("inlinePatterns", "short_image_ref"),
)


_ABSOLUTE: Final = re.compile(r"(?:https?://|mailto:)", re.IGNORECASE)


def _markdown() -> markdown.Markdown:
    md = markdown.Markdown(extensions=["fenced_code", "sane_lists", "nl2br"])
    for registry, name in _RAW_HTML_PARTS:
        getattr(md, registry).deregister(name, strict=False)
    return md


def _link_attributes(attrs: dict[Any, str], new: bool = False) -> dict[Any, str] | None:
    """bleach's linkify callback: every kept link gets our ``rel`` and opens in a new tab;
    a link whose target the cleaner dropped (``javascript:``…) becomes its text."""
    href = attrs.get((None, "href")) or ""
    # Absolute links only: bleach keeps relative ones ("%6Aavascript:…", "#top"), which in
    # a note would only point into the studio itself.
    if not _ABSOLUTE.match(href):
        return None
    attrs[(None, "rel")] = LINK_REL
    attrs[(None, "target")] = "_blank"
    return attrs


def _cleaner() -> bleach.sanitizer.Cleaner:
    # A new one per call: a Cleaner keeps its parser, which is not safe across threads.
    return bleach.sanitizer.Cleaner(
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        protocols=ALLOWED_PROTOCOLS,
        strip=True,
        strip_comments=True,
        filters=[
            partial(
                LinkifyFilter,
                callbacks=[_link_attributes],
                skip_tags={"pre", "code"},
                parse_email=False,
            )
        ],
    )


@lru_cache(maxsize=512)
def render_note_html(text: str) -> str:
    """The sanitized HTML of a note's Markdown ``text`` (a ``str`` of at most
    :data:`~automate.workflows.notes.MAX_NOTE_CHARS` characters; longer text raises
    ``ValueError``: callers check the size first and answer the user).

    Safe to insert into a page as HTML: only :data:`ALLOWED_TAGS` and
    :data:`ALLOWED_ATTRIBUTES`, links only to :data:`ALLOWED_PROTOCOLS`.
    """
    if len(text) > MAX_NOTE_CHARS:
        raise ValueError(f"a note holds at most {MAX_NOTE_CHARS} characters, got {len(text)}")
    html = _markdown().convert(text)
    return str(_cleaner().clean(html))
