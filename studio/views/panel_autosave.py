"""The node panel's autosave: the panel form posted with ``Accept: application/json``.

The editor saves a panel as the user types (debounced), when a field loses focus, before
another node's panel opens and before the page unloads (static/studio/editor/
panel_autosave.js). The form carries the draft ``revision`` it was edited from, the same
compare-and-set as the canvas autosave (``draft.json``), so two tabs conflict cleanly.

Answers, never a partial write:

* 200 ``{"revision", "node_id", "warnings": {field: [...]}, "problems": [...]}``: saved;
  ``warnings`` (by form field name, ``"_"`` for the whole form) are what is saved but
  worth fixing, ``problems`` what keeps this node from being published;
* 400 ``invalid_panel_input`` in the error shape, ``details.fields`` by form field name:
  nothing saved (also a refusal of the input guard, in its own code);
* 409 ``stale_draft``: the draft moved on since the form's revision, nothing saved.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext, gettext_lazy

from automate.api.errors import json_error
from automate.workflows.graph import NodeType
from automate.workflows.models import Workflow
from automate.workflows.specs import trigger_problems
from studio import services
from studio.access import CHANGE_WORKFLOW, needs_permission, studio_json_guard
from studio.forms import SchemaField
from studio.views.common import workflow_or_404
from studio.views.panel_form import (
    GENERAL_KEYS,
    SOME_INPUTS,
    condition_warning,
    messages_by_field,
    panel_node,
    save_panel,
    warnings_by_field,
)

STALE_MESSAGE = gettext_lazy(
    "Someone else changed this workflow since you opened it; reload to see it."
)


def stale_draft(request: HttpRequest, workflow: Workflow) -> HttpResponse:
    """409 ``stale_draft`` in the error shape, ``details.revision`` the draft's revision now:
    the answer of every autosave (a node panel's, the rule's) posted at an older revision."""
    return json_error(
        request, 409, "stale_draft", str(STALE_MESSAGE), {"revision": workflow.draft_revision}
    )


def wants_json(request: HttpRequest) -> bool:
    """The request asks for JSON (the autosave), not for the panel's HTML (htmx)."""
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and not request.headers.get("HX-Request")


def _node_problems(workflow: Workflow, node: dict[str, Any]) -> list[str]:
    node_id = str(node.get("id"))
    found = [p["message"] for p in services.draft_problems(workflow) if p.get("node_id") == node_id]
    if node.get("type") == NodeType.TRIGGER:
        spec = workflow.draft_trigger_spec if isinstance(workflow.draft_trigger_spec, dict) else {}
        found += [f"{p['field']} {p['message']}" for p in trigger_problems(spec)]
    return found


def _refusal_message(
    general: list[str], fields: dict[str, list[str]], schema: list[SchemaField] | None
) -> str:
    """The one sentence the panel's notice shows: why nothing was saved."""
    if general:
        return general[0]
    if len(fields) != 1:
        return gettext("Nothing was saved: fix the fields marked below.")
    # One refused field: say which and why ("Lookup is not valid JSON: …").
    name, messages = next(iter(fields.items()))
    label = next((f.label for f in schema or [] if f.html_name == name), "")
    return f"{label} {messages[0]}" if label else messages[0]


@studio_json_guard
@needs_permission(CHANGE_WORKFLOW, json=True)
def autosave_node(request: HttpRequest, workflow_id: int, node_id: str) -> HttpResponse:
    """Save the posted panel form into the draft's node, or say in the error shape why not."""
    workflow = workflow_or_404(request, workflow_id)
    node, _ = panel_node(workflow, node_id)
    if node is None:
        return json_error(
            request,
            404,
            "resource_not_found",
            gettext("The draft has no step %(node_id)r.") % {"node_id": node_id},
            {"node_id": node_id},
        )
    outcome = save_panel(request, workflow, node)
    if outcome.stale:
        return stale_draft(request, outcome.workflow)
    if not outcome.saved:
        fields = messages_by_field(outcome.errors, outcome.fields)
        general = [
            msg
            for key in sorted(GENERAL_KEYS)
            for msg in outcome.errors.get(key, [])
            if msg != str(SOME_INPUTS)  # said by the fields themselves
        ]
        return json_error(
            request,
            400,
            "invalid_panel_input",
            _refusal_message(general, fields, outcome.fields),
            {"fields": fields, "general": general},
        )
    warnings = warnings_by_field(outcome.node)
    warning = condition_warning(outcome.node)
    if warning:
        warnings["condition"] = [warning]
    return JsonResponse(
        {
            "revision": outcome.workflow.draft_revision,
            "node_id": node_id,
            "warnings": warnings,
            "problems": _node_problems(outcome.workflow, outcome.node),
        }
    )
