"""The copilot in the studio: ask for a proposal, decide on it, start a workflow from one.

The endpoints never change a draft. ``propose`` answers the checked proposal
(``automate.copilot.service.propose``) plus ``diff``, what it changes against the
definition the request started from, so the canvas can draw it; the canvas applies an
accepted proposal itself, through the draft PUT (one undo step), then calls ``decide``.
The wizard's ``create_from_proposal`` re-validates the definition it is sent (the
browser holds it meanwhile) with the draft PUT's checks before it creates the workflow.
Errors answer in the one error shape (``automate.api.errors``); bad input changes nothing.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from automate.api.errors import json_error, request_trace_id
from automate.copilot import service
from automate.exceptions import AutomateError
from automate.guard.http import form_json, json_body
from automate.tenants.models import Tenant
from automate.tenants.queries import tenant_for_write
from automate.typing import acting_user
from automate.workflows.exceptions import WorkflowValidationError
from automate.workflows.limits import check_definition_limits
from automate.workflows.models import Workflow
from automate.workflows.services import (
    check_workflow_texts,
    create_workflow,
    literal_secret_problems,
)
from automate.workflows.template_checks import refuse_unsafe_templates
from studio.access import (
    CHANGE_WORKFLOW,
    needs_permission,
    studio_guard,
    studio_json_guard,
    studio_view,
    user_tenants,
)
from studio.services import definition_diff_json, proposal_entries
from studio.views.common import visible
from studio.views.dashboard import editor_url, unique_slug, wizard_context

_KEYS = ("trigger_spec", "rule_spec", "graph")
#: Earlier prompts a follow-up may carry (oldest first); older ones are not needed to
#: read "only for EUR" in context.
MAX_CONVERSATION = 20
_PROPOSAL_ID = re.compile(r"^[0-9a-f]{32}$")


class _BadRequest(Exception):
    def __init__(self, message: str, fields: dict[str, str]) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


def _shape_of_definition(value: Any, where: str) -> dict[str, str]:
    """What is wrong with a ``{trigger_spec, rule_spec, graph}`` object, by field."""
    if not isinstance(value, dict):
        return {where: "must be a JSON object with trigger_spec, rule_spec and graph"}
    problems: dict[str, str] = {}
    unknown = sorted(set(value) - set(_KEYS))
    if unknown:
        problems[where] = f"has unknown keys: {', '.join(unknown)}"
    for key in ("trigger_spec", "rule_spec"):
        if key in value and not isinstance(value[key], dict):
            problems[f"{where}.{key}"] = "must be a JSON object"
    if "graph" in value:
        graph = value["graph"]
        if not (
            isinstance(graph, dict)
            and isinstance(graph.get("nodes"), list)
            and isinstance(graph.get("edges"), list)
        ):
            problems[f"{where}.graph"] = "must be an object with a 'nodes' list and an 'edges' list"
        elif not all(isinstance(item, dict) for item in graph["nodes"] + graph["edges"]):
            problems[f"{where}.graph"] = "every node and every edge must be a JSON object"
    return problems


def _ask(body: Any, *, with_current: bool) -> tuple[str, dict[str, Any] | None, list[str]]:
    """``(prompt, current, conversation)`` from a request body, or ``_BadRequest``."""
    if not isinstance(body, dict):
        raise _BadRequest(gettext("The request must be a JSON object."), {"body": "not an object"})
    fields: dict[str, str] = {}
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        fields["prompt"] = "must be a non-empty string"
    elif len(prompt) > service.MAX_PROMPT_CHARS:
        fields["prompt"] = f"must be at most {service.MAX_PROMPT_CHARS} characters"
    current = body.get("current")
    if current is not None:
        if not with_current:
            fields["current"] = "a new workflow starts from nothing; leave it out"
        else:
            fields.update(_shape_of_definition(current, "current"))
    conversation = body.get("conversation", [])
    if not isinstance(conversation, list) or not all(
        isinstance(item, str) and len(item) <= service.MAX_PROMPT_CHARS for item in conversation
    ):
        fields["conversation"] = (
            f"must be a list of earlier prompts (strings of at most "
            f"{service.MAX_PROMPT_CHARS} characters)"
        )
    elif len(conversation) > MAX_CONVERSATION:
        fields["conversation"] = f"must hold at most {MAX_CONVERSATION} earlier prompts"
    unknown = sorted(set(body) - {"prompt", "current", "conversation"})
    if unknown:
        fields["body"] = f"unknown keys: {', '.join(unknown)}"
    if fields:
        raise _BadRequest(gettext("The copilot request is not in the expected shape."), fields)
    return prompt.strip(), current, conversation  # type: ignore[union-attr]


def _error(request: HttpRequest, exc: AutomateError) -> HttpResponse:
    response = json_error(request, exc.http_status, exc.code, exc.message, exc.details)
    retry_after = (exc.details or {}).get("retry_after")
    if exc.http_status == 429 and isinstance(retry_after, int | float) and retry_after > 0:
        response["Retry-After"] = str(int(retry_after + 0.999))
    return response


def _propose(
    request: HttpRequest,
    *,
    tenant: Tenant,
    workflow_id: int | None,
    saved: dict[str, Any] | None,
) -> HttpResponse:
    """Answer a proposal; ``saved`` is the stored draft (``None`` for a new workflow),
    the starting point when the body names no ``current``."""
    body = json_body(request)  # size, depth, numbers, text: refused with a 4xx by the guard
    try:
        prompt, current, conversation = _ask(body, with_current=saved is not None)
        if current is None:
            current = saved
        if current is not None:
            check_definition_limits(**{k: current[k] for k in _KEYS if k in current})
        proposal = service.propose(
            tenant=tenant,
            prompt=prompt,
            current=current,
            user=acting_user(request),
            conversation=conversation,
            workflow_id=workflow_id,
            trace_id=request_trace_id(request),
        )
    except _BadRequest as exc:
        return json_error(request, 400, "invalid_request", exc.message, {"fields": exc.fields})
    except AutomateError as exc:  # CopilotError, BudgetExceededError, limits: their status
        return _error(request, exc)
    answer = proposal.as_json()
    answer["diff"] = definition_diff_json(proposal.before, proposal.definition)
    return JsonResponse(answer)


def _entries(proposal_id: str, tenants: list[Tenant]) -> dict[str, Any]:
    """The proposal's audit entries by action (none for an id that is not one)."""
    if not _PROPOSAL_ID.match(proposal_id):
        return {}
    return proposal_entries(proposal_id, tenants=tenants)


def _decide(
    request: HttpRequest, proposal_id: str, tenants: list[Tenant], workflow_id: int | None
) -> HttpResponse:
    body = json_body(request)
    accepted = body.get("accepted") if isinstance(body, dict) else None
    if not isinstance(accepted, bool) or set(body) != {"accepted"}:
        return json_error(
            request,
            400,
            "invalid_request",
            gettext('Send {"accepted": true} or {"accepted": false}.'),
            {"fields": {"accepted": "must be true or false"}},
        )
    entries = _entries(proposal_id, tenants)
    proposed = entries.get("copilot.proposed")
    details = proposed.details if proposed is not None else {}
    if proposed is None or details.get("workflow_id", workflow_id) != workflow_id:
        return json_error(
            request,
            404,
            "resource_not_found",
            gettext("There is no such copilot proposal."),
            {"proposal_id": proposal_id[:40]},
        )
    decided = next((a for a in ("copilot.accepted", "copilot.rejected") if a in entries), None)
    if decided is None:
        service.record_decision(
            proposal_id=proposal_id,
            accepted=accepted,
            tenant=proposed.tenant,
            user=acting_user(request),
        )
        decided = "copilot.accepted" if accepted else "copilot.rejected"
    return JsonResponse({"id": proposal_id, "decision": decided.split(".", 1)[1]})


@studio_json_guard
@studio_view
@needs_permission(CHANGE_WORKFLOW, json=True)
@require_POST
def propose(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """POST ``{"prompt", "current"?, "conversation"?}`` → the proposal and its ``diff``.

    ``current`` is what the canvas shows (unsaved edits included; the saved draft when
    left out). The draft is not changed.
    """
    workflow = _workflow(request, workflow_id)
    if workflow is None:
        return _no_workflow(request, workflow_id)
    saved = {
        "trigger_spec": workflow.draft_trigger_spec,
        "rule_spec": workflow.draft_rule_spec,
        "graph": workflow.draft_graph,
    }
    return _propose(request, tenant=workflow.tenant, workflow_id=workflow.pk, saved=saved)


@studio_json_guard
@studio_view
@needs_permission(CHANGE_WORKFLOW, json=True)
@require_POST
def decide(request: HttpRequest, workflow_id: int, proposal_id: str) -> HttpResponse:
    """POST ``{"accepted": bool}``: audit the user's decision on a proposal of this
    workflow (``copilot.accepted`` / ``copilot.rejected``, once) → ``{"id", "decision"}``."""
    workflow = _workflow(request, workflow_id)
    if workflow is None:
        return _no_workflow(request, workflow_id)
    return _decide(request, proposal_id, [workflow.tenant], workflow.pk)


def _workflow(request: HttpRequest, workflow_id: int) -> Workflow | None:
    """The workflow if it is one of the user's tenants' (else None: not disclosed)."""
    workflows = visible(Workflow.objects.select_related("tenant"), request)
    return workflows.filter(pk=workflow_id).first()


def _no_workflow(request: HttpRequest, workflow_id: int) -> HttpResponse:
    return json_error(
        request,
        404,
        "resource_not_found",
        gettext("There is no such workflow."),
        {"workflow_id": workflow_id},
    )


def _wizard_tenant(request: HttpRequest) -> Tenant:
    return tenant_for_write(request.user, None)


@studio_json_guard
@studio_view
@needs_permission(CHANGE_WORKFLOW, json=True)
@require_POST
def propose_new(request: HttpRequest) -> HttpResponse:
    """The wizard's copilot: POST ``{"prompt", "conversation"?}`` → a proposal for a new
    workflow (starting from nothing) and its ``diff``."""
    try:
        tenant = _wizard_tenant(request)
    except AutomateError as exc:
        return _error(request, exc)
    return _propose(request, tenant=tenant, workflow_id=None, saved=None)


@studio_json_guard
@studio_view
@needs_permission(CHANGE_WORKFLOW, json=True)
@require_POST
def decide_new(request: HttpRequest, proposal_id: str) -> HttpResponse:
    """The wizard's "Discard": audit a rejected proposal for a new workflow."""
    return _decide(request, proposal_id, list(user_tenants(request)), None)


def _definition_problems(definition: Any) -> dict[str, str]:
    problems = _shape_of_definition(definition, "definition")
    if not problems and set(definition) != set(_KEYS):
        problems["definition"] = "must hold trigger_spec, rule_spec and graph"
    return problems


@studio_guard
@studio_view
@needs_permission(CHANGE_WORKFLOW)
@require_POST
def create_from_proposal(request: HttpRequest) -> HttpResponse:
    """Create a workflow whose draft is an accepted proposal; opens the editor.

    Form fields: ``workflow_name``, ``definition`` (the proposal's definition as JSON) and
    ``proposal_id`` (audited as accepted when given). The definition is checked as the
    draft PUT checks it (shape, size limits, unsafe templates) and refused with a literal
    value in a secret field; a refusal re-renders the wizard with a 400 and creates nothing.
    """
    name = request.POST.get("workflow_name", "").strip() or gettext("Untitled workflow")
    definition = form_json(request, "definition", what="The proposal", default="null")
    proposal_id = request.POST.get("proposal_id", "").strip()
    error = ""
    problems = _definition_problems(definition)
    if problems:
        error = gettext("The proposal is not a workflow definition: %(problems)s") % {
            "problems": "; ".join(f"{k} {v}" for k, v in problems.items())
        }
    else:
        try:
            check_workflow_texts(name=name)
            check_definition_limits(**definition)
            refuse_unsafe_templates(definition["graph"])
            secrets = literal_secret_problems(graph=definition["graph"])
            if secrets:
                error = "; ".join(p["message"] for p in secrets)
        except WorkflowValidationError as exc:
            error = "; ".join(str(p.get("message")) for p in exc.problems) or exc.message
        except AutomateError as exc:
            error = exc.message
    tenant: Tenant | None = None
    if not error:
        try:
            tenant = _wizard_tenant(request)
            workflow = create_workflow(
                name=name,
                slug=unique_slug(tenant, name),
                tenant=tenant,
                created_by=acting_user(request),
                **definition,
            )
        except AutomateError as exc:
            error = exc.message
        else:
            entries = _entries(proposal_id, [tenant])
            if "copilot.proposed" in entries and not (
                {"copilot.accepted", "copilot.rejected"} & set(entries)
            ):
                service.record_decision(
                    proposal_id=proposal_id, accepted=True, tenant=tenant, user=acting_user(request)
                )
            return redirect(editor_url(workflow))
    return render(
        request,
        "studio/wizard.html",
        {**wizard_context(), "name": name, "error": error},
        status=400,
    )
