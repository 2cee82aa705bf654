"""The node panel (``nodes/<id>/panel/``) and "test this step" (``nodes/<id>/test/``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from automate.api.errors import json_error
from automate.events.models import Event
from automate.governance.backend_info import active_backend
from automate.governance.egress import is_url_input, policy_for
from automate.governance.redaction import redact
from automate.triggers.cron import MISSED_POLICIES
from automate.typing import acting_user
from automate.workflows.graph import NodeType
from automate.workflows.models import Workflow
from automate.workflows.specs import trigger_problems
from studio import services
from studio.access import CHANGE_WORKFLOW, needs_permission, studio_guard, studio_view
from studio.forms import SchemaField, schema_fields
from studio.sample_data import sample_data
from studio.views import expressions, run_data
from studio.views.common import (
    draft_changed,
    event_of,
    panel,
    parse_json,
    pretty,
    workflow_or_404,
)
from studio.views.connector_triggers import scheme_options
from studio.views.panel_autosave import STALE_MESSAGE, autosave_node, wants_json
from studio.views.panel_form import (
    RETRY_FIELDS,
    condition_warning,
    panel_node,
    save_panel,
    secret_names,
    warnings_by_field,
)
from studio.views.pins import pin_context
from studio.views.trigger_form import trigger_kind

TEMPLATE = "studio/partials/node_panel.html"
RESULT_TEMPLATE = "studio/partials/step_test_result.html"
_CONFIRMED = frozenset({"1", "on", "true", "yes"})


# --- the panel ----------------------------------------------------------------------------


def _trigger_event_type(node: dict[str, Any], trigger: dict[str, Any]) -> str:
    """The event type the trigger form shows: a webhook or schedule trigger just dropped
    in place of an event trigger starts empty (its own default), not with the old type."""
    kind = trigger_kind(node) if node.get("type") == NodeType.TRIGGER else "event"
    if kind != "event" and kind not in trigger:
        return ""
    return str(trigger.get("event_type", ""))


def _context(
    request: HttpRequest,
    workflow: Workflow,
    node: dict[str, Any],
    *,
    fields: list[SchemaField] | None = None,
    posted: Mapping[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    saved: bool = False,
) -> dict[str, Any]:
    node_id = str(node.get("id"))
    kind = node.get("type")
    recent = list(services.trigger_events(workflow)[: services.RECENT_EVENTS])
    latest = recent[0] if recent else None
    names, secrets_error = secret_names(workflow)
    spec = services.action_spec_of(node) if kind == NodeType.ACTION else None
    warnings = warnings_by_field(node)
    if spec is not None and fields is None:
        fields = schema_fields(
            spec.input_schema,
            node.get("inputs") or {},
            secret_fields=spec.secret_fields(),
            secret_names=names,
        )
    egress_hint = policy_for(workflow.tenant.slug).describe() if spec is not None else ""
    url_inputs = (spec.input_schema.get("properties") or {}) if spec is not None else {}
    for item in fields or []:
        item.warnings = warnings.get(item.html_name, [])
        prop = url_inputs.get(item.name)
        if egress_hint and isinstance(prop, Mapping) and is_url_input(item.name, prop):
            item.policy_hint = egress_hint
    trigger: dict[str, Any] = (
        workflow.draft_trigger_spec if isinstance(workflow.draft_trigger_spec, dict) else {}
    )
    schedule: dict[str, Any] = trigger.get("schedule") or {}
    schedule = schedule if isinstance(schedule, dict) else {}
    webhook: dict[str, Any] = trigger.get("webhook") or {}
    webhook = webhook if isinstance(webhook, dict) else {}
    retry: dict[str, Any] = node.get("retry") or {}
    retry = retry if isinstance(retry, dict) else {}
    values: dict[str, Any] = {
        "label": node.get("label", ""),
        "event_type": _trigger_event_type(node, trigger),
        "source": trigger.get("source", ""),
        "cron": schedule.get("cron", ""),
        "timezone": schedule.get("timezone", "UTC"),
        "missed": schedule.get("missed", "skip"),
        "slug": webhook.get("slug", "") or workflow.slug,
        "scheme": webhook.get("scheme", "generic"),
        "condition": pretty(node["condition"]) if "condition" in node else "",
        "seconds": node.get("seconds", ""),
        "mapping": pretty(redact(node.get("inputs") or {})),
        "timeout_seconds": node.get("timeout_seconds", ""),
        **{key: retry.get(key, "") for key, _, _ in RETRY_FIELDS},
    }
    if posted is not None:
        values.update({key: posted.get(key, "") for key in values})
    node_problems = [p for p in services.draft_problems(workflow) if p.get("node_id") == node_id]
    sample = sample_data(request, workflow, node_id, latest=latest)
    node_run_data = run_data.node_data(request, workflow, node_id)
    return {
        "workflow": workflow,
        "node": node,
        "node_id": node_id,
        "kind": kind,
        "spec": spec,
        "connector_unknown": kind == NodeType.ACTION and spec is None,
        "fields": fields or [],
        "values": values,
        "retry_fields": [(key, label, values[key]) for key, label, _ in RETRY_FIELDS],
        "missed_policies": MISSED_POLICIES,
        "trigger_kind": trigger_kind(node) if kind == NodeType.TRIGGER else "",
        "schemes": scheme_options(),
        "errors": errors or {},
        "general_warnings": warnings.get("_", []),
        "problems": node_problems,
        "saved": saved,
        "variables": expressions.variables(request, workflow, node_id, sample=sample),
        "run_data": node_run_data,
        "secrets_error": secrets_error,
        "secrets_backend": active_backend().summary if spec is not None else "",
        "testable": kind in (NodeType.ACTION, NodeType.TRANSFORM, NodeType.CONDITION),
        "side_effects": services.side_effects_of(node),
        "confirm_field": services.CONFIRM_FIELD,
        "recent_events": recent,
        "sample_payload": (
            pretty(sample.payload)
            if sample.event_from == "pinned"
            else pretty(redact(latest.payload))
            if latest
            else "{}"
        ),
        **pin_context(request, sample, node, kind, node_run_data, latest, workflow),
        "trigger_problems": trigger_problems(trigger) if kind == NodeType.TRIGGER else [],
    }


@studio_view
@require_http_methods(["GET", "POST"])
def node_panel(request: HttpRequest, workflow_id: int, node_id: str) -> HttpResponse:
    """The node's settings form; POST saves them into the draft (answered in JSON when
    JSON is asked for: the editor's autosave, see ``panel_autosave``)."""
    if request.method == "POST" and wants_json(request):
        return autosave_node(request, workflow_id, node_id)
    return _node_panel_page(request, workflow_id, node_id)


@studio_guard
@needs_permission(CHANGE_WORKFLOW)
def _node_panel_page(request: HttpRequest, workflow_id: int, node_id: str) -> HttpResponse:
    workflow = workflow_or_404(request, workflow_id)
    node, over = panel_node(workflow, node_id)
    if node is None:
        raise Http404(f"The draft has no step {node_id!r}.")
    if request.method == "GET":
        context = _context(request, workflow, node)
        context["over_limits"] = over
        return panel(request, TEMPLATE, context)

    outcome = save_panel(request, workflow, node)
    if outcome.stale:
        outcome.errors["limits"] = [str(STALE_MESSAGE)]
    if not outcome.saved:
        context = _context(
            request,
            outcome.workflow,
            node,
            fields=outcome.fields,
            posted=request.POST,
            errors=outcome.errors,
        )
        status = 400 if outcome.stale or "limits" in outcome.errors else 200
        return panel(request, TEMPLATE, context, status=status)
    context = _context(request, outcome.workflow, outcome.node, saved=True)
    warning = condition_warning(outcome.node)
    if warning:
        context["errors"] = {"condition": [warning]}
    return draft_changed(panel(request, TEMPLATE, context), outcome.workflow)


# The guard is chosen by what the request asks for: the page's HTML display, or the
# error shape for the autosave (panel_autosave wears studio_json_guard).
node_panel.input_guard = "html"  # type: ignore[attr-defined]


# --- test a step --------------------------------------------------------------------------


@studio_guard
@studio_view
@needs_permission(CHANGE_WORKFLOW)
@require_POST
def node_test(request: HttpRequest, workflow_id: int, node_id: str) -> HttpResponse:
    """Run one step of the draft on sample data and show its (redacted) output or error."""
    workflow = workflow_or_404(request, workflow_id)
    if services.find_node(workflow.draft_graph, node_id) is None:
        raise Http404(f"The draft has no step {node_id!r}.")
    context: dict[str, Any] = {"workflow": workflow, "node_id": node_id}
    sample = sample_data(request, workflow, node_id)
    event: Event | None = None
    event_id = request.POST.get("event_id", "").strip()
    payload_text = request.POST.get("payload", "").strip()
    event_from = "typed"
    if event_id == "pinned":
        if sample.event_from != "pinned":
            context["error"] = gettext(
                "The trigger has no pinned event any more (unpinned in another tab?): "
                "reopen this panel."
            )
            return panel(request, RESULT_TEMPLATE, context)
        payload: Any = sample.payload
        event_from = "pinned"
    elif event_id:
        event = event_of(workflow, event_id)
        if event is None:
            context["error"] = gettext("That event does not exist (or belongs to another tenant).")
            return panel(request, RESULT_TEMPLATE, context)
        payload = event.payload
        event_from = "event"
    else:
        payload, problem = parse_json(payload_text or "{}", "The sample payload")
        if problem:
            context["error"] = problem
            return panel(request, RESULT_TEMPLATE, context)
    typed, problem = parse_json(
        request.POST.get("steps", "").strip() or "{}", "The pinned step outputs"
    )
    if problem or not isinstance(typed, dict):
        context["error"] = problem or gettext(
            'Pinned step outputs must be a JSON object: {"step_id": {...output...}}.'
        )
        return panel(request, RESULT_TEMPLATE, context)
    # Steps the form leaves out use their pinned data, else their last run or test.
    steps = {**sample.steps, **typed}
    sample.event_from = event_from
    sample.step_from.update(dict.fromkeys(typed, "typed"))
    context["sources"] = sample.sources(["event", *steps])
    try:
        result = services.try_step(
            workflow=workflow,
            node_id=node_id,
            payload=payload,
            steps=steps,
            event=event,
            actor=acting_user(request),
            confirmed=request.POST.get(services.CONFIRM_FIELD, "") in _CONFIRMED,
        )
    except services.ConfirmationRequiredError as exc:
        return json_error(request, exc.http_status, exc.code, exc.message, exc.details)
    run_data.remember_test(
        request,
        workflow,
        node_id,
        ok=result.ok,
        inputs=result.inputs,
        output=result.output,
        error=result.error,
    )
    context.update(
        {
            "result": result,
            "run_data": run_data.node_data(request, workflow, node_id),
            "output_json": pretty(result.output) if result.ok else "",
            "inputs_json": pretty(result.inputs) if result.inputs is not None else "",
        }
    )
    return panel(request, RESULT_TEMPLATE, context)
