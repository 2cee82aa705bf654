"""The editor's "When a run fails" panel: the error workflow and failure notifications.

GET shows the settings (any studio user of the tenant); POST saves them through
``automate.failures.settings.update_failure_settings`` (audited), which needs
``automate.publish_workflow`` (like switching a workflow on: it decides what runs). Bad
values answer 400 with the panel again, each problem next to its field, and save nothing.
The error workflow choices are the tenant's other workflows that are not archived (plus
the current choice, whatever its state, so the form never drops it silently).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods

from automate.failures.models import RunFailure
from automate.failures.settings import FailureSettings, update_failure_settings
from automate.governance.secrets import secret_names
from automate.guard.parse import is_whole_number
from automate.typing import acting_user
from automate.workflows.exceptions import WorkflowValidationError
from automate.workflows.models import Workflow
from studio.access import PUBLISH_WORKFLOW, needs_permission, studio_guard, studio_view
from studio.views.common import panel, workflow_or_404

TEMPLATE = "studio/partials/failure_settings.html"
#: How many of the workflow's latest failures the panel lists.
RECENT = 5


def _choices(workflow: Workflow) -> list[Workflow]:
    return list(
        Workflow.objects.filter(tenant_id=workflow.tenant_id)
        .exclude(pk=workflow.pk)
        .filter(Q(archived_at__isnull=True) | Q(pk=workflow.error_workflow_id))
        .only("pk", "name", "slug", "is_active", "archived_at", "live_version_id")
        .order_by("name")[:500]
    )


def _context(workflow: Workflow, **extra: Any) -> dict[str, Any]:
    recent = (
        RunFailure.objects.filter(workflow=workflow)
        .select_related("run", "error_run")
        .order_by("-created_at")[:RECENT]
    )
    secrets = secret_names(tenant=workflow.tenant)
    return {
        "workflow": workflow,
        "choices": _choices(workflow),
        "secrets": secrets,
        "recent": list(recent),
        "values": {
            "error_workflow": workflow.error_workflow_id,
            "notify_slack_channel": workflow.notify_slack_channel,
            "notify_slack_token_secret": workflow.notify_slack_token_secret,
            "notify_email_to": workflow.notify_email_to,
            "notify_quiet_minutes": workflow.notify_quiet_minutes,
        },
        **extra,
    }


def _whole(text: str, field: str, problems: list[dict[str, str]]) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not is_whole_number(text) or len(text) > 9:
        problems.append({"field": field, "message": pgettext("studio", "Enter a whole number.")})
        return None
    return int(text)


def _posted(request: HttpRequest) -> tuple[FailureSettings, dict[str, Any], list[dict[str, str]]]:
    post = request.POST
    problems: list[dict[str, str]] = []
    raw = {
        "error_workflow": post.get("error_workflow", ""),
        "notify_slack_channel": post.get("notify_slack_channel", "").strip(),
        "notify_slack_token_secret": post.get("notify_slack_token_secret", "").strip(),
        "notify_email_to": post.get("notify_email_to", "").strip(),
        "notify_quiet_minutes": post.get("notify_quiet_minutes", "").strip(),
    }
    target = _whole(raw["error_workflow"], "error_workflow", problems)
    quiet = _whole(raw["notify_quiet_minutes"], "notify_quiet_minutes", problems)
    values = FailureSettings(
        error_workflow_id=target,
        slack_channel=raw["notify_slack_channel"],
        slack_token_secret=raw["notify_slack_token_secret"],
        email_to=raw["notify_email_to"],
        quiet_minutes=quiet or 0,
    )
    shown = {**raw, "error_workflow": target}
    return values, shown, problems


@studio_guard
@studio_view
@needs_permission(PUBLISH_WORKFLOW)
@require_http_methods(["GET", "POST"])
def failure_settings(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """The panel (GET), or save it (POST): 200 with "Saved", or 400 with the problems."""
    workflow = workflow_or_404(request, workflow_id)
    if request.method == "GET":
        return panel(request, TEMPLATE, _context(workflow))
    values, shown, problems = _posted(request)
    if not problems:
        try:
            workflow = update_failure_settings(
                workflow=workflow, values=values, actor=acting_user(request)
            )
        except WorkflowValidationError as exc:
            problems = exc.problems
    if problems:
        by_field: dict[str, list[str]] = {}
        for problem in problems:
            by_field.setdefault(problem.get("field", ""), []).append(problem["message"])
        context = _context(workflow, errors=by_field)
        context["values"] = shown
        return panel(request, TEMPLATE, context, status=400)
    return panel(request, TEMPLATE, _context(workflow, saved=True))


failure_settings.input_guard = "html"  # type: ignore[attr-defined]
