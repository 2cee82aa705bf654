"""Reads of workflows and versions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import F, QuerySet

from automate.events.models import Event
from automate.exceptions import NotFoundError
from automate.tenants.models import Tenant
from automate.tenants.services import resolve_tenant
from automate.workflows.exceptions import NotPublishedError, WorkflowInactiveError
from automate.workflows.models import Workflow, WorkflowVersion


def get_workflow(slug: str, *, tenant: Tenant | str | None = None) -> Workflow:
    """The workflow ``slug`` of the tenant, or NotFoundError."""
    tenant_obj = resolve_tenant(tenant)
    try:
        return Workflow.objects.select_related("live_version").get(tenant=tenant_obj, slug=slug)
    except Workflow.DoesNotExist:
        raise NotFoundError(
            f"Workflow {slug!r} does not exist.", details={"workflow": slug}
        ) from None


def get_live_version(slug: str, *, tenant: Tenant | str | None = None) -> WorkflowVersion:
    """The published version that runs for workflow ``slug``.

    Raises ``NotFoundError`` (unknown slug), ``WorkflowInactiveError`` (409
    ``workflow_inactive``: switched off or archived, ``details.state`` says which) and
    ``NotPublishedError`` (409: nothing published yet).
    """
    workflow = get_workflow(slug, tenant=tenant)
    if not workflow.is_active or workflow.archived_at is not None:
        state = "archived" if workflow.archived_at is not None else "switched off"
        raise WorkflowInactiveError(
            f"Workflow {slug!r} is {state}; switch it on to start runs.",
            details={"workflow": slug, "state": state.replace(" ", "_")},
        )
    if workflow.live_version is None:
        raise NotPublishedError(
            f"Workflow {slug!r} has no published version; publish it first.",
            details={"workflow": slug},
        )
    return workflow.live_version


def live_versions_for(tenant: Tenant) -> list[WorkflowVersion]:
    """The live versions of the tenant's active workflows (what an event is matched against)."""
    return list(
        WorkflowVersion.objects.filter(
            workflow__tenant=tenant,
            workflow__is_active=True,
            workflow__live_version_id=F("id"),
        ).select_related("workflow")
    )


#: How many recent events of a trigger the publish warnings look at.
SAMPLE_EVENTS = 20


def trigger_events(
    workflow: Workflow, *, trigger_spec: Mapping[str, Any] | None = None
) -> QuerySet[Event]:
    """The workflow tenant's events that its (draft) trigger would fire on, newest first."""
    spec = trigger_spec if trigger_spec is not None else workflow.draft_trigger_spec
    events = Event.objects.filter(tenant=workflow.tenant).order_by("-created_at")
    wanted = spec.get("event_type") if isinstance(spec, Mapping) else None
    if not isinstance(wanted, str) or not wanted:
        return events.none()
    if wanted.endswith("*"):
        events = events.filter(type__startswith=wanted[:-1])
    else:
        events = events.filter(type=wanted)
    source = spec.get("source")
    if isinstance(source, str) and source:
        events = events.filter(source=source)
    return events


def sample_payloads(workflow: Workflow, *, limit: int = SAMPLE_EVENTS) -> list[Any]:
    """The payloads of the most recent events the draft's trigger fires on."""
    return list(trigger_events(workflow)[:limit].values_list("payload", flat=True))
