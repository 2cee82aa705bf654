"""Roll a workflow back: publish a copy of an older version (the draft becomes it too).

Shared by the studio's versions page and ``POST /api/v1/workflows/{id}/rollback/``.
"""

from __future__ import annotations

import copy

from django.db import transaction
from django.utils.translation import gettext

from automate.exceptions import NotFoundError
from automate.governance import audit
from automate.typing import UserType
from automate.workflows.models import Workflow, WorkflowVersion
from automate.workflows.services import publish_version

__all__ = ["rollback"]


@transaction.atomic
def rollback(
    *, workflow: Workflow, version_num: int, actor: UserType | None = None
) -> WorkflowVersion:
    """Publish a copy of version ``version_num`` as a new version; the draft becomes it too.

    Raises NotFoundError for an unknown version and WorkflowValidationError when the old
    version no longer validates (nothing is changed then).
    """
    locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
    old = WorkflowVersion.objects.filter(workflow=locked, version_num=version_num).first()
    if old is None:
        raise NotFoundError(
            gettext("Version %(version)s of this workflow does not exist.")
            % {"version": version_num},
            details={"version": version_num},
        )
    locked.draft_trigger_spec = copy.deepcopy(old.trigger_spec)
    locked.draft_rule_spec = copy.deepcopy(old.rule_spec)
    locked.draft_graph = copy.deepcopy(old.graph)
    locked.draft_revision += 1
    locked.save(
        update_fields=[
            "draft_trigger_spec", "draft_rule_spec", "draft_graph", "draft_revision", "updated_at"
        ]
    )  # fmt: skip
    version = publish_version(
        workflow=locked, published_by=actor, notes=f"Rollback to v{version_num}"
    )
    audit.record(
        action="workflow.rollback",
        resource_type="workflow",
        resource_id=locked.pk,
        actor=actor,
        tenant=locked.tenant,
        details={"slug": locked.slug, "from_version": version_num, "version": version.version_num},
    )
    return version
