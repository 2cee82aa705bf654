"""The trigger node's live sections: a webhook trigger's endpoint (URL, signing secret,
a signed test command, recent deliveries) and a schedule trigger's next fire times.

The settings themselves (slug, scheme; cron, time zone, missed ticks) are fields of the
node panel's form (``trigger_form``); saving it creates or updates the endpoint. These
views read what was saved, except ``webhook_secret``, which makes a new signing secret,
stores it as the tenant's secret and shows its value in that one answer only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from automate.api.errors import json_error
from automate.exceptions import AutomateError
from automate.governance.models import StoredSecret
from automate.triggers import services as hooks
from automate.triggers.cron import next_ticks, schedule_problems
from automate.triggers.models import WebhookDelivery, WebhookEndpoint
from automate.typing import acting_user
from automate.workflows.models import Workflow
from studio.access import (
    CHANGE_WORKFLOW,
    has_permission,
    needs_permission,
    studio_guard,
    studio_view,
)
from studio.views.common import panel, workflow_or_404

WEBHOOK_TEMPLATE = "studio/partials/webhook_panel.html"
NEW_KEY_TEMPLATE = "studio/partials/webhook_secret.html"
DELIVERIES_TEMPLATE = "studio/partials/webhook_deliveries.html"
SCHEDULE_TEMPLATE = "studio/partials/schedule_preview.html"
RECENT_DELIVERIES = 10
NEXT_TICKS = 5


def _endpoint(workflow: Workflow) -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.filter(workflow=workflow).select_related("tenant").first()


def _url(request: HttpRequest, endpoint: WebhookEndpoint) -> str:
    return request.build_absolute_uri(reverse("automate_hooks:receive", args=[endpoint.slug]))


def _test_command(request: HttpRequest, endpoint: WebhookEndpoint, secret: str | None) -> str:
    if secret is None:
        return ""
    try:
        headers, body = hooks.test_delivery(endpoint, secret)
    except NotImplementedError:  # a connector trigger that offers no test delivery
        return ""
    return hooks.curl_command(_url(request, endpoint), headers, body)


def _deliveries(endpoint: WebhookEndpoint | None) -> list[WebhookDelivery]:
    if endpoint is None:
        return []
    return list(
        WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-id")[:RECENT_DELIVERIES]
    )


def _no_store(response: HttpResponse) -> HttpResponse:
    # Signed commands and secret values must not sit in a browser or proxy cache.
    response["Cache-Control"] = "no-store"
    return response


@studio_guard
@studio_view
@require_GET
def webhook_panel(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """The webhook trigger's endpoint: URL, scheme, secret state, test command, deliveries."""
    workflow = workflow_or_404(request, workflow_id)
    endpoint = _endpoint(workflow)
    can_change = has_permission(request.user, CHANGE_WORKFLOW)
    context: dict[str, Any] = {
        "workflow": workflow,
        "endpoint": endpoint,
        "deliveries": _deliveries(endpoint),
        "can_change": can_change,
        "can_store": hooks.can_store_secrets(),
    }
    if endpoint is not None:
        secret = hooks.signing_secret(endpoint)
        context.update(
            {
                "url": _url(request, endpoint),
                "has_secret": secret is not None,
                "stored_here": StoredSecret.objects.filter(
                    tenant=endpoint.tenant, name=endpoint.secret_name
                ).exists(),
                # A signed command is a delivery anyone could send: only for editors.
                "command": _test_command(request, endpoint, secret) if can_change else "",
            }
        )
    return _no_store(panel(request, WEBHOOK_TEMPLATE, context))


@studio_guard
@studio_view
@needs_permission(CHANGE_WORKFLOW, json=True)
@require_POST
def webhook_secret(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """Create (or rotate) the endpoint's signing secret; its value is in this answer only."""
    workflow = workflow_or_404(request, workflow_id)
    endpoint = _endpoint(workflow)
    if endpoint is None:
        return json_error(
            request,
            409,
            "webhook_not_saved",
            gettext("Save the webhook trigger first: its endpoint does not exist yet."),
        )
    try:
        value, rotated = hooks.new_signing_secret(endpoint=endpoint, actor=acting_user(request))
    except AutomateError as exc:
        return json_error(request, exc.http_status, exc.code, exc.message, exc.details)
    context = {"workflow": workflow, "endpoint": endpoint, "value": value, "rotated": rotated}
    response = panel(request, NEW_KEY_TEMPLATE, context)
    # The endpoint section reloads: secret state and a test command signed with the new one.
    return _no_store(trigger_client_event(response, "automate:secret-changed"))


@studio_guard
@studio_view
@require_GET
def webhook_deliveries(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """The latest deliveries to the workflow's endpoint and how each was answered."""
    workflow = workflow_or_404(request, workflow_id)
    endpoint = _endpoint(workflow)
    context = {"workflow": workflow, "endpoint": endpoint, "deliveries": _deliveries(endpoint)}
    return panel(request, DELIVERIES_TEMPLATE, context)


def _schedule_from(request: HttpRequest) -> dict[str, Any]:
    return {
        "cron": request.GET.get("cron", "").strip(),
        "timezone": request.GET.get("timezone", "").strip() or "UTC",
        "missed": request.GET.get("missed", "").strip() or "skip",
    }


@studio_guard
@studio_view
@require_GET
def schedule_preview(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """The next five fire times of the cron and time zone given (as typed, not saved).

    HTMX asks for the panel's partial (problems shown in it); any other client gets JSON:
    ``{"next": [iso, ...]}`` or 400 ``invalid_schedule`` with ``details.fields``.
    """
    workflow = workflow_or_404(request, workflow_id)
    schedule = _schedule_from(request)
    problems: dict[str, str] = {}
    if not schedule["cron"]:
        problems["cron"] = gettext("Type a cron expression, such as 0 9 * * 1-5.")
    else:
        for found in schedule_problems(schedule):
            problems.setdefault(found["field"].rpartition(".")[2], found["message"])
    ticks: list[datetime] = []
    if not problems:
        ticks = next_ticks(
            schedule["cron"], tz=schedule["timezone"], now=timezone.now(), count=NEXT_TICKS
        )
    if not getattr(request, "htmx", False):
        if problems:
            return json_error(
                request,
                400,
                "invalid_schedule",
                gettext("The schedule cannot run: %(why)s")
                % {"why": "; ".join(f"{k}: {v}" for k, v in problems.items())},
                {"fields": problems},
            )
        return JsonResponse({"next": [tick.isoformat() for tick in ticks]})
    shown = [
        # Shown in the schedule's own zone (the template filters would convert to UTC).
        {"iso": tick.isoformat(), "label": tick.strftime("%a %Y-%m-%d %H:%M (UTC%z)")}
        for tick in ticks
    ]
    context = {"workflow": workflow, "schedule": schedule, "problems": problems, "ticks": shown}
    return panel(request, SCHEDULE_TEMPLATE, context)
