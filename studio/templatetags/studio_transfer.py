"""``{% starter_gallery %}``: the wizard's template cards; ``{% workflow_file_menu workflow %}``:
the editor's Export / Import menu items (the draft, each version, import into this draft);
``{% workflow_import_dialog workflow %}``: that menu's import dialog (kept outside the menu, which
is hidden while closed); ``{% import_dialog %}``: the import form (``studio.views.transfer``)."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from automate.workflows.models import Workflow
from studio.starter_templates import starter_templates

register = template.Library()

#: The menu lists the newest versions; older ones stay reachable with ``?version=N``.
MENU_VERSIONS = 10


@register.inclusion_tag("studio/partials/template_gallery.html")
def starter_gallery() -> dict[str, Any]:
    return {"templates": starter_templates()}


@register.inclusion_tag("studio/partials/file_menu.html", takes_context=True)
def workflow_file_menu(context: template.Context, workflow: Workflow) -> dict[str, Any]:
    export_url = reverse("studio:export", args=[workflow.pk])
    versions = workflow.versions.order_by("-version_num").values_list("version_num", flat=True)
    return {
        "request": context.get("request"),
        "workflow": workflow,
        "export_url": export_url,
        "versions": list(versions[:MENU_VERSIONS]),
    }


@register.inclusion_tag("studio/partials/import_dialog.html", takes_context=True)
def workflow_import_dialog(context: template.Context, workflow: Workflow) -> dict[str, Any]:
    return import_dialog(
        context,
        url=reverse("studio:import_into", args=[workflow.pk]),
        draft_url=reverse("studio:draft", args=[workflow.pk]),
        replace=True,
    )


@register.inclusion_tag("studio/partials/import_dialog.html", takes_context=True)
def import_dialog(
    context: template.Context, url: str = "", draft_url: str = "", replace: bool = False
) -> dict[str, Any]:
    return {
        "request": context.get("request"),
        "url": url or reverse("studio:import_new"),
        "draft_url": draft_url,
        "replace": replace,
    }
