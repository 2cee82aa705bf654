"""Asking the copilot: ``propose`` a checked definition, ``record_decision`` on it.

``propose`` checks the request, counts it against the user's rate limit, reads the live
catalog, asks a drafter (the offline drafter when no model is configured, else the
model through ``COPILOT.provider``: see ``automate.copilot.provider``), passes every
answer through ``check_answer`` (the publish checks), sends the problems back to the model for up to
``COPILOT.repair_rounds`` repair rounds, and audits the outcome. It never changes a
workflow: the caller applies a proposal when the user accepts it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass, field, replace
from typing import Any, Final

from automate.copilot.catalog import Catalog, build_catalog
from automate.copilot.checking import CheckedAnswer, check_answer
from automate.copilot.exceptions import (
    CopilotError,
    CopilotRateLimitedError,
    CopilotRequestError,
)
from automate.copilot.offline import OfflineDrafter
from automate.copilot.provider import ModelDrafter
from automate.copilot.schema import ReadAnswer
from automate.copilot.settings import CopilotSettings, copilot_settings
from automate.copilot.types import (
    DEFINITION_KEYS,
    Answer,
    Definition,
    Proposal,
    Usage,
    empty_definition,
)
from automate.governance import audit, budget, ratelimit
from automate.governance.redaction import redact_text
from automate.guard.parse import InputRejected, check_text
from automate.tenants.models import Tenant
from automate.typing import UserType
from automate.workflows.services import definition_problems

MAX_PROMPT_CHARS: Final = 2000
MAX_CONVERSATION: Final = 10
"""Only the user's last this-many earlier requests are sent along."""


@dataclass
class _Round:
    """One answer as checked: what the user would be shown if it were the last."""

    answer: Answer | None
    checked: CheckedAnswer
    problems: list[dict[str, str]]
    repair_problems: list[dict[str, str]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.answer is not None and self.checked.complete

    def rank(self) -> tuple[bool, bool, int]:
        return (self.complete, self.answer is not None, -len(self.problems))


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

    ``conversation`` holds the user's earlier requests of this session, oldest first.
    Never changes the workflow: the caller shows the proposal and applies it only when
    the user accepts. Raises:

    * ``CopilotRequestError`` (400) for an empty or too long prompt (1 to 2,000
      characters), text with NUL or unpaired surrogates, or a ``current`` whose parts are
      not JSON objects;
    * ``CopilotRateLimitedError`` (429, ``details["retry_after"]`` in seconds) past
      ``COPILOT.rate_limit_per_minute`` requests of this ``user`` in a minute;
    * with a model: ``BudgetExceededError`` (429 ``budget_exceeded``: nothing was sent),
      ``CopilotUnavailableError`` (502) and ``CopilotRefusedError`` (422) for the first
      call. A repair round that fails the same way ends the rounds instead: the best
      answer so far is returned with a ``{"field": "copilot", "code", "message"}``
      problem.
    """
    settings = copilot_settings()
    text = _prompt(prompt)
    earlier = _conversation(conversation)
    before = _definition(current)
    _rate_limit(user, settings)
    trigger = before["trigger_spec"]
    event_type = trigger.get("event_type")
    catalog = build_catalog(
        tenant=tenant, event_type=event_type if isinstance(event_type, str) else None
    )
    context = {"prompt": redact_text(text), "workflow_id": workflow_id}
    if not settings.uses_model:
        proposal = _offline(text, before, catalog, earlier, tenant)
    else:
        drafter = ModelDrafter(settings=settings, tenant=tenant, trace_id=trace_id)
        try:
            proposal = _with_model(drafter, settings, text, before, catalog, earlier, tenant)
        except (CopilotError, budget.BudgetExceededError) as exc:
            audit.record(
                action="copilot.failed",
                resource_type="copilot_proposal",
                actor=user,
                tenant=tenant,
                details={
                    **context,
                    "code": exc.code,
                    "message": redact_text(exc.message),
                    "drafter": drafter.kind,
                    "model": drafter.model,
                    **_usage_details(drafter.usage, drafter.calls),
                },
                trace_id=trace_id,
            )
            raise
    proposal = _without_draft_problems(proposal, tenant)
    audit.record(
        action="copilot.proposed",
        resource_type="copilot_proposal",
        resource_id=proposal.id,
        actor=user,
        tenant=tenant,
        details={
            **context,
            "drafter": proposal.drafter,
            "model": proposal.model,
            "complete": proposal.complete,
            "problems": len(proposal.problems),
            "repairs": proposal.repairs,
            **_usage_details(proposal.usage, None),
        },
        trace_id=trace_id,
    )
    return proposal


def record_decision(
    *, proposal_id: str, accepted: bool, tenant: Tenant, user: UserType | None = None
) -> None:
    """Audit that the user accepted (applied to the draft) or rejected a proposal
    (``copilot.accepted`` / ``copilot.rejected``, with the proposal id as resource id)."""
    audit.record(
        action="copilot.accepted" if accepted else "copilot.rejected",
        resource_type="copilot_proposal",
        resource_id=proposal_id,
        actor=user,
        tenant=tenant,
    )


# ---------------------------------------------------------------------------------------
# Drafting
# ---------------------------------------------------------------------------------------


def _offline(
    text: str, before: Definition, catalog: Catalog, earlier: list[str], tenant: Tenant
) -> Proposal:
    drafter = OfflineDrafter()
    answer = drafter.draft(
        prompt=text, current=deepcopy(before), catalog=catalog, conversation=earlier
    )
    checked = check_answer(answer, before=before, catalog=catalog, tenant=tenant)
    return Proposal(
        id=uuid.uuid4().hex,
        drafter=drafter.kind,
        model="",
        prompt=text,
        before=before,
        definition=checked.definition,
        complete=checked.complete,
        problems=checked.problems,
        explanations=checked.explanations,
        assumptions=checked.assumptions,
        not_understood=checked.not_understood,
        notes=checked.notes,
        secrets_to_create=checked.secrets_to_create,
    )


def _check_round(read: ReadAnswer, before: Definition, catalog: Catalog, tenant: Tenant) -> _Round:
    # An unreadable answer is checked as "no change", and is never complete.
    answer = read.answer or Answer(definition=deepcopy(before))
    checked = check_answer(answer, before=before, catalog=catalog, tenant=tenant)
    problems = [*(read.problems if read.answer is None else []), *checked.problems]
    # Only what the model can fix goes back (a secret the user must create cannot be).
    fixable = checked.repair_problems
    return _Round(
        answer=read.answer,
        checked=checked,
        problems=problems,
        repair_problems=_unique([*read.problems, *fixable]),
    )


def _with_model(
    drafter: ModelDrafter,
    settings: CopilotSettings,
    text: str,
    before: Definition,
    catalog: Catalog,
    earlier: list[str],
    tenant: Tenant,
) -> Proposal:
    read = drafter.ask(prompt=text, current=deepcopy(before), catalog=catalog, conversation=earlier)
    latest = best = _check_round(read, before, catalog, tenant)
    repairs = 0
    stopped: list[dict[str, str]] = []
    while not latest.complete and latest.repair_problems and repairs < settings.repair_rounds:
        repairs += 1
        try:
            read = drafter.repair(latest.repair_problems)
        except (CopilotError, budget.BudgetExceededError) as exc:
            # The first answer is paid for and checked: show its best part, and say why
            # it could not be repaired, rather than an error that hides it.
            message = f"A repair round could not run: {redact_text(exc.message)}"
            stopped = [{"field": "copilot", "code": exc.code, "message": message}]
            break
        latest = _check_round(read, before, catalog, tenant)
        if latest.rank() >= best.rank():
            best = latest
    return Proposal(
        id=uuid.uuid4().hex,
        drafter=drafter.kind,
        model=drafter.model,
        prompt=text,
        before=before,
        definition=best.checked.definition,
        complete=best.complete,
        problems=[*best.problems, *stopped],
        explanations=best.checked.explanations,
        assumptions=best.checked.assumptions,
        not_understood=best.checked.not_understood,
        notes=best.checked.notes,
        secrets_to_create=best.checked.secrets_to_create,
        repairs=repairs,
        usage=drafter.usage,
    )


def _without_draft_problems(proposal: Proposal, tenant: Tenant) -> Proposal:
    """The proposal's problems less those the starting draft already had: a request the
    drafter could not use on an empty draft is "nothing changed", not "a trigger is missing"."""
    if not proposal.problems:
        return proposal

    def key(problem: Mapping[str, Any]) -> tuple[Any, ...]:
        return (problem.get("node_id", ""), problem.get("field"), problem.get("message"))

    own = {key(problem) for problem in definition_problems(**proposal.before, tenant=tenant.slug)}
    problems = [problem for problem in proposal.problems if key(problem) not in own]
    return replace(proposal, problems=problems)


# ---------------------------------------------------------------------------------------
# The request
# ---------------------------------------------------------------------------------------


def _prompt(prompt: str) -> str:
    text = (prompt or "").strip() if isinstance(prompt, str) else ""
    if not text or len(text) > MAX_PROMPT_CHARS:
        raise CopilotRequestError(
            f"Describe the workflow in 1 to {MAX_PROMPT_CHARS} characters.",
            details={"field": "prompt"},
        )
    try:
        return check_text(text, what="The request", max_length=MAX_PROMPT_CHARS)
    except InputRejected as exc:
        raise CopilotRequestError(exc.message, details={"field": "prompt"}) from None


def _conversation(conversation: Sequence[str]) -> list[str]:
    if isinstance(conversation, str) or not isinstance(conversation, Sequence):
        raise CopilotRequestError(
            "The earlier requests must be a list of texts.", details={"field": "conversation"}
        )
    earlier = []
    for item in list(conversation)[-MAX_CONVERSATION:]:
        if not isinstance(item, str) or len(item) > MAX_PROMPT_CHARS:
            raise CopilotRequestError(
                f"Each earlier request must be a text of at most {MAX_PROMPT_CHARS} characters.",
                details={"field": "conversation"},
            )
        try:
            earlier.append(check_text(item, what="An earlier request"))
        except InputRejected as exc:
            raise CopilotRequestError(exc.message, details={"field": "conversation"}) from None
    return earlier


def _definition(current: Mapping[str, Any] | None) -> Definition:
    if current is not None and not isinstance(current, Mapping):
        raise CopilotRequestError(
            "The current draft must be a JSON object.", details={"field": "current"}
        )
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


def _rate_limit(user: UserType | None, settings: CopilotSettings) -> None:
    if user is None or user.pk is None:
        return  # Python callers (scripts, the benchmark) are not throttled
    decision = ratelimit.hit(f"copilot:{user.pk}", limit=settings.rate_limit_per_minute)
    if not decision.allowed:
        raise CopilotRateLimitedError(
            f"You asked the copilot {settings.rate_limit_per_minute} times this minute; "
            f"try again in {decision.retry_after} seconds.",
            details={"retry_after": decision.retry_after},
        )


def _unique(problems: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: set[tuple[tuple[str, str], ...]] = set()
    unique = []
    for problem in problems:
        key = tuple(sorted(problem.items()))
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique


def _usage_details(usage: Usage, calls: int | None) -> dict[str, Any]:
    details: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cost_usd": usage.cost_usd,
    }
    if calls is not None:
        details["calls"] = calls
    return details
