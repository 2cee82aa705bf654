"""Reading a node panel's form: what it changes in the draft, and what is wrong with it.

Shared by the panel page (``panels.node_panel``, an HTML form) and its autosave
(``panel_autosave``, the same form answered in JSON).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext, gettext_lazy

from automate.governance.secrets import secret_names as backend_secret_names
from automate.guard.parse import is_whole_number
from automate.rules import RuleError, compile_rule
from automate.templates import TemplateError, check_template
from automate.triggers.services import WebhookSlugTakenError, sync_webhook_endpoint
from automate.typing import acting_user
from automate.workflows.exceptions import WorkflowValidationError
from automate.workflows.graph import MAX_DELAY_SECONDS, NodeType
from automate.workflows.limits import limit_problems_of
from automate.workflows.models import Workflow
from automate.workflows.template_checks import graph_template_problems
from studio import services
from studio.forms import (
    INPUT_PREFIX,
    SchemaField,
    finite_number,
    has_template,
    parse_inputs,
    schema_fields,
)
from studio.views.common import parse_json
from studio.views.trigger_form import read_trigger

RETRY_FIELDS = (
    ("max_retries", gettext_lazy("Retries"), "integer"),
    ("backoff_base_seconds", gettext_lazy("Backoff base (s)"), "number"),
    ("backoff_max_seconds", gettext_lazy("Backoff max (s)"), "number"),
)
SOME_INPUTS = gettext_lazy("Some inputs could not be saved; see the fields below")


def secret_names(workflow: Workflow) -> tuple[list[str], str]:
    """The names the picker offers: the workflow tenant's own secrets, never another's."""
    try:
        return backend_secret_names(tenant=workflow.tenant), ""
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


def input_warnings(node: Mapping[str, Any]) -> dict[str, list[str]]:
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


def read_post(
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
        trigger_spec = read_trigger(data, workflow, node, errors)
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
                secret_names=secret_names(workflow)[0],
            )
            inputs, storable = parse_inputs(fields, data, spec.input_schema, old_inputs)
            if storable:
                changes["inputs"] = inputs
            else:
                errors["inputs"] = [str(SOME_INPUTS)]
                for item in fields:
                    if item.kind != "secret":
                        item.value = data.get(item.html_name, "")
        retry: dict[str, Any] = {}
        for key, label_text, number_kind in RETRY_FIELDS:
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


def refuse_unsafe_inputs(
    changes: Mapping[str, Any],
    node_id: str,
    fields: list[SchemaField] | None,
    errors: dict[str, list[str]],
) -> None:
    """Unsafe templates (a secret transformed, a dynamic secret name) are not saved: each
    goes on its field (or on the mapping) in ``errors``."""
    if not isinstance(changes.get("inputs"), dict):
        return
    unsafe = {"nodes": [{"id": node_id, "inputs": changes["inputs"]}]}
    for problem in graph_template_problems(unsafe, unsafe_only=True):
        top = problem["field"].removeprefix("inputs").lstrip(".").split(".")[0]
        target = next((f for f in fields or [] if f.name == top.split("[")[0]), None)
        if target is not None:
            target.errors.append(problem["message"])
            errors.setdefault("inputs", [str(SOME_INPUTS)])
        else:
            errors.setdefault("mapping", []).append(problem["message"])


#: Errors that belong to the whole form, not to one of its fields.
GENERAL_KEYS = frozenset({"inputs", "limits"})


def messages_by_field(
    errors: Mapping[str, list[str]], fields: list[SchemaField] | None
) -> dict[str, list[str]]:
    """``errors`` keyed by the form field they are about (its ``name`` attribute)."""
    out = {key: list(msgs) for key, msgs in errors.items() if key not in GENERAL_KEYS and msgs}
    for item in fields or []:
        if item.errors:
            out[item.html_name] = list(item.errors)
    return out


def warnings_by_field(node: Mapping[str, Any]) -> dict[str, list[str]]:
    """What is saved but worth fixing (template syntax, schema), by form field name;
    ``"_"`` holds what belongs to no one field."""
    kind = node.get("type")
    if kind not in (NodeType.ACTION, NodeType.TRANSFORM):
        return {}
    found = input_warnings(node)
    if kind == NodeType.TRANSFORM or services.action_spec_of(node) is None:
        # One JSON text holds every input: its warnings go under it.
        merged = [msg for msgs in found.values() for msg in msgs]
        return {"_": merged} if merged else {}
    return {(key if key == "_" else f"{INPUT_PREFIX}{key}"): msgs for key, msgs in found.items()}


# --- saving -----------------------------------------------------------------------------


def panel_node(workflow: Workflow, node_id: str) -> tuple[dict[str, Any] | None, list[str]]:
    """``(node, messages)``: the draft's node as the panel edits it. A node stored before
    the definition limits (too deep or large to show) starts empty, and ``messages`` say
    why; saving the form replaces what was stored."""
    node = services.find_node(workflow.draft_graph, node_id)
    if node is None:
        return None, []
    over = limit_problems_of(graph={"nodes": [node], "edges": []})
    if over:
        node = (
            {**node, "inputs": {}, "condition": {}}
            if "condition" in node
            else {**node, "inputs": {}}
        )
    return node, [p["message"] for p in over]


def condition_warning(node: Mapping[str, Any]) -> str:
    """A saved condition that is JSON but not valid JSONLogic: saved as a draft, and said."""
    if node.get("type") != NodeType.CONDITION:
        return ""
    try:
        compile_rule(node.get("condition"))
    except RuleError as exc:
        where = f" at {exc.path}" if exc.path else ""
        return gettext("Saved as a draft, but the condition is not valid%(where)s: %(reason)s") % {
            "where": where,
            "reason": exc.reason,
        }
    return ""


def posted_revision(data: Mapping[str, str]) -> int | None:
    """The draft revision the form was edited from (None when the form does not say,
    -1 when it says something that is not a revision)."""
    text = data.get("revision", "").strip()
    if not text:
        return None
    return int(text) if is_whole_number(text) and len(text) < 19 else -1


def lock_at_revision(workflow: Workflow, revision: int | None) -> tuple[Workflow, bool]:
    """``(locked, stale)``: the workflow row locked for the running transaction, and whether
    the draft has moved past ``revision`` (the one a form was edited from; None: not said,
    never stale). The compare-and-set of every autosave of the side panel."""
    locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
    return locked, revision is not None and revision != locked.draft_revision


@dataclass
class PanelSave:
    """What saving a panel's form did: ``workflow`` (the saved one when ``saved``),
    ``errors`` by key and on ``fields`` when nothing was saved, ``stale`` when the draft
    had moved past the form's revision (also nothing saved)."""

    workflow: Workflow
    node: dict[str, Any]
    errors: dict[str, list[str]] = field(default_factory=dict)
    fields: list[SchemaField] | None = None
    saved: bool = False
    stale: bool = False


def save_panel(request: HttpRequest, workflow: Workflow, node: dict[str, Any]) -> PanelSave:
    """Save the posted form into the draft's node, all or nothing.

    Invalid input, unsafe templates and the definition limits save nothing; a posted
    ``revision`` that is not the draft's saves nothing either (the canvas autosave's
    compare-and-set, so two tabs conflict instead of overwriting each other).
    """
    node_id = str(node.get("id"))
    changes, remove, trigger_spec, errors, fields = read_post(request, workflow, node)
    refuse_unsafe_inputs(changes, node_id, fields, errors)
    outcome = PanelSave(workflow=workflow, node=node, errors=errors, fields=fields)
    revision = posted_revision(request.POST)
    if revision == -1:
        errors.setdefault("revision", []).append(
            gettext("The form's draft revision is not a whole number: reload the panel.")
        )
    if errors:
        return outcome
    with transaction.atomic():
        locked, stale = lock_at_revision(workflow, revision)
        if stale:
            outcome.stale = True
            outcome.workflow = locked
            return outcome
        try:
            saved = services.update_node(
                workflow=locked,
                node_id=node_id,
                changes=changes,
                remove=remove,
                trigger_spec=trigger_spec,
            )
            if trigger_spec is not None and "webhook" in trigger_spec:
                # The endpoint follows the saved trigger, in the same transaction.
                sync_webhook_endpoint(
                    workflow=saved, webhook=trigger_spec["webhook"], actor=acting_user(request)
                )
        except WorkflowValidationError as exc:  # over the definition limits: nothing saved
            errors["limits"] = [p["message"] for p in exc.problems]
            return outcome
        except WebhookSlugTakenError as exc:  # taken since the form was read
            transaction.set_rollback(True)
            errors["slug"] = [exc.message]
            return outcome
    outcome.workflow = saved
    outcome.node = services.find_node(saved.draft_graph, node_id) or node
    outcome.saved = True
    return outcome
