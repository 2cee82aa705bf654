"""Helpers the panel views share: find the user's workflow, parse JSON, answer htmx."""

from __future__ import annotations

import json
import uuid
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django_htmx.http import trigger_client_event

from automate.events.models import Event
from automate.guard.http import json_limits
from automate.guard.parse import InputRejected, load_json
from automate.tenants.scoping import scope_to_user
from automate.workflows.models import Workflow

STANDALONE = "studio/partials/standalone.html"

M = TypeVar("M", bound=Model)


def visible(queryset: QuerySet[M], request: HttpRequest, path: str = "tenant") -> QuerySet[M]:
    """``queryset`` limited to the user's tenants (their ids, read once per request)."""
    return scope_to_user(queryset, request.user, path=path)


def workflow_or_404(request: HttpRequest, workflow_id: int) -> Workflow:
    """The workflow, if it belongs to one of the user's tenants (else 404, not 403:
    other tenants' workflow ids are not disclosed)."""
    return get_object_or_404(
        visible(Workflow.objects.select_related("tenant", "live_version"), request),
        pk=workflow_id,
    )


def parse_json(text: str, what: str) -> tuple[Any, str]:
    """``(value, "")`` or ``(None, a message naming the line and column)`` for text that is
    not JSON (feedback while typing). Input the guard refuses (too large or deep, a huge
    number, a NUL or an unpaired surrogate) raises ``InputRejected``: a 4xx, nothing saved."""
    try:
        return load_json(text, what=what, limits=json_limits()), ""
    except InputRejected as exc:
        if exc.reason == "syntax":
            return None, exc.message
        raise


def panel(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    """Render a partial; a plain (non-htmx) GET gets it inside a studio page, so every
    panel also works as a page of its own."""
    if request.method == "GET" and not getattr(request, "htmx", False):
        context = {**context, "partial": template}
        template = STANDALONE
    return render(request, template, context, status=status)


def draft_changed(response: HttpResponse, workflow: Workflow) -> HttpResponse:
    """Tell the canvas to reload draft.json (contract 0002)."""
    return trigger_client_event(
        response, "automate:draft-changed", {"revision": workflow.draft_revision}
    )


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def event_of(workflow: Workflow, event_id: str) -> Event | None:
    """The event ``event_id`` of the workflow's tenant, or None (also for a malformed id)."""
    try:
        pk = uuid.UUID(event_id)
    except ValueError:
        return None
    return Event.objects.filter(pk=pk, tenant=workflow.tenant).first()
