"""Changing how long a workflow's runs are kept: audited like every other change."""

from __future__ import annotations

from automate.governance import audit
from automate.typing import UserType
from automate.workflows.models import Workflow


def record_retention_change(
    *, workflow: Workflow, before: int | None, actor: UserType | None = None
) -> None:
    """Audit ``workflow.retention`` when ``workflow.retention_days`` differs from ``before``
    (None: the site's ``RETENTION["runs_days"]``); nothing when it is the same."""
    if workflow.retention_days == before:
        return
    audit.record(
        action="workflow.retention",
        resource_type="workflow",
        resource_id=workflow.pk,
        actor=actor,
        tenant=workflow.tenant,
        details={"slug": workflow.slug, "from_days": before, "to_days": workflow.retention_days},
    )
