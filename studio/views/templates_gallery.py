"""The wizard's starter-template gallery: preview a template, start a workflow from it.

The gallery's cards are on the wizard page (``{% starter_gallery %}``); a card opens the
preview (its steps and what to fill in) in place through htmx, or as a page of its own;
"Use this template" creates a draft in the user's tenant and opens the editor, where
each placeholder still to fill is listed as a problem until it holds a value.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from automate.exceptions import AutomateError
from automate.tenants.queries import tenant_for_write
from automate.typing import acting_user
from automate.workflows.services import create_workflow
from studio.access import CHANGE_WORKFLOW, needs_permission, studio_guard, studio_view
from studio.starter_templates import StarterTemplate, starter_template
from studio.views.dashboard import editor_url, unique_slug

PREVIEW = "studio/partials/template_preview.html"
PAGE = "studio/template_page.html"


def _template(key: str) -> StarterTemplate:
    template = starter_template(key)
    if template is None:
        raise Http404("There is no such starter template.")
    return template


def _render(
    request: HttpRequest, template: StarterTemplate, *, name: str = "", error: str = ""
) -> HttpResponse:
    context: dict[str, Any] = {
        "template": template,
        "name": name or template.document["name"],
        "error": error,
    }
    page = PREVIEW if getattr(request, "htmx", False) else PAGE
    return render(request, page, context, status=400 if error else 200)


@studio_guard
@studio_view
@require_GET
def preview(request: HttpRequest, key: str) -> HttpResponse:
    """A template's steps, trigger and the inputs the user fills in, with "Use it"."""
    return _render(request, _template(key))


@studio_guard
@studio_view
@needs_permission(CHANGE_WORKFLOW)
@require_POST
def use(request: HttpRequest, key: str) -> HttpResponse:
    """Create a workflow whose draft is the template (named ``name``); open the editor."""
    template = _template(key)
    document = template.definition()
    name = request.POST.get("name", "").strip() or document["name"]
    try:
        tenant = tenant_for_write(request.user, None)
        workflow = create_workflow(
            name=name,
            slug=unique_slug(tenant, name),
            tenant=tenant,
            description=document.get("description", ""),
            trigger_spec=document["trigger_spec"],
            rule_spec=document.get("rule_spec") or {},
            graph=document["graph"],
            created_by=acting_user(request),
        )
    except AutomateError as exc:
        return _render(request, template, name=name, error=exc.message)
    return redirect(editor_url(workflow))
