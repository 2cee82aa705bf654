"""Switch a workflow on or off, archive it and restore it; whether its draft has changes
that are not live yet.

There is no "delete" in the studio: archiving is the studio's delete. An archived workflow
is switched off (it starts no new runs), hidden from the workflow list, and keeps its
versions, runs and audit history, so nothing a run points at disappears; "Restore" brings
it back, still switched off. Deleting for good is the admin's (and it refuses while any
run exists: a run's version is protected). See docs/howto/studio.md, "Switching a workflow
off, archiving it".

Each change needs ``automate.publish_workflow`` (it decides what runs, like publishing),
is tenant-scoped (another tenant's workflow is a 404) and audited by the service.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import BooleanField, Case, F, Q, Value, When
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from automate.api.errors import json_error
from automate.exceptions import AutomateError
from automate.typing import acting_user
from automate.workflows import services
from automate.workflows.models import Workflow
from studio.access import (
    ERROR_TEMPLATE,
    PUBLISH_WORKFLOW,
    needs_permission,
    studio_guard,
    studio_json_guard,
    studio_view,
)
from studio.views.common import workflow_or_404

#: The menu's switch on/off, archive and restore items, plus (out of band) the top bar's badges.
CONTROLS = "studio/partials/lifecycle_swap.html"


def has_unpublished_changes(workflow: Workflow) -> bool:
    """The draft differs from the live version (publishing would change what runs).

    False for a workflow never published: its badge already says "draft".
    """
    live = workflow.live_version
    if live is None:
        return False
    return (
        workflow.draft_trigger_spec != live.trigger_spec
        or (workflow.draft_rule_spec or {}) != (live.rule_spec or {})
        or workflow.draft_graph != live.graph
    )


def unpublished_changes() -> Case:
    """``has_unpublished_changes`` as a query expression (a boolean annotation), so a
    list compares definitions in the database instead of loading them: PostgreSQL
    compares the ``jsonb`` values, SQLite the stored JSON text (a version's text is
    written from the draft's, so equal definitions are equal texts)."""
    same = (
        Q(draft_trigger_spec=F("live_version__trigger_spec"))
        & Q(draft_rule_spec=F("live_version__rule_spec"))
        & Q(draft_graph=F("live_version__graph"))
    )
    return Case(
        When(live_version__isnull=True, then=Value(False)),
        When(same, then=Value(False)),
        default=Value(True),
        output_field=BooleanField(),
    )


def lifecycle_status(workflow: Workflow) -> dict[str, object]:
    """What the editor's top bar shows about the workflow's state."""
    live = workflow.live_version
    return {
        "published": live is not None,
        "version": live.version_num if live else None,
        "unpublished": has_unpublished_changes(workflow),
        "active": workflow.is_active,
        "archived": workflow.archived_at is not None,
    }


@studio_json_guard
@studio_view
@require_GET
def status(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """The top bar's state as JSON (read again after a panel changed the draft)."""
    return JsonResponse(lifecycle_status(workflow_or_404(request, workflow_id)))


def _from_dashboard(request: HttpRequest) -> bool:
    return request.POST.get("from") == "dashboard" or not getattr(request, "htmx", False)


def _change(
    request: HttpRequest, workflow_id: int, change: Callable[[Workflow], Workflow]
) -> HttpResponse:
    workflow = workflow_or_404(request, workflow_id)
    try:
        workflow = change(workflow)
    except AutomateError as exc:
        if getattr(request, "htmx", False):
            return json_error(request, exc.http_status, exc.code, exc.message, exc.details)
        context = {"message": exc.message, "code": exc.code, "status": exc.http_status}
        return render(request, ERROR_TEMPLATE, context, status=exc.http_status)
    # Leaving the editor after an archive: the workflow is no longer in the lists.
    if _from_dashboard(request) or workflow.archived_at is not None:
        target = reverse("studio:dashboard")
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(target)
        return redirect(target)
    workflow = workflow_or_404(request, workflow.pk)  # with its live version again
    return render(request, CONTROLS, {"workflow": workflow, "status": lifecycle_status(workflow)})


@studio_guard
@studio_view
@needs_permission(PUBLISH_WORKFLOW)
@require_POST
def activate(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """Switch the workflow on: matching events start runs again."""
    actor = acting_user(request)
    return _change(
        request,
        workflow_id,
        lambda wf: services.set_workflow_active(workflow=wf, active=True, actor=actor),
    )


@studio_guard
@studio_view
@needs_permission(PUBLISH_WORKFLOW)
@require_POST
def deactivate(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """Switch the workflow off: it starts no new runs; runs already started go on."""
    actor = acting_user(request)
    return _change(
        request,
        workflow_id,
        lambda wf: services.set_workflow_active(workflow=wf, active=False, actor=actor),
    )


@studio_guard
@studio_view
@needs_permission(PUBLISH_WORKFLOW)
@require_POST
def archive(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """Archive the workflow (switched off, hidden, history kept, restorable)."""
    actor = acting_user(request)
    return _change(
        request, workflow_id, lambda wf: services.archive_workflow(workflow=wf, actor=actor)
    )


@studio_guard
@studio_view
@needs_permission(PUBLISH_WORKFLOW)
@require_POST
def restore(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """Bring an archived workflow back to the list, still switched off."""
    actor = acting_user(request)
    return _change(
        request, workflow_id, lambda wf: services.restore_workflow(workflow=wf, actor=actor)
    )
