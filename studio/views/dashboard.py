"""``/studio/``: workflows at a glance, recent runs; ``/studio/wizard/``: start a new one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import OuterRef, Subquery
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
from automate.realtime.state import runs_with_details
from automate.tenants.models import Tenant
from automate.typing import acting_user
from automate.workflows.models import Workflow, WorkflowVersion
from automate.workflows.services import create_workflow
from studio.access import CHANGE_WORKFLOW, needs_permission, studio_guard, studio_view, user_tenants
from studio.services import drafter_info
from studio.views.common import visible
from studio.views.lifecycle import unpublished_changes


def starter_graph() -> dict[str, Any]:
    """A new workflow's graph: its trigger, labelled in the creating user's language."""
    return {
        "nodes": [
            {
                "id": "trigger",
                "type": "trigger",
                "label": gettext("When an event arrives"),
                "position": {"x": 80, "y": 160},
            },
        ],
        "edges": [],
    }


def editor_url(workflow: Workflow) -> str:
    """The workflow's editor."""
    return reverse("studio:editor", args=[workflow.pk])


def unique_slug(tenant: Tenant | None, name: str) -> str:
    """A slug for ``name`` not yet taken in ``tenant``: ``big-orders``, ``big-orders-2``…"""
    base = slugify(name)[:80] or "workflow"
    slug = base
    n = 2
    while Workflow.objects.filter(tenant=tenant, slug=slug).exists():
        slug = f"{base}-{n}"
        n += 1
    return slug


#: The success figures cover the runs of the last SUMMARY_DAYS days, and at most the
#: newest SUMMARY_RUNS of them: one index walk of bounded length, however many runs exist.
SUMMARY_DAYS = 7
SUMMARY_RUNS = 2000
RECENT_RUNS = 10


def _last_runs(workflow_ids: list[int]) -> dict[int, datetime]:
    """When each workflow last ran: the newest run of each of its versions, one index
    probe per version ((workflow_version, created_at)), never a scan of the runs."""
    newest_of_version = (
        ExecutionRun.objects.filter(workflow_version=OuterRef("pk"))
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    last: dict[int, datetime] = {}
    versions = WorkflowVersion.objects.filter(workflow_id__in=workflow_ids)
    for workflow_id, when in versions.annotate(last_run_at=Subquery(newest_of_version)).values_list(
        "workflow_id", "last_run_at"
    ):
        if when is not None and (workflow_id not in last or when > last[workflow_id]):
            last[workflow_id] = when
    return last


def _run_figures(request: HttpRequest, since: datetime) -> tuple[dict[int, dict[str, int]], bool]:
    """Per workflow id: runs and successes among the newest runs since ``since``; and
    whether the SUMMARY_RUNS cap cut the window short."""
    newest = (
        visible(ExecutionRun.objects.all(), request)
        .filter(created_at__gte=since)
        .order_by("-created_at", "-id")
        .values_list("workflow_version__workflow_id", "status")[:SUMMARY_RUNS]
    )
    figures: dict[int, dict[str, int]] = {}
    seen = 0
    for workflow_id, status in newest:
        seen += 1
        entry = figures.setdefault(workflow_id, {"runs": 0, "ok": 0})
        entry["runs"] += 1
        entry["ok"] += status == ExecutionRun.Status.SUCCEEDED
    return figures, seen >= SUMMARY_RUNS


@studio_guard
@studio_view
@require_http_methods(["GET"])
def index(request: HttpRequest) -> HttpResponse:
    since = timezone.now() - timedelta(days=SUMMARY_DAYS)
    # Archived workflows are listed only when asked for (``?archived=1``), to restore them.
    show_archived = request.GET.get("archived") == "1"
    tenant_workflows = visible(Workflow.objects.all(), request)
    archived_count = tenant_workflows.filter(archived_at__isnull=False).count()
    workflows = list(
        tenant_workflows.filter(archived_at__isnull=not show_archived)
        .select_related("live_version")
        .only(
            "name",
            "slug",
            "is_active",
            "archived_at",
            "draft_trigger_spec",
            "live_version__version_num",
            "live_version__trigger_spec",
        )
        # Compared in the database: a list page reads no definition (0006-scale.md).
        .annotate(unpublished=unpublished_changes())
        .order_by("name")
    )
    figures, capped = _run_figures(request, since)
    last_runs = _last_runs([wf.pk for wf in workflows])
    broken = broken_versions(wf.live_version_id for wf in workflows)
    rows = []
    for wf in workflows:
        counts = figures.get(wf.pk, {"runs": 0, "ok": 0})
        # The names the template reads (they were annotations over every run ever made).
        wf.last_run_at = last_runs.get(wf.pk)  # type: ignore[attr-defined]
        wf.runs_7d = counts["runs"]  # type: ignore[attr-defined]
        rows.append(
            {
                "workflow": wf,
                "url": editor_url(wf),
                "success_rate": round(100 * counts["ok"] / counts["runs"])
                if counts["runs"]
                else None,
                "broken": broken.get(wf.live_version_id) if wf.live_version_id else None,
                "unpublished": wf.unpublished,
                "diff_url": reverse("studio:diff", args=[wf.pk]) + "?a=live&b=draft",
            }
        )
    # The explorer's run summary columns: no outputs, graph or event payload.
    runs = visible(runs_with_details(), request).order_by("-created_at", "-id")[:RECENT_RUNS]
    if capped:
        note = gettext("Success covers the newest %(runs)s runs of the last %(days)s days.") % {
            "runs": f"{SUMMARY_RUNS:,}",
            "days": SUMMARY_DAYS,
        }
    else:
        note = gettext("Success covers the runs of the last %(days)s days.") % {
            "days": SUMMARY_DAYS
        }
    context = {
        "rows": rows,
        "runs": runs,
        "summary_note": note,
        "show_archived": show_archived,
        "archived_count": archived_count,
    }
    return render(request, "studio/dashboard.html", context)


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
        try:
            workflow = create_workflow(
                name=name,
                slug=unique_slug(tenant, name),
                tenant=tenant,
                trigger_spec={"event_type": event_type} if event_type else {},
                graph=starter_graph(),
                created_by=acting_user(request),
            )
        except AutomateError as exc:
            error = exc.message
        else:
            return redirect(editor_url(workflow))
    return render(
        request,
        "studio/wizard.html",
        {**wizard_context(), "name": name, "event_type": event_type, "error": error},
        status=400 if error else 200,
    )


def wizard_context() -> dict[str, Any]:
    """What the wizard's "Describe it" box needs: the drafter and the copilot's URLs."""
    return {
        "name": gettext("Untitled workflow"),
        "event_type": "",
        "copilot": drafter_info(),
        "copilot_data": {
            "url": reverse("studio:copilot_new"),
            "decisionUrl": reverse("studio:copilot_new_decision", args=["PROPOSAL"]),
        },
    }
