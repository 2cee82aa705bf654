"""The copilot's data: what it is asked, what a drafter answers, what the user is shown.

Pure Python, no Django imports. A *definition* is the part of a workflow the copilot may
change: ``{"trigger_spec": {...}, "rule_spec": {...}, "graph": {"nodes": [...],
"edges": [...]}}`` (the same shapes as ``Workflow.draft_*`` and the workflow file format,
docs/reference/workflow-format.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias

if TYPE_CHECKING:
    from automate.copilot.catalog import Catalog

Definition: TypeAlias = dict[str, Any]
"""``{"trigger_spec": dict, "rule_spec": dict, "graph": {"nodes": list, "edges": list}}``."""

DrafterKind: TypeAlias = Literal["offline", "model"]

DEFINITION_KEYS = ("trigger_spec", "rule_spec", "graph")


def empty_definition() -> Definition:
    """A definition with nothing in it (a new workflow)."""
    return {"trigger_spec": {}, "rule_spec": {}, "graph": {"nodes": [], "edges": []}}


@dataclass(frozen=True)
class Answer:
    """What a drafter proposes, before it is checked.

    ``definition`` is the whole proposed definition (not a patch): the current one with the
    requested changes made. ``explanations`` maps node ids to one line each ("Posts the
    invoice to #billing"); ``assumptions`` are sentences about what the drafter guessed
    ("I assumed the amount is in `amount_paid`, in cents"); ``not_understood`` lists the
    parts of the request the drafter could not turn into the graph (the offline drafter
    names the words it skipped); ``notes`` are things the user must do ("Create a secret
    named SLACK_BOT_TOKEN").
    """

    definition: Definition
    explanations: dict[str, str] = field(default_factory=dict)
    assumptions: list[str] = field(default_factory=list)
    not_understood: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Usage:
    """Tokens a model call used and what they cost (USD, a decimal string)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: str = "0"


@dataclass(frozen=True)
class Proposal:
    """What the user is shown: a checked definition, never an invalid graph.

    ``definition`` passes the publish checks when ``complete`` is true; otherwise it is the
    best valid part of what the drafter answered (possibly the current draft unchanged) and
    ``problems`` (each ``{"node_id"?, "field", "message"}``, as ``definition_problems``
    gives them) says what could not be used. ``before`` is the definition the request
    started from, so a caller can show the diff. ``id`` names the proposal in the audit log
    (``copilot.proposed``, then ``copilot.accepted`` / ``copilot.rejected``).
    """

    id: str
    drafter: DrafterKind
    model: str
    prompt: str
    before: Definition
    definition: Definition
    complete: bool
    problems: list[dict[str, str]] = field(default_factory=list)
    explanations: dict[str, str] = field(default_factory=dict)
    assumptions: list[str] = field(default_factory=list)
    not_understood: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    secrets_to_create: list[dict[str, str]] = field(default_factory=list)
    """``[{"name", "node_id", "field"}]``: secrets the user must create for the draft to
    run (the studio offers to create them)."""
    repairs: int = 0
    usage: Usage = field(default_factory=Usage)

    def as_json(self) -> dict[str, Any]:
        """The proposal as JSON for the studio and the API (no secret values: drafts never
        hold any)."""
        return {
            "id": self.id,
            "drafter": self.drafter,
            "model": self.model,
            "prompt": self.prompt,
            "before": self.before,
            "definition": self.definition,
            "complete": self.complete,
            "problems": self.problems,
            "explanations": self.explanations,
            "assumptions": self.assumptions,
            "not_understood": self.not_understood,
            "notes": self.notes,
            "secrets_to_create": self.secrets_to_create,
            "repairs": self.repairs,
            "usage": {
                "prompt_tokens": self.usage.prompt_tokens,
                "completion_tokens": self.usage.completion_tokens,
                "cost_usd": self.usage.cost_usd,
            },
        }


class Drafter(Protocol):
    """Turns a request into an :class:`Answer` (checked afterwards by the service).

    ``current`` is the definition the request starts from (a copy the drafter may change);
    ``conversation`` holds the user's earlier requests in this session, oldest first, so a
    follow-up ("only for EUR") can be read in context.
    """

    kind: DrafterKind

    def draft(
        self,
        *,
        prompt: str,
        current: Definition,
        catalog: Catalog,
        conversation: Sequence[str] = (),
    ) -> Answer: ...
