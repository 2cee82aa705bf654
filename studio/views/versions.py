"""Publish, version history, diff between versions (or the draft), and rollback."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from automate.api.errors import json_error
from automate.exceptions import AutomateError, NotFoundError
from automate.typing import acting_user
from automate.workflows.exceptions import WorkflowValidationError
from automate.workflows.models import Workflow, WorkflowVersion
from automate.workflows.services import publish_warnings
from studio import services
from studio.access import PUBLISH_WORKFLOW, needs_permission, studio_guard, studio_view
from studio.diff_values import graph_nodes, node_value_changes
from studio.views.common import draft_changed, panel, workflow_or_404

PUBLISH = "studio/partials/publish_result.html"
HISTORY = "studio/partials/history.html"
DIFF = "studio/partials/diff.html"


def _problems_response(
    request: HttpRequest,
    workflow: Workflow,
    problems: list[dict[str, str]],
    template: str,
    context: dict[str, Any],
) -> HttpResponse:
    response = panel(request, template, {**context, "workflow": workflow, "problems": problems})
    return trigger_client_event(response, "automate:problems", _by_node(problems))


def _published_response(
    request: HttpRequest,
    workflow: Workflow,
    version: WorkflowVersion,
    template: str,
    context: dict[str, Any],
) -> HttpResponse:
    workflow.refresh_from_db()
    response = panel(request, template, {**context, "workflow": workflow, "version": version})
    trigger_client_event(response, "automate:published", {"version": version.version_num})
    trigger_client_event(response, "automate:problems", {})
    return response


def node_line(problem: dict[str, str]) -> str:
    """A problem as its node's badge lists it: the input it is about, then the message."""
    field, message = problem.get("field", ""), problem["message"]
    if field.startswith(("inputs", "condition")) and field not in message:
        return f"{field}: {message}"
    return message


def _by_node(problems: list[dict[str, str]]) -> dict[str, list[str]]:
    by_node: dict[str, list[str]] = {}
    for problem in problems:
        if problem.get("node_id"):
            by_node.setdefault(problem["node_id"], []).append(node_line(problem))
    return by_node


@studio_guard
@studio_view
@needs_permission(PUBLISH_WORKFLOW)
@require_POST
def publish(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """Validate the draft and publish it as the next version.

    Refused (400, nothing written) while ``publish_problems`` finds anything: htmx gets
    the problems as a partial, each naming its node (and the canvas badges them through
    ``automate:problems``); a client that accepts only JSON gets the error shape with
    ``details.problems`` (and ``201 {"version", "warnings"}`` once published).
    Warnings (``publish_warnings``) are listed either way and do not stop publishing.
    """
    workflow = workflow_or_404(request, workflow_id)
    notes = request.POST.get("notes", "").strip()[:2000]
    warnings = _labelled(workflow, publish_warnings(workflow))
    try:
        version = services.publish(
            workflow=workflow, published_by=acting_user(request), notes=notes
        )
    except WorkflowValidationError as exc:
        if _wants_json(request):
            details = {**exc.details, "warnings": warnings}
            return json_error(request, 400, exc.code, exc.message, details)
        problems = _labelled(workflow, exc.problems)
        response = _problems_response(request, workflow, problems, PUBLISH, {"warnings": warnings})
        response.status_code = 400
        return response
    if _wants_json(request):
        return JsonResponse({"version": version.version_num, "warnings": warnings}, status=201)
    return _published_response(request, workflow, version, PUBLISH, {"warnings": warnings})


def _wants_json(request: HttpRequest) -> bool:
    return not getattr(request, "htmx", False) and "application/json" in request.headers.get(
        "Accept", ""
    )


def _labelled(workflow: Workflow, problems: list[dict[str, str]]) -> list[dict[str, str]]:
    """The problems, each with its node's title as the canvas shows it (``label``)."""
    graph = workflow.draft_graph if isinstance(workflow.draft_graph, dict) else {}
    nodes = graph.get("nodes")
    labels = {
        node["id"]: node.get("label") or node["id"]
        for node in (nodes if isinstance(nodes, list) else [])
        if isinstance(node, dict) and isinstance(node.get("id"), str)
    }
    return [
        {**problem, "label": str(labels.get(problem.get("node_id", ""), ""))}
        for problem in problems
    ]


def _history_context(workflow: Workflow) -> dict[str, Any]:
    versions = list(
        WorkflowVersion.objects.filter(workflow=workflow, published_at__isnull=False)
        .select_related("published_by")
        .order_by("-version_num")
    )
    return {"workflow": workflow, "versions": versions, "live_id": workflow.live_version_id}


@studio_guard
@studio_view
@require_GET
def history(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """The published versions, newest first, the live one marked."""
    workflow = workflow_or_404(request, workflow_id)
    return panel(request, HISTORY, _history_context(workflow))


def _definition(workflow: Workflow, which: str) -> tuple[dict[str, Any], str]:
    """The definition named ``which`` ("draft", "live" or a version number) and its title."""
    if which == "draft":
        return (
            {
                "trigger_spec": workflow.draft_trigger_spec,
                "rule_spec": workflow.draft_rule_spec,
                "graph": workflow.draft_graph,
            },
            "the draft",
        )
    if which == "live":
        version = workflow.live_version
        if version is None:
            return {"trigger_spec": {}, "rule_spec": {}, "graph": {}}, "nothing published"
    else:
        try:
            number = int(which)
        except ValueError:
            raise NotFoundError(
                gettext("%(which)r is not a version: use a number, 'draft' or 'live'.")
                % {"which": which}
            ) from None
        version = WorkflowVersion.objects.filter(workflow=workflow, version_num=number).first()
        if version is None:
            raise NotFoundError(
                gettext("Version %(version)s of this workflow does not exist.")
                % {"version": number}
            )
    return (
        {
            "trigger_spec": version.trigger_spec,
            "rule_spec": version.rule_spec,
            "graph": version.graph,
        },
        f"v{version.version_num}",
    )


@studio_guard
@studio_view
@require_GET
def diff(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """What changed between two versions: ``?a=N&b=M`` (``draft``/``live`` too; by
    default live → draft)."""
    workflow = workflow_or_404(request, workflow_id)
    a, b = request.GET.get("a", "live").strip(), request.GET.get("b", "draft").strip()
    context: dict[str, Any] = {"workflow": workflow, "a": a, "b": b}
    try:
        before, context["a_title"] = _definition(workflow, a)
        after, context["b_title"] = _definition(workflow, b)
    except NotFoundError as exc:
        return panel(request, DIFF, {**context, "error": exc.message})
    result = services.diff_definitions(before, after)
    context["diff"] = result
    old_nodes, new_nodes = graph_nodes(before.get("graph")), graph_nodes(after.get("graph"))
    context["changed_nodes"] = [
        {
            "change": change,
            "values": []
            if change.layout_only
            else node_value_changes(old_nodes.get(change.id, {}), new_nodes.get(change.id, {})),
        }
        for change in result.nodes_changed
    ]
    if result.rule_changed:
        context["rule_before"] = json.dumps(result.rule_before, ensure_ascii=False)
        context["rule_after"] = json.dumps(result.rule_after, ensure_ascii=False)
    return panel(request, DIFF, context)


@studio_guard
@studio_view
@needs_permission(PUBLISH_WORKFLOW)
@require_POST
def rollback(request: HttpRequest, workflow_id: int, version_num: int) -> HttpResponse:
    """Publish a copy of version N as a new version (the draft becomes it too)."""
    workflow = workflow_or_404(request, workflow_id)
    try:
        version = services.rollback(
            workflow=workflow, version_num=version_num, actor=acting_user(request)
        )
    except WorkflowValidationError as exc:
        context = {**_history_context(workflow), "rollback_of": version_num}
        return _problems_response(request, workflow, exc.problems, HISTORY, context)
    except AutomateError as exc:
        context = {**_history_context(workflow), "error": exc.message}
        return panel(request, HISTORY, context)
    workflow.refresh_from_db()
    context = {**_history_context(workflow), "rolled_back_from": version_num}
    response = _published_response(request, workflow, version, HISTORY, context)
    return draft_changed(response, workflow)
