"""Checking a drafter's answer: what the user is shown is always a valid definition.

``check_answer`` runs the publish checks (``definition_problems``) on the answer; when they
fail, it falls back to the best valid part and lists what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from automate.copilot.catalog import Catalog
from automate.copilot.types import Answer, Definition
from automate.tenants.models import Tenant
from automate.workflows.services import definition_problems


@dataclass(frozen=True)
class CheckedAnswer:
    """``definition`` passes the publish checks when ``complete``; else it is the best valid
    part of the answer and ``problems`` says what was left out and why."""

    definition: Definition
    complete: bool
    problems: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    explanations: dict[str, str] = field(default_factory=dict)


def answer_problems(answer: Answer, *, tenant: Tenant) -> list[dict[str, str]]:
    """Everything that keeps ``answer.definition`` from being published (what a repair
    round sends back to the model)."""
    return definition_problems(**answer.definition, tenant=tenant.slug)


def check_answer(
    answer: Answer, *, before: Definition, catalog: Catalog, tenant: Tenant
) -> CheckedAnswer:
    """The answer as it may be shown: valid, or the best valid part with its problems."""
    problems = answer_problems(answer, tenant=tenant)
    if problems:
        return CheckedAnswer(definition=before, complete=False, problems=problems)
    return CheckedAnswer(
        definition=answer.definition,
        complete=True,
        notes=list(answer.notes),
        explanations=dict(answer.explanations),
    )
