"""The workflow admin's actions that switch workflows on or off, archive and restore them:
through the same audited services as the studio, with the publish permission."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, gettext_lazy

from automate.exceptions import AutomateError
from automate.typing import acting_user
from automate.workflows import services
from automate.workflows.models import Workflow


def _apply(
    modeladmin: Any,
    request: HttpRequest,
    queryset: QuerySet[Workflow],
    change: Callable[[Workflow], Workflow],
    done: str,
) -> None:
    changed, refused = 0, []
    for workflow in queryset.order_by("pk"):
        try:
            change(workflow)
            changed += 1
        except AutomateError as exc:
            refused.append(f"{workflow.slug}: {exc.message}")
    modeladmin.message_user(request, done % {"count": changed}, messages.SUCCESS)
    if refused:
        modeladmin.message_user(
            request,
            gettext("Not changed: %(refusals)s") % {"refusals": "; ".join(refused)},
            messages.WARNING,
        )


@admin.action(description=gettext_lazy("Switch on selected workflows"), permissions=["publish"])
def activate_workflows(
    modeladmin: admin.ModelAdmin[Workflow], request: HttpRequest, queryset: QuerySet[Workflow]
) -> None:
    actor = acting_user(request)
    _apply(
        modeladmin,
        request,
        queryset,
        lambda wf: services.set_workflow_active(workflow=wf, active=True, actor=actor),
        gettext("Switched on %(count)s workflow(s)."),
    )


@admin.action(
    description=gettext_lazy("Switch off selected workflows (no new runs)"),
    permissions=["publish"],
)
def deactivate_workflows(
    modeladmin: admin.ModelAdmin[Workflow], request: HttpRequest, queryset: QuerySet[Workflow]
) -> None:
    actor = acting_user(request)
    _apply(
        modeladmin,
        request,
        queryset,
        lambda wf: services.set_workflow_active(workflow=wf, active=False, actor=actor),
        gettext("Switched off %(count)s workflow(s)."),
    )


@admin.action(
    description=gettext_lazy("Archive selected workflows (switched off, history kept)"),
    permissions=["publish"],
)
def archive_workflows(
    modeladmin: admin.ModelAdmin[Workflow], request: HttpRequest, queryset: QuerySet[Workflow]
) -> None:
    actor = acting_user(request)
    _apply(
        modeladmin,
        request,
        queryset,
        lambda wf: services.archive_workflow(workflow=wf, actor=actor),
        gettext("Archived %(count)s workflow(s)."),
    )


@admin.action(description=gettext_lazy("Restore selected workflows"), permissions=["publish"])
def restore_workflows(
    modeladmin: admin.ModelAdmin[Workflow], request: HttpRequest, queryset: QuerySet[Workflow]
) -> None:
    actor = acting_user(request)
    _apply(
        modeladmin,
        request,
        queryset,
        lambda wf: services.restore_workflow(workflow=wf, actor=actor),
        gettext("Restored %(count)s workflow(s)."),
    )


class ArchivedFilter(admin.SimpleListFilter):
    """Current workflows by default, like the studio's list; archived ones on request."""

    title = gettext_lazy("archived")
    parameter_name = "archived"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", gettext_lazy("Archived")), ("all", gettext_lazy("All"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(archived_at__isnull=False)
        if self.value() == "all":
            return queryset
        return queryset.filter(archived_at__isnull=True)

    def choices(self, changelist: Any) -> Any:
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": gettext_lazy("Current"),
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


WORKFLOW_ACTIONS = [activate_workflows, deactivate_workflows, archive_workflows, restore_workflows]


def has_publish_permission(request: HttpRequest) -> bool:
    """The admin actions need the studio's publish permission."""
    return bool(request.user.has_perm("automate.publish_workflow"))
