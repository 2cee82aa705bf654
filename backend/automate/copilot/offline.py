"""The offline drafter: turns common sentences into a draft without any model.

It is what the copilot uses when no model is configured (``COPILOT.base_url`` empty). It
reads a request clause by clause ("When a paid invoice over 1000 EUR comes in, post to
#billing on Slack and email finance"): the trigger (event types of the catalog and common
vendor events, or a schedule), conditions on amounts, currencies and fields (merged into
the rule with ``and``), and steps in sentence order (Slack, email, HTTP, webhook, a record
in an allow-listed model, a wait, a log line). Follow-ups edit the current draft: "add a
retry to the Slack step", "only for EUR", "remove the email", "change the channel to
#ops", "wait 5 minutes before the email". Whatever it cannot use is listed in
``not_understood``; it never claims to be a model, and it never writes a secret value
(only references to secret names the tenant has, or a note to create one).
"""

from __future__ import annotations

from collections.abc import Sequence
from copy import deepcopy

from automate.copilot.catalog import Catalog
from automate.copilot.offline_actions import ActionReader
from automate.copilot.offline_clauses import Clause, split_clauses
from automate.copilot.offline_edits import EditReader
from automate.copilot.offline_events import event_noun
from automate.copilot.offline_models import ModelInfo, load_models
from automate.copilot.offline_rules import ConditionReader
from automate.copilot.offline_state import DraftState
from automate.copilot.offline_trigger import read_trigger
from automate.copilot.types import Answer, Definition, DrafterKind

MODEL_HINT = (
    "This is the offline drafter: it reads common sentences only (no AI model is "
    "configured). A model can be configured in DJANGO_AUTOMATE['COPILOT']['base_url'] "
    "for anything else."
)
"""The note added whenever part of a request was not understood."""

NOTHING_UNDERSTOOD = (
    "The offline drafter understood none of this request, so the draft is unchanged. It "
    'understands sentences such as: "When an invoice is paid over 1000 EUR, post to '
    '#billing on Slack and email finance@example.com", "wait 10 minutes", "call '
    'https://example.com/hook", "record the customer in the CRM", "add a retry to the '
    'Slack step", "only for EUR", "remove the email".'
)

MALFORMED = (
    "The current draft's graph is not in the shape the offline drafter can edit (every "
    "node an object with an id, every edge an object with a source and a target): fix it "
    "in the editor first."
)


class OfflineDrafter:
    """Deterministic: the same sentence and draft always give the same answer.

    ``models`` are the models the ``django_model`` connector may write (default: read
    from the allow-list, ``CONNECTOR_OPTIONS.django_model.models``, at each draft).
    """

    kind: DrafterKind = "offline"

    def __init__(self, *, models: Sequence[ModelInfo] | None = None) -> None:
        self._models = None if models is None else list(models)

    def draft(
        self,
        *,
        prompt: str,
        current: Definition,
        catalog: Catalog,
        conversation: Sequence[str] = (),
    ) -> Answer:
        """The current definition changed as far as ``prompt`` is understood.

        ``current`` is not modified. The answer's ``not_understood`` lists the clauses
        (or the words of a clause) that were not used; when nothing was understood the
        definition is ``current`` unchanged and a note says what the drafter can read.
        """
        if not _editable(current):
            return Answer(
                definition=deepcopy(current),
                not_understood=[prompt],
                notes=[MALFORMED, MODEL_HINT],
            )
        models = self._models if self._models is not None else load_models()
        state = DraftState(deepcopy(current), catalog, models)
        clauses = split_clauses(prompt)
        read_trigger(state, clauses)
        edits = EditReader(state)
        conditions = ConditionReader(state)
        actions = ActionReader(state)
        for clause in clauses:
            if edits.read(clause):
                continue
            conditions.read(clause)
            actions.read(clause)
        conditions.finish()
        return _answer(state, clauses, current)


def _editable(current: Definition) -> bool:
    """Whether the draft's graph has the shape the drafter edits: a list of node objects
    with string ids and a list of edge objects with string ends (a draft saved half-way
    may not; the drafter then changes nothing rather than guess)."""
    graph = current.get("graph")
    if not isinstance(graph, dict):
        return graph is None
    nodes, edges = graph.get("nodes", []), graph.get("edges", [])
    return (
        isinstance(nodes, list)
        and isinstance(edges, list)
        and all(isinstance(n, dict) and isinstance(n.get("id"), str) for n in nodes)
        and all(
            isinstance(e, dict)
            and isinstance(e.get("source"), str)
            and isinstance(e.get("target"), str)
            for e in edges
        )
    )


def _answer(state: DraftState, clauses: list[Clause], current: Definition) -> Answer:
    noun = event_noun(state.event_type) if state.event_type else ""
    ignore = frozenset({noun, f"{noun}s", *noun.split()} - {""})
    not_understood = []
    for clause in clauses:
        if not clause.understood:
            if clause.leftover(ignore):  # a clause of filler only ("Actually") asks nothing
                not_understood.append(clause.text)
        elif leftover := clause.leftover(ignore):
            not_understood.append(leftover)
    definition = state.finish()
    if definition == current and not not_understood and not state.assumptions:
        not_understood = [" ".join(clause.text for clause in clauses)]
    if definition == current:
        notes = [NOTHING_UNDERSTOOD] if not_understood else []
        return Answer(
            definition=deepcopy(current),
            assumptions=list(state.assumptions),
            not_understood=not_understood,
            notes=[*notes, *state.notes, *([MODEL_HINT] if not_understood else [])],
        )
    return Answer(
        definition=definition,
        explanations=dict(state.explanations),
        assumptions=list(state.assumptions),
        not_understood=not_understood,
        notes=[*state.notes, *([MODEL_HINT] if not_understood else [])],
    )
