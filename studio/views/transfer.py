"""Workflow files in the studio: download the draft or a version, import a file.

The file is exactly what ``manage.py automate_export`` writes and ``automate_import``
reads (``automate.workflows.files``): the same code writes it (secrets only as
``{"$secret": "NAME"}`` references) and the same code validates an upload. An import
sends the file's text as the request body and either creates a workflow in the user's
tenant (``POST /studio/import/``, ``?slug=`` to rename it when its slug is taken) or
replaces one draft (``POST /studio/workflows/<id>/import/?revision=N``, refused when the
draft moved on since revision N). Every refusal answers in the error shape and writes
nothing.
"""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from automate.api.errors import json_error
from automate.exceptions import AutomateError
from automate.guard.http import query_int, query_text
from automate.tenants.queries import tenant_for_write
from automate.typing import acting_user
from automate.workflows.exceptions import WorkflowValidationError
from automate.workflows.files import export_text, import_workflow, parse_workflow_file
from automate.workflows.models import Workflow
from automate.workflows.schema import load_schema
from studio.access import CHANGE_WORKFLOW, needs_permission, studio_json_guard, studio_view
from studio.views.common import visible
from studio.views.dashboard import editor_url, unique_slug


def _workflow(request: HttpRequest, workflow_id: int) -> Workflow | None:
    return (
        visible(Workflow.objects.select_related("tenant"), request).filter(pk=workflow_id).first()
    )


def _not_found(request: HttpRequest, message: str, details: dict[str, object]) -> HttpResponse:
    return json_error(request, 404, "resource_not_found", message, details)


@studio_json_guard
@studio_view
@require_GET
def export_file(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """The workflow file of the draft, or of version ``?version=N``, as a download."""
    workflow = _workflow(request, workflow_id)
    if workflow is None:
        return _not_found(
            request, gettext("There is no such workflow."), {"workflow_id": workflow_id}
        )
    number = query_int(request, "version", what=gettext("The version number"))
    version = None
    filename = f"{workflow.slug}.json"
    if number is not None:
        version = workflow.versions.filter(version_num=number).first()
        if version is None:
            return _not_found(
                request,
                gettext("This workflow has no version %(number)s.") % {"number": number},
                {"version": number},
            )
        filename = f"{workflow.slug}-v{number}.json"
    response = HttpResponse(
        export_text(workflow, version=version) + "\n",
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _read(request: HttpRequest) -> dict[str, object]:
    """The uploaded file, validated as ``automate_import`` validates it."""
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise WorkflowValidationError(
            [{"field": "(file)", "message": "the file is not UTF-8 text"}],
            message=gettext("The file is not UTF-8 text; nothing was imported."),
        ) from None
    return parse_workflow_file(text, draft=True)


def _invalid(request: HttpRequest, exc: WorkflowValidationError) -> HttpResponse:
    return json_error(
        request,
        400,
        exc.code,
        gettext("The file is not a valid workflow; nothing was imported."),
        {"problems": exc.problems},
    )


def _slug_problem(slug: str) -> str:
    schema = load_schema()["properties"]["slug"]
    if re.fullmatch(schema["pattern"], slug) and len(slug) <= schema.get("maxLength", 100):
        return ""
    return gettext("A slug has letters, digits, - and _ only (at most 100 characters).")


def _imported(workflow: Workflow, created: bool, data: dict[str, object]) -> JsonResponse:
    return JsonResponse(
        {
            "workflow_id": workflow.pk,
            "slug": workflow.slug,
            "name": workflow.name,
            "created": created,
            "url": editor_url(workflow),
            # What is still to fill in before it can be published (badged in the editor).
            "problems": data.get("problems", []),
        },
        status=201 if created else 200,
    )


@studio_json_guard
@studio_view
@needs_permission(CHANGE_WORKFLOW, json=True)
@require_POST
def import_new(request: HttpRequest) -> HttpResponse:
    """A new workflow (its draft) in the user's tenant from the file in the body.

    ``?slug=`` replaces the file's slug; a slug already taken is refused (409
    ``workflow_exists``, with a free ``suggestion``), never overwritten.
    """
    slug = query_text(request, "slug", max_length=200)
    if slug and (problem := _slug_problem(slug)):
        return json_error(request, 400, "invalid_request", problem, {"fields": {"slug": problem}})
    try:
        data = _read(request)
    except WorkflowValidationError as exc:
        return _invalid(request, exc)
    if slug:
        data["slug"] = slug
    try:
        tenant = tenant_for_write(request.user, None)
    except AutomateError as exc:
        return json_error(request, exc.http_status, exc.code, exc.message, exc.details)
    try:
        workflow, created, _ = import_workflow(
            data, tenant=tenant, actor=acting_user(request), create_only=True
        )
    except WorkflowValidationError as exc:
        return _invalid(request, exc)
    except AutomateError as exc:
        details = dict(exc.details or {})
        if exc.code == "workflow_exists":
            details["suggestion"] = unique_slug(tenant, str(data["slug"]))
        return json_error(request, exc.http_status, exc.code, exc.message, details)
    return _imported(workflow, created, data)


@studio_json_guard
@studio_view
@needs_permission(CHANGE_WORKFLOW, json=True)
@require_POST
def import_into(request: HttpRequest, workflow_id: int) -> HttpResponse:
    """Replace this workflow's draft (name, description, trigger, rule, graph; its slug
    stays) with the file in the body, if the draft is still at ``?revision=N``."""
    workflow = _workflow(request, workflow_id)
    if workflow is None:
        return _not_found(
            request, gettext("There is no such workflow."), {"workflow_id": workflow_id}
        )
    revision = query_int(request, "revision", what=gettext("The draft revision"))
    if revision is None:
        message = gettext("Say which draft revision the import replaces (?revision=N).")
        return json_error(
            request, 400, "invalid_request", message, {"fields": {"revision": message}}
        )
    try:
        data = _read(request)
        workflow, created, _ = import_workflow(
            data, replace=workflow, revision=revision, actor=acting_user(request)
        )
    except WorkflowValidationError as exc:
        return _invalid(request, exc)
    except AutomateError as exc:
        return json_error(request, exc.http_status, exc.code, exc.message, exc.details)
    return _imported(workflow, created, data)
