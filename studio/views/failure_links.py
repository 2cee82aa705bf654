"""The explorer's links between a failed run and its error workflow's run.

A failed run's page says "Error workflow started: <workflow> run <id>" (or why it did not
start, and how its notification went); the error workflow's run links back to the run
whose failure started it. One indexed query each, and only for the runs concerned: a
failed run, and a run whose event came from ``automate.failure``.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from automate.execution.models import ExecutionRun
from automate.failures.models import RunFailure
from automate.failures.payload import EVENT_SOURCE
from automate.workflows.models import Workflow
from studio.access import studio_guard, studio_view

TEMPLATE = "studio/explorer/failure_links.html"
_UNFINISHED = (ExecutionRun.Status.PENDING, ExecutionRun.Status.RUNNING)


def _short(run_id: Any) -> str:
    return str(run_id)[:8]


def failure_links(execution: ExecutionRun) -> dict[str, Any]:
    """What the run page shows; ``{}`` when nothing applies.

    Keys: ``error_run_url``, ``error_run_short``, ``error_workflow`` (a started error
    run), ``note`` (why none started), ``notice`` (the notification's status label),
    ``failed_run_url``, ``failed_run_short``, ``failed_workflow`` (this run handles one).
    """
    links: dict[str, Any] = {}
    if execution.status == ExecutionRun.Status.FAILED:
        failure = (
            RunFailure.objects.filter(run_id=execution.pk)
            .select_related("error_run__workflow_version__workflow")
            .first()
        )
        if failure is not None:
            if failure.error_run is not None:
                links["error_run_url"] = reverse("studio:run", args=[failure.error_run_id])
                links["error_run_short"] = _short(failure.error_run_id)
                links["error_workflow"] = failure.error_run.workflow_version.workflow.name
            links["note"] = failure.error_workflow_note
            if failure.notice_status != RunFailure.Notice.NONE:
                links["notice"] = failure.get_notice_status_display()
                links["notice_error"] = failure.notice_error
    if execution.event.source == EVENT_SOURCE:
        handled = (
            RunFailure.objects.filter(error_run_id=execution.pk, tenant_id=execution.tenant_id)
            .select_related("run__workflow_version__workflow")
            .first()
        )
        if handled is not None:
            links["failed_run_url"] = reverse("studio:run", args=[handled.run_id])
            links["failed_run_short"] = _short(handled.run_id)
            links["failed_workflow"] = handled.run.workflow_version.workflow.name
    return links


def may_fail_with_links(execution: ExecutionRun) -> bool:
    """The run is not finished and its workflow has failure settings: the page asks again
    (``run_failure``) until the run ends, so a failure's links appear without a reload."""
    if execution.status not in _UNFINISHED:
        return False
    settings_set = (
        Q(error_workflow__isnull=False)
        | ~Q(notify_email_to="")
        | (~Q(notify_slack_channel="") & ~Q(notify_slack_token_secret=""))
    )
    return (
        Workflow.objects.filter(pk=execution.workflow_version.workflow_id)
        .filter(settings_set)
        .exists()
    )


def failure_context(execution: ExecutionRun) -> dict[str, Any]:
    """What ``failure_links.html`` needs: the links and whether to ask again."""
    return {
        "run": execution,
        "failure_links": failure_links(execution),
        "failure_waiting": may_fail_with_links(execution),
    }


@studio_guard
@studio_view
@require_GET
def run_failure(request: HttpRequest, run_id: uuid.UUID) -> HttpResponse:
    """The run page's failure links, asked again every few seconds while the run runs."""
    from studio.views.explorer import run_or_404

    return render(request, TEMPLATE, failure_context(run_or_404(request, run_id)))
