"""The workflow editor: the page, its draft as JSON (GET/PUT), and the palette of node kinds.

The canvas (``static/studio/editor/``) holds the graph while someone edits it and saves the
whole draft with the revision it started from; the server refuses a save made from a stale
revision (``409 stale_draft``) so two editors never silently overwrite each other. See
docs/discussions/0002-studio-editor-contract.md.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from automate.api.errors import json_error
from automate.connectors import all_connectors
from automate.exceptions import AutomateError
from automate.execution.matching import broken_versions
from automate.guard.http import json_body
from automate.workflows.drafts import save_draft
from automate.workflows.models import Workflow
from automate.workflows.pins import pins_of
from automate.workflows.services import (
    publish_problems,
    publish_warnings,
)
from studio.access import (
    CHANGE_WORKFLOW,
    needs_permission,
    studio_guard,
    studio_json_guard,
    studio_view,
)
from studio.icons import NODE_TYPE_ICONS, connector_icon
from studio.services import drafter_info
from studio.views.common import visible
from studio.views.lifecycle import has_unpublished_changes, lifecycle_status
from studio.views.notes import notes_html

CONTROL_NODES: list[dict[str, Any]] = [
    {
        "kind": "condition",
        "type": "condition",
        "label": gettext_lazy("Condition"),
        "description": gettext_lazy("Go one way or the other (true / false) on a JSONLogic rule."),
        "icon": NODE_TYPE_ICONS["condition"],
        "defaults": {"condition": {"==": [1, 1]}},
    },
    {
        "kind": "delay",
        "type": "delay",
        "label": gettext_lazy("Delay"),
        "description": gettext_lazy("Wait a while before the next steps."),
        "icon": NODE_TYPE_ICONS["delay"],
        "defaults": {"seconds": 60},
    },
    {
        "kind": "transform",
        "type": "transform",
        "label": gettext_lazy("Transform"),
        "description": gettext_lazy("Reshape data for later steps."),
        "icon": NODE_TYPE_ICONS["transform"],
        "defaults": {"inputs": {}},
    },
    {
        "kind": "merge",
        "type": "merge",
        "label": gettext_lazy("Merge"),
        "description": gettext_lazy("Wait for every live branch, then continue."),
        "icon": NODE_TYPE_ICONS["merge"],
        "defaults": {},
    },
]

TRIGGER_NODES: list[dict[str, Any]] = [
    {
        "kind": "trigger",
        "type": "trigger",
        "label": gettext_lazy("When an event arrives"),
        "description": gettext_lazy("Where every run starts (one per workflow)."),
        "icon": NODE_TYPE_ICONS["trigger"],
        "defaults": {},
    },
    {
        "kind": "webhook",
        "type": "trigger",
        "label": gettext_lazy("When a webhook arrives"),
        "description": gettext_lazy(
            "Start on a signed POST to this workflow's own URL (generic HMAC, Stripe, GitHub)."
        ),
        "icon": "webhook",
        "defaults": {"trigger_kind": "webhook"},
    },
    {
        "kind": "schedule",
        "type": "trigger",
        "label": gettext_lazy("On a schedule"),
        "description": gettext_lazy("Start at cron times in a time zone."),
        "icon": "clock",
        "defaults": {"trigger_kind": "schedule"},
    },
]


def _workflow_for(request: HttpRequest, workflow_id: int) -> Workflow:
    return get_object_or_404(
        visible(Workflow.objects.select_related("tenant", "live_version"), request),
        pk=workflow_id,
    )


def _problems(workflow: Workflow) -> list[dict[str, str]]:
    # The very checks publishing makes, so the canvas badges what publishing would refuse.
    return publish_problems(workflow)


def _draft_body(workflow: Workflow) -> dict[str, Any]:
    return {
        "revision": workflow.draft_revision,
        "name": workflow.name,
        "trigger_spec": workflow.draft_trigger_spec,
        "rule_spec": workflow.draft_rule_spec,
        "graph": workflow.draft_graph,
        # The sticky notes' Markdown as sanitized HTML, by note id (studio/views/notes.py).
        "notes_html": notes_html(workflow.draft_graph),
        "problems": _problems(workflow),
        "warnings": publish_warnings(workflow),
        # Nodes holding pinned data (the canvas marks them; the data stays server-side).
        "pinned": sorted(pins_of(workflow)),
    }


def _status(workflow: Workflow) -> dict[str, Any]:
    live = workflow.live_version
    return {"published": live is not None, "version": live.version_num if live else None}


@studio_guard
@studio_view
@require_GET
def editor(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """The editor page: palette, canvas and side panel for one workflow."""
    workflow = _workflow_for(request, workflow_id)
    base = reverse("studio:editor", args=[workflow.pk])
    data = {
        "workflowId": workflow.pk,
        "baseUrl": base,
        "draftUrl": reverse("studio:draft", args=[workflow.pk]),
        "paletteUrl": reverse("studio:palette"),
        "copilotUrl": reverse("studio:copilot", args=[workflow.pk]),
        "noteRenderUrl": reverse("studio:note_render", args=[workflow.pk]),
        "status": _status(workflow),
    }
    broken = broken_versions([workflow.live_version_id]).get(workflow.live_version_id or 0)
    return render(
        request,
        "studio/editor.html",
        {
            "workflow": workflow,
            "data": data,
            "status": lifecycle_status(workflow),
            "base_url": base,
            "broken": broken,
            "copilot": drafter_info(),
        },
    )


@studio_json_guard
@studio_view
@needs_permission(CHANGE_WORKFLOW, json=True)
@require_http_methods(["GET", "PUT"])
def draft(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """GET the draft; PUT a new draft with the revision it was based on (compare-and-set)."""
    workflow = _workflow_for(request, workflow_id)
    if request.method == "GET":
        return JsonResponse(_draft_body(workflow))
    body = json_body(request)  # size, depth, numbers, text: refused with a 4xx by the guard
    try:
        locked = save_draft(workflow, body)  # shape, limits, templates, revision (409)
    except AutomateError as exc:
        return json_error(request, exc.http_status, exc.code, exc.message, exc.details)
    return JsonResponse(
        {
            "revision": locked.draft_revision,
            "problems": _problems(locked),
            "unpublished": has_unpublished_changes(locked),
            "warnings": publish_warnings(locked),
        }
    )


def _action_entries() -> list[dict[str, Any]]:
    groups = []
    for adapter in all_connectors(allowed_only=True):
        if not adapter.actions:
            continue  # a trigger-only connector (stripe, github): nothing to drop on the canvas
        described = adapter.describe()
        described["icon"] = connector_icon(described["icon"])  # a Lucide name, never emoji
        groups.append(
            {
                "code": described["code"],
                "name": described["name"],
                "description": described["description"],
                "icon": described["icon"],
                "actions": [
                    {
                        "kind": f"{described['code']}.{action['name']}",
                        "type": "action",
                        "connector": described["code"],
                        "action": action["name"],
                        "label": action["label"],
                        "description": action["description"],
                        "icon": described["icon"],
                        "input_schema": action["input_schema"],
                        "secret_fields": action["secret_fields"],
                    }
                    for action in described["actions"]
                ],
            }
        )
    return groups


@studio_json_guard
@studio_view
@require_GET
def palette(request: HttpRequest) -> HttpResponse:
    """The node kinds the canvas can add: triggers, control nodes, allowed connectors' actions."""
    return JsonResponse(
        {"triggers": TRIGGER_NODES, "logic": CONTROL_NODES, "connectors": _action_entries()}
    )
