"""Asking the copilot: ``propose`` a checked definition, ``record_decision`` on it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from copy import deepcopy
from typing import Any

from automate.copilot.catalog import build_catalog
from automate.copilot.checking import check_answer
from automate.copilot.exceptions import CopilotRequestError
from automate.copilot.offline import OfflineDrafter
from automate.copilot.types import DEFINITION_KEYS, Definition, Proposal, empty_definition
from automate.governance import audit
from automate.tenants.models import Tenant
from automate.typing import UserType

MAX_PROMPT_CHARS = 2000


def propose(
    *,
    tenant: Tenant,
    prompt: str,
    current: Mapping[str, Any] | None = None,
    user: UserType | None = None,
    conversation: Sequence[str] = (),
    workflow_id: int | None = None,
    trace_id: str = "",
) -> Proposal:
    """A proposal for ``prompt`` starting from ``current`` (``None``: a new workflow).

    Never changes the workflow: the caller shows the proposal and applies it only when the
    user accepts. Raises ``CopilotRequestError`` (400) for an empty or too long prompt.
    """
    text = (prompt or "").strip()
    if not text or len(text) > MAX_PROMPT_CHARS:
        raise CopilotRequestError(
            f"Describe the workflow in 1 to {MAX_PROMPT_CHARS} characters.",
            details={"field": "prompt"},
        )
    before = _definition(current)
    trigger = before["trigger_spec"]
    catalog = build_catalog(tenant=tenant, event_type=trigger.get("event_type"))
    drafter = OfflineDrafter()
    answer = drafter.draft(
        prompt=text, current=deepcopy(before), catalog=catalog, conversation=conversation
    )
    checked = check_answer(answer, before=before, catalog=catalog, tenant=tenant)
    proposal = Proposal(
        id=uuid.uuid4().hex,
        drafter=drafter.kind,
        model="",
        prompt=text,
        before=before,
        definition=checked.definition,
        complete=checked.complete,
        problems=checked.problems,
        explanations=checked.explanations,
        assumptions=answer.assumptions,
        not_understood=answer.not_understood,
        notes=checked.notes,
    )
    audit.record(
        action="copilot.proposed",
        resource_type="copilot_proposal",
        resource_id=proposal.id,
        actor=user,
        tenant=tenant,
        details={"prompt": text, "drafter": drafter.kind, "workflow_id": workflow_id},
        trace_id=trace_id,
    )
    return proposal


def record_decision(
    *, proposal_id: str, accepted: bool, tenant: Tenant, user: UserType | None = None
) -> None:
    """Audit that the user accepted (applied to the draft) or rejected a proposal."""
    audit.record(
        action="copilot.accepted" if accepted else "copilot.rejected",
        resource_type="copilot_proposal",
        resource_id=proposal_id,
        actor=user,
        tenant=tenant,
    )


def _definition(current: Mapping[str, Any] | None) -> Definition:
    definition = empty_definition()
    for key in DEFINITION_KEYS:
        value = (current or {}).get(key)
        if value is not None:
            if not isinstance(value, dict):
                raise CopilotRequestError(
                    f"The current draft's {key} must be a JSON object.", details={"field": key}
                )
            definition[key] = deepcopy(value)
    return definition
