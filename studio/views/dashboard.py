"""``/studio/``: workflows at a glance, recent runs; ``/studio/wizard/``: start a new one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Max, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from automate.exceptions import AutomateError
from automate.execution.matching import broken_versions
from automate.execution.models import ExecutionRun
from automate.typing import acting_user
from automate.workflows.models import Workflow
from automate.workflows.services import create_workflow
from studio.access import CHANGE_WORKFLOW, needs_permission, studio_guard, studio_view, user_tenants

STARTER_GRAPH: dict[str, Any] = {
    "nodes": [
        {
            "id": "trigger",
            "type": "trigger",
            "label": "When an event arrives",
            "position": {"x": 80, "y": 160},
        },
    ],
    "edges": [],
}


def editor_url(workflow: Workflow) -> str:
    """The workflow's editor."""
    return reverse("studio:editor", args=[workflow.pk])


@studio_guard
@studio_view
@require_http_methods(["GET"])
def index(request: HttpRequest) -> HttpResponse:
    since = timezone.now() - timedelta(days=7)
    workflows = (
        Workflow.objects.filter(tenant__in=user_tenants(request))
        .select_related("live_version", "tenant")
        .annotate(
            last_run_at=Max("versions__runs__created_at"),
            runs_7d=Count("versions__runs", filter=Q(versions__runs__created_at__gte=since)),
            ok_7d=Count(
                "versions__runs",
                filter=Q(versions__runs__created_at__gte=since, versions__runs__status="succeeded"),
            ),
        )
        .order_by("name")
    )
    broken = broken_versions(wf.live_version_id for wf in workflows)
    rows = [
        {
            "workflow": wf,
            "url": editor_url(wf),
            "success_rate": round(100 * wf.ok_7d / wf.runs_7d) if wf.runs_7d else None,
            "broken": broken.get(wf.live_version_id) if wf.live_version_id else None,
        }
        for wf in workflows
    ]
    runs = (
        ExecutionRun.objects.filter(tenant__in=user_tenants(request))
        .select_related("workflow_version__workflow", "event")
        .order_by("-created_at")[:10]
    )
    return render(request, "studio/dashboard.html", {"rows": rows, "runs": runs})


@studio_guard
@studio_view
@needs_permission(CHANGE_WORKFLOW)
@require_http_methods(["GET", "POST"])
def new_workflow(request: HttpRequest) -> HttpResponse:
    """Name a new workflow; creating it opens the editor."""
    error = ""
    name = gettext("Untitled workflow")
    event_type = ""
    if request.method == "POST":
        name = request.POST.get("name", "").strip() or gettext("Untitled workflow")
        event_type = request.POST.get("event_type", "").strip()
        tenant = user_tenants(request).order_by("slug").first()
        base = slugify(name)[:80] or "workflow"
        slug = base
        n = 2
        while Workflow.objects.filter(tenant=tenant, slug=slug).exists():
            slug = f"{base}-{n}"
            n += 1
        try:
            workflow = create_workflow(
                name=name,
                slug=slug,
                tenant=tenant,
                trigger_spec={"event_type": event_type} if event_type else {},
                graph=STARTER_GRAPH,
                created_by=acting_user(request),
            )
        except AutomateError as exc:
            error = exc.message
        else:
            return redirect(editor_url(workflow))
    return render(
        request,
        "studio/wizard.html",
        {"name": name, "event_type": event_type, "error": error},
        status=400 if error else 200,
    )
