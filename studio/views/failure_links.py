"""The explorer's links between a failed run and its error workflow's run.

A failed run's page says "Error workflow started: <workflow> run <id>" (or why it did not
start, and how its notification went); the error workflow's run links back to the run
whose failure started it. One indexed query each, and only for the runs concerned: a
failed run, and a run whose event came from ``automate.failure``.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from automate.execution.models import ExecutionRun
from automate.failures.models import RunFailure
from automate.failures.payload import EVENT_SOURCE


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
