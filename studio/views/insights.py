"""Insights: charts of the user's runs (``/studio/insights/``, loaded into the dashboard) and
of one workflow's runs (``/studio/workflows/<id>/insights/``), with a time-range picker;
the same figures as JSON (``insights.json``). Figures: automate.observability.insights."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from automate.execution.models import ExecutionRun, OutboxJob
from automate.guard.http import query_text
from automate.guard.parse import InputRejected
from automate.observability.insights import COUNT_RUNS, RANGES, Window, insights, parse_window
from automate.workflows.models import Workflow
from studio.access import studio_guard, studio_json_guard, studio_view
from studio.views.common import visible, workflow_or_404

PANEL = "studio/insights/panel.html"
#: A plain GET (a bookmarked or reloaded panel URL) gets the panel in a studio page.
PAGE = "studio/insights/page.html"


def _window(request: HttpRequest) -> Window:
    return parse_window(
        query_text(request, "range", max_length=10),
        start=query_text(request, "start", max_length=40),
        end=query_text(request, "end", max_length=40),
        now=timezone.now(),
    )


def _tenant_figures(request: HttpRequest, window: Window) -> dict[str, Any]:
    runs = visible(ExecutionRun.objects.all(), request)
    jobs = visible(OutboxJob.objects.all(), request)
    return insights(runs, jobs, window)


def _workflow_figures(workflow: Workflow, window: Window) -> dict[str, Any]:
    # Literal version ids: the runs are found through (workflow_version, created_at, id).
    versions = list(workflow.versions.values_list("pk", flat=True))
    runs = ExecutionRun.objects.filter(workflow_version_id__in=versions)
    jobs = OutboxJob.objects.filter(run__workflow_version_id__in=versions)
    return insights(runs, jobs, window)


def _panel_context(url: str, window: Window, data: dict[str, Any]) -> dict[str, Any]:
    series = data["series"]
    counted_from = data["counted_from"]
    # The charts' numbers as a table, for screen readers and for reading exact figures.
    rows = [
        {
            "start": start,
            "succeeded": series["succeeded"][i],
            "failed": series["failed"][i],
            "cancelled": series["cancelled"][i],
            "unfinished": series["pending"][i] + series["running"][i],
            "dead": data["dead_letters"][i],
            "counted": counted_from is None or start.isoformat() >= counted_from,
        }
        for i, start in enumerate(window.buckets())
    ]
    return {
        "url": url,
        "window": window,
        "ranges": list(RANGES),
        "data": data,
        "rows": rows,
        # The custom end date as typed: the window ends before the next day starts.
        "end_day": window.end - timedelta(microseconds=1),
        "count_cap": f"{COUNT_RUNS:,}",
        "slowest_max": max((row["p95_ms"] or 0 for row in data["slowest_steps"]), default=0),
        "failing_max": max((row["failures"] for row in data["failing_steps"]), default=0),
    }


def _refused_range(request: HttpRequest, url: str, exc: InputRejected) -> HttpResponse:
    """The panel with its picker as the user left it and the reason, 400: the user can
    correct the dates where they typed them."""
    context = {
        "url": url,
        "ranges": list(RANGES),
        "error": exc,
        "asked": {key: request.GET.get(key, "")[:40] for key in ("range", "start", "end")},
    }
    return render(request, PANEL, context, status=exc.http_status)


@studio_guard
@studio_view
@require_GET
def tenant_insights(request: HttpRequest) -> HttpResponse:
    """The insights panel of every workflow the user can see (the dashboard loads it)."""
    try:
        window = _window(request)
    except InputRejected as exc:
        if getattr(request, "htmx", False):
            return _refused_range(request, reverse("studio:insights"), exc)
        raise
    context = _panel_context(reverse("studio:insights"), window, _tenant_figures(request, window))
    return render(request, PANEL if getattr(request, "htmx", False) else PAGE, context)


@studio_guard
@studio_view
@require_GET
def workflow_insights(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """One workflow's insights page; the range picker swaps its panel."""
    workflow = workflow_or_404(request, workflow_id)
    url = reverse("studio:workflow_insights", args=[workflow.pk])
    try:
        window = _window(request)
    except InputRejected as exc:
        if getattr(request, "htmx", False):
            return _refused_range(request, url, exc)
        raise
    context = {
        **_panel_context(url, window, _workflow_figures(workflow, window)),
        "one_workflow": True,
    }
    if getattr(request, "htmx", False):
        return render(request, PANEL, context)
    return render(request, PAGE, {**context, "workflow": workflow})


@studio_json_guard
@studio_view
@require_GET
def tenant_insights_json(request: HttpRequest) -> JsonResponse:
    """The dashboard's figures as JSON (bad ranges: 400 in the error shape)."""
    return JsonResponse(_tenant_figures(request, _window(request)))


@studio_json_guard
@studio_view
@require_GET
def workflow_insights_json(request: HttpRequest, workflow_id: int) -> JsonResponse:
    """One workflow's figures as JSON."""
    workflow = workflow_or_404(request, workflow_id)
    return JsonResponse(_workflow_figures(workflow, _window(request)))
