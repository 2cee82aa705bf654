"""Sticky notes in the editor: their Markdown rendered as sanitized HTML.

``POST workflows/<id>/notes/render/`` with ``{"text": "## Markdown"}`` answers
``{"html": "<h2>Markdown</h2>"}``: the HTML of ``automate.workflows.note_html`` (raw HTML,
images, scripts, styles, event handlers and ``javascript:`` links never come out). The
canvas shows a note's text as plain text until this answer arrives, so it never inserts
HTML the server did not sanitize. The draft (``draft.json``) carries the HTML of every
note it holds (``notes_html``), so opening the editor needs no extra request.

Refused, in the error shape: a workflow outside the user's tenants (404), a body that is
not ``{"text": <string>}`` (400 ``invalid_request``), text over
``MAX_NOTE_CHARS`` characters (400 ``note_too_long``); the input guard refuses bodies over
``MAX_BODY_BYTES`` (413) and bad text (NUL, unpaired surrogates: 400).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from automate.api.errors import json_error
from automate.guard.http import json_body
from automate.workflows.models import Workflow
from automate.workflows.note_html import render_note_html
from automate.workflows.notes import MAX_NOTE_CHARS, graph_notes
from studio.access import studio_json_guard, studio_view
from studio.views.common import visible

#: A note's text as JSON, with room for escaped characters (``\\u2028`` is 6 bytes).
MAX_BODY_BYTES = 6 * MAX_NOTE_CHARS + 1000


def notes_html(graph: Any) -> dict[str, str]:
    """``{note id: sanitized HTML}`` for every well-formed note of ``graph`` short enough
    to render (a longer one is a problem the editor lists; it shows as plain text)."""
    return {
        note["id"]: render_note_html(note["text"])
        for note in graph_notes(graph)
        if len(note["text"]) <= MAX_NOTE_CHARS
    }


@studio_json_guard
@studio_view
@require_POST
def render_note(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """The sanitized HTML of a sticky note's Markdown (see the module docstring)."""
    if not visible(Workflow.objects.all(), request).filter(pk=workflow_id).exists():
        return json_error(
            request,
            404,
            "resource_not_found",
            gettext("There is no such workflow."),
            {"workflow_id": workflow_id},
        )
    body = json_body(request, what=gettext("The note"), max_bytes=MAX_BODY_BYTES)
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str):
        return json_error(
            request,
            400,
            "invalid_request",
            gettext('Send the note as {"text": "<Markdown>"}.'),
            {"fields": {"text": "must be a string"}},
        )
    if len(text) > MAX_NOTE_CHARS:
        return json_error(
            request,
            400,
            "note_too_long",
            gettext("A sticky note holds at most %(limit)s characters; this one has %(count)s.")
            % {"limit": MAX_NOTE_CHARS, "count": len(text)},
            {"limit": MAX_NOTE_CHARS, "length": len(text)},
        )
    return JsonResponse({"html": render_note_html(text)})
