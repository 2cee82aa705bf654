"""The node panel (``nodes/<id>/panel/``) and "test this step" (``nodes/<id>/test/``)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from automate.api.errors import json_error
from automate.events.models import Event
from automate.governance.backend_info import active_backend
from automate.governance.egress import is_url_input, policy_for
from automate.governance.redaction import redact
from automate.governance.secrets import secret_names
from automate.rules import RuleError, compile_rule
from automate.templates import TemplateError, check_template
from automate.triggers.cron import MISSED_POLICIES, schedule_problems
from automate.typing import acting_user
from automate.workflows.exceptions import WorkflowValidationError
from automate.workflows.graph import MAX_DELAY_SECONDS, NodeType
from automate.workflows.limits import limit_problems_of
from automate.workflows.models import Workflow
from automate.workflows.specs import trigger_problems
from automate.workflows.template_checks import graph_template_problems
from studio import services
from studio.access import CHANGE_WORKFLOW, needs_permission, studio_guard, studio_view
from studio.forms import SchemaField, finite_number, has_template, parse_inputs, schema_fields
from studio.views.common import (
    draft_changed,
    event_of,
    panel,
    parse_json,
    pretty,
    workflow_or_404,
)

TEMPLATE = "studio/partials/node_panel.html"
RESULT_TEMPLATE = "studio/partials/step_test_result.html"
_RETRY_FIELDS = (
    ("max_retries", gettext_lazy("Retries"), "integer"),
    ("backoff_base_seconds", gettext_lazy("Backoff base (s)"), "number"),
    ("backoff_max_seconds", gettext_lazy("Backoff max (s)"), "number"),
)
_MAX_VARIABLES = 80
_CONFIRMED = frozenset({"1", "on", "true", "yes"})


# --- what a template in this node can use ---------------------------------------------------


def _flatten(value: Any, prefix: str, out: list[str], depth: int = 0) -> None:
    if len(out) >= _MAX_VARIABLES:
        return
    if isinstance(value, dict) and value and depth < 5:
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}", out, depth + 1)
    elif isinstance(value, list) and value and depth < 5:
        _flatten(value[0], f"{prefix}.0", out, depth + 1)
    else:
        out.append(prefix)


def _variables(workflow: Workflow, node_id: str, latest: Event | None) -> dict[str, Any]:
    payload_keys: list[str] = []
    _flatten(latest.payload if latest else {}, "event.payload", payload_keys)
    if payload_keys == ["event.payload"]:
        payload_keys = []
    return {
        "payload": payload_keys,
        "payload_from": f"the latest {latest.type} event" if latest else "",
        "event": ["event.id", "event.type", "event.source", "event.created_at", "event.trace_id"],
        "execution": [
            "execution.id",
            "execution.workflow",
            "execution.version",
            "execution.attempt",
        ],
        "steps": [
            f"steps.{other}.output"
            for other in services.upstream_ids(workflow.draft_graph, node_id)
        ],
    }


def _secret_names(workflow: Workflow) -> tuple[list[str], str]:
    """The names the picker offers: the workflow tenant's own secrets, never another's."""
    try:
        return secret_names(tenant=workflow.tenant), ""
    except Exception as exc:  # a misconfigured backend must not break the panel
        return [], gettext("The secrets backend cannot list its secrets: %(error)s.") % {
            "error": type(exc).__name__
        }


# --- warnings (saved, but worth fixing) ------------------------------------------------------


def _template_warnings(value: Any, path: str, out: dict[str, list[str]], top: str) -> None:
    if isinstance(value, str) and has_template(value):
        try:
            check_template(value, path=path)
        except TemplateError as exc:
            out.setdefault(top, []).append(exc.message[:1].lower() + exc.message[1:])
    elif isinstance(value, dict):
        for key, item in value.items():
            _template_warnings(item, f"{path}.{key}", out, top)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _template_warnings(item, f"{path}[{index}]", out, top)


def _input_warnings(node: Mapping[str, Any]) -> dict[str, list[str]]:
    """Per input name: template syntax errors and schema problems (templated values are
    only checked once rendered, so they are not schema-checked here)."""
    inputs = node.get("inputs") if isinstance(node.get("inputs"), dict) else {}
    assert isinstance(inputs, dict)
    out: dict[str, list[str]] = {}
    for name, value in inputs.items():
        _template_warnings(value, f"inputs.{name}", out, name)
    spec = services.action_spec_of(node)
    if spec is not None:
        for problem in spec.input_errors(spec.with_defaults(inputs)):
            parts = problem["path"].removeprefix("inputs").lstrip(".").split(".")
            top = parts[0].split("[")[0] if parts and parts[0] else ""
            value = inputs.get(top)
            if has_template(value) or (isinstance(value, dict) and "$secret" in value):
                continue
            out.setdefault(top or "_", []).append(f"{problem['path']}: {problem['message']}")
    return out


# --- the panel ----------------------------------------------------------------------------


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
    names, secrets_error = _secret_names(workflow)
    spec = services.action_spec_of(node) if kind == NodeType.ACTION else None
    warnings = _input_warnings(node) if kind in (NodeType.ACTION, NodeType.TRANSFORM) else {}
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
        item.warnings = warnings.get(item.name, [])
        prop = url_inputs.get(item.name)
        if egress_hint and isinstance(prop, Mapping) and is_url_input(item.name, prop):
            item.policy_hint = egress_hint
    trigger: dict[str, Any] = (
        workflow.draft_trigger_spec if isinstance(workflow.draft_trigger_spec, dict) else {}
    )
    schedule: dict[str, Any] = trigger.get("schedule") or {}
    schedule = schedule if isinstance(schedule, dict) else {}
    retry: dict[str, Any] = node.get("retry") or {}
    retry = retry if isinstance(retry, dict) else {}
    values: dict[str, Any] = {
        "label": node.get("label", ""),
        "event_type": trigger.get("event_type", ""),
        "source": trigger.get("source", ""),
        "cron": schedule.get("cron", ""),
        "timezone": schedule.get("timezone", "UTC"),
        "missed": schedule.get("missed", "skip"),
        "condition": pretty(node["condition"]) if "condition" in node else "",
        "seconds": node.get("seconds", ""),
        "mapping": pretty(redact(node.get("inputs") or {})),
        "timeout_seconds": node.get("timeout_seconds", ""),
        **{key: retry.get(key, "") for key, _, _ in _RETRY_FIELDS},
    }
    if posted is not None:
        values.update({key: posted.get(key, "") for key in values})
    node_problems = [p for p in services.draft_problems(workflow) if p.get("node_id") == node_id]
    return {
        "workflow": workflow,
        "node": node,
        "node_id": node_id,
        "kind": kind,
        "spec": spec,
        "connector_unknown": kind == NodeType.ACTION and spec is None,
        "fields": fields or [],
        "values": values,
        "retry_fields": [(key, label, values[key]) for key, label, _ in _RETRY_FIELDS],
        "missed_policies": MISSED_POLICIES,
        "errors": errors or {},
        "general_warnings": warnings.get("_", []),
        "problems": node_problems,
        "saved": saved,
        "variables": _variables(workflow, node_id, latest),
        "secrets_error": secrets_error,
        "secrets_backend": active_backend().summary if spec is not None else "",
        "testable": kind in (NodeType.ACTION, NodeType.TRANSFORM, NodeType.CONDITION),
        "side_effects": services.side_effects_of(node),
        "confirm_field": services.CONFIRM_FIELD,
        "recent_events": recent,
        "sample_payload": pretty(redact(latest.payload)) if latest else "{}",
        "trigger_problems": trigger_problems(trigger) if kind == NodeType.TRIGGER else [],
    }


def _number(
    text: str,
    *,
    integer: bool,
    minimum: float,
    what: str,
    errors: dict[str, list[str]],
    key: str,
    strict_min: bool = False,
) -> float | int | None:
    text = text.strip()
    if not text:
        return None
    value = finite_number(text, integer=integer)
    if value is None:
        errors.setdefault(key, []).append(f"{what} must be a {'whole ' if integer else ''}number")
        return None
    if value < minimum or (strict_min and value == minimum):
        errors.setdefault(key, []).append(
            f"{what} must be {'above' if strict_min else 'at least'} {minimum:g}"
        )
        return None
    if not integer and float(value).is_integer():
        value = int(value)
    return value


def _read_post(
    request: HttpRequest, workflow: Workflow, node: dict[str, Any]
) -> tuple[
    dict[str, Any], list[str], dict[str, Any] | None, dict[str, list[str]], list[SchemaField] | None
]:
    """``(changes, removed keys, new trigger spec, errors, schema fields)`` from the form."""
    data = request.POST
    kind = node.get("type")
    errors: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    remove: list[str] = []
    trigger_spec: dict[str, Any] | None = None
    fields: list[SchemaField] | None = None

    label = data.get("label", "").strip()
    if label:
        changes["label"] = label[:200]
    else:
        remove.append("label")

    if kind == NodeType.TRIGGER:
        trigger_spec = (
            copy.deepcopy(workflow.draft_trigger_spec)
            if isinstance(workflow.draft_trigger_spec, dict)
            else {}
        )
        trigger_spec["event_type"] = data.get("event_type", "").strip()
        source = data.get("source", "").strip()
        if source:
            trigger_spec["source"] = source
        else:
            trigger_spec.pop("source", None)
        cron = data.get("cron", "").strip()
        if cron:
            old = trigger_spec.get("schedule")
            trigger_spec["schedule"] = {
                **(old if isinstance(old, dict) else {}),
                "cron": cron,
                "timezone": data.get("timezone", "").strip() or "UTC",
                "missed": data.get("missed", "skip"),
            }
            # A schedule that cannot run is refused here, not only at publish.
            for found in schedule_problems(trigger_spec["schedule"]):
                key = found["field"].rpartition(".")[2]
                errors.setdefault(
                    key if key in ("cron", "timezone", "missed") else "cron", []
                ).append(found["message"])
        else:
            trigger_spec.pop("schedule", None)
    elif kind == NodeType.CONDITION:
        rule, problem = parse_json(data.get("condition", ""), "The condition")
        if problem:
            errors["condition"] = [problem]
        else:
            changes["condition"] = rule
    elif kind == NodeType.DELAY:
        seconds = _number(
            data.get("seconds", ""),
            integer=False,
            minimum=0,
            what="Seconds",
            errors=errors,
            key="seconds",
        )
        if seconds is None and "seconds" not in errors:
            errors["seconds"] = [gettext("Seconds is required: how long to wait")]
        elif seconds is not None and seconds > MAX_DELAY_SECONDS:
            errors["seconds"] = [
                gettext("Seconds must be at most %(max)s (30 days)") % {"max": MAX_DELAY_SECONDS}
            ]
        else:
            changes["seconds"] = seconds
    elif kind == NodeType.TRANSFORM:
        mapping, problem = parse_json(data.get("mapping", ""), "The mapping")
        if problem:
            errors["mapping"] = [problem]
        elif not isinstance(mapping, dict):
            errors["mapping"] = [
                gettext("The mapping must be a JSON object: output name → value or template")
            ]
        else:
            changes["inputs"] = services.restore_masked(mapping, node.get("inputs") or {})
    elif kind == NodeType.ACTION:
        spec = services.action_spec_of(node)
        if spec is None:  # an unknown connector: its inputs as one JSON object
            mapping, problem = parse_json(data.get("mapping", "") or "{}", "The inputs")
            if problem or not isinstance(mapping, dict):
                errors["mapping"] = [problem or gettext("The inputs must be a JSON object")]
            else:
                changes["inputs"] = services.restore_masked(mapping, node.get("inputs") or {})
        else:
            old_inputs = node.get("inputs") if isinstance(node.get("inputs"), dict) else {}
            assert isinstance(old_inputs, dict)
            fields = schema_fields(
                spec.input_schema,
                old_inputs,
                secret_fields=spec.secret_fields(),
                secret_names=_secret_names(workflow)[0],
            )
            inputs, storable = parse_inputs(fields, data, spec.input_schema, old_inputs)
            if storable:
                changes["inputs"] = inputs
            else:
                errors["inputs"] = [gettext("Some inputs could not be saved; see the fields below")]
                for item in fields:
                    if item.kind != "secret":
                        item.value = data.get(item.html_name, "")
        retry: dict[str, Any] = {}
        for key, label_text, number_kind in _RETRY_FIELDS:
            value = _number(
                data.get(key, ""),
                integer=number_kind == "integer",
                minimum=0,
                what=str(label_text),
                errors=errors,
                key=key,
            )
            if value is not None:
                retry[key] = value
        if retry:
            changes["retry"] = retry
        else:
            remove.append("retry")
        timeout = _number(
            data.get("timeout_seconds", ""),
            integer=False,
            minimum=0,
            strict_min=True,
            what="Timeout",
            errors=errors,
            key="timeout_seconds",
        )
        if timeout is not None:
            changes["timeout_seconds"] = timeout
        else:
            remove.append("timeout_seconds")
    return changes, remove, trigger_spec, errors, fields


@studio_guard
@studio_view
@needs_permission(CHANGE_WORKFLOW)
@require_http_methods(["GET", "POST"])
def node_panel(request: HttpRequest, workflow_id: int, node_id: str) -> HttpResponse:
    """The node's settings form; POST saves them into the draft."""
    workflow = workflow_or_404(request, workflow_id)
    node = services.find_node(workflow.draft_graph, node_id)
    if node is None:
        raise Http404(f"The draft has no step {node_id!r}.")
    over = limit_problems_of(graph={"nodes": [node], "edges": []})
    if over:
        # Stored before the limits: too deep or large to show; the form starts empty and
        # saving it replaces the stored inputs.
        node = (
            {**node, "inputs": {}, "condition": {}}
            if "condition" in node
            else {**node, "inputs": {}}
        )
    if request.method == "GET":
        context = _context(request, workflow, node)
        context["over_limits"] = [p["message"] for p in over]
        return panel(request, TEMPLATE, context)

    changes, remove, trigger_spec, errors, fields = _read_post(request, workflow, node)
    if isinstance(changes.get("inputs"), dict):
        # Unsafe templates (a secret transformed, a dynamic secret name) are not saved.
        unsafe = {"nodes": [{"id": node_id, "inputs": changes["inputs"]}]}
        for problem in graph_template_problems(unsafe, unsafe_only=True):
            top = problem["field"].removeprefix("inputs").lstrip(".").split(".")[0]
            field = next((f for f in fields or [] if f.name == top.split("[")[0]), None)
            if field is not None:
                field.errors.append(problem["message"])
                errors.setdefault(
                    "inputs", [gettext("Some inputs could not be saved; see the fields below")]
                )
            else:
                errors.setdefault("mapping", []).append(problem["message"])
    if errors:
        context = _context(
            request, workflow, node, fields=fields, posted=request.POST, errors=errors
        )
        return panel(request, TEMPLATE, context)
    try:
        workflow = services.update_node(
            workflow=workflow,
            node_id=node_id,
            changes=changes,
            remove=remove,
            trigger_spec=trigger_spec,
        )
    except WorkflowValidationError as exc:  # over the definition limits: nothing saved
        errors = {"limits": [p["message"] for p in exc.problems]}
        context = _context(
            request, workflow, node, fields=fields, posted=request.POST, errors=errors
        )
        return panel(request, TEMPLATE, context, status=400)
    node = services.find_node(workflow.draft_graph, node_id) or node
    context = _context(request, workflow, node, saved=True)
    if node.get("type") == NodeType.CONDITION:
        try:
            compile_rule(node.get("condition"))
        except RuleError as exc:
            where = f" at {exc.path}" if exc.path else ""
            context["errors"] = {
                "condition": [
                    gettext("Saved as a draft, but the condition is not valid%(where)s: %(reason)s")
                    % {"where": where, "reason": exc.reason}
                ]
            }
    return draft_changed(panel(request, TEMPLATE, context), workflow)


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
    event: Event | None = None
    event_id = request.POST.get("event_id", "").strip()
    payload_text = request.POST.get("payload", "").strip()
    if event_id:
        event = event_of(workflow, event_id)
        if event is None:
            context["error"] = gettext("That event does not exist (or belongs to another tenant).")
            return panel(request, RESULT_TEMPLATE, context)
        payload: Any = event.payload
    else:
        payload, problem = parse_json(payload_text or "{}", "The sample payload")
        if problem:
            context["error"] = problem
            return panel(request, RESULT_TEMPLATE, context)
    steps, problem = parse_json(
        request.POST.get("steps", "").strip() or "{}", "The pinned step outputs"
    )
    if problem or not isinstance(steps, dict):
        context["error"] = problem or gettext(
            'Pinned step outputs must be a JSON object: {"step_id": {...output...}}.'
        )
        return panel(request, RESULT_TEMPLATE, context)
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
    context.update(
        {
            "result": result,
            "output_json": pretty(result.output) if result.ok else "",
            "inputs_json": pretty(result.inputs) if result.inputs is not None else "",
        }
    )
    return panel(request, RESULT_TEMPLATE, context)
