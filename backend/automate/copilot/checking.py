"""Checking a drafter's answer: what the user is shown is always a valid definition.

:func:`check_answer` runs on every answer, from a model or the offline drafter:

1. **Shape** (:func:`automate.copilot.salvage.normalise`): any JSON becomes a definition
   (``trigger_spec``/``rule_spec`` objects, a graph with ``nodes``/``edges`` lists) within
   the definition limits; what cannot be used is a problem with its field path, never an
   exception.
2. **Secrets** (:func:`automate.copilot.secrets_guard.scrub_secrets`): no secret value
   survives; secret fields hold references to the tenant's own secrets or are left empty
   with a note naming the secret to create (and a problem on the step).
3. **Layout**: nodes without a position are placed left to right.
4. **Publish checks**: the same set as publishing (``definition_problems`` with the
   tenant's egress policy, plus ``unresolvable_secret_problems`` for the tenant). When
   they fail, :func:`automate.copilot.salvage.salvage` keeps the best valid part.

``complete`` is true only when the whole answer passed and nothing had to be left out.
Whatever ``complete`` says, the returned definition has no publish problem that ``before``
did not have, but for required inputs left empty for the user to fill in (kind
``"required"``: a secret to create, say), which the editor badges until they are. Notes
and problems are passed through ``redact_text``, so they never hold a secret value.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

from automate.copilot.catalog import Catalog
from automate.copilot.salvage import lay_out, normalise, problem_signature, salvage
from automate.copilot.secrets_guard import CREATE_SECRET, SECRET_VALUE, Scrubbed, scrub_secrets
from automate.copilot.types import Answer, Definition, empty_definition
from automate.governance.redaction import redact_text
from automate.tenants.models import Tenant
from automate.workflows.secret_checks import unresolvable_secret_problems
from automate.workflows.services import definition_problems

__all__ = ["CheckedAnswer", "Checker", "answer_problems", "check_answer"]

Problem = dict[str, str]


@dataclass(frozen=True)
class CheckedAnswer:
    """``definition`` passes the publish checks when ``complete``; else it is the best valid
    part of the answer and ``problems`` says what was left out and why.

    ``problems`` are ``{"node_id"?, "field", "message"}``, some with a ``"kind"``: the
    template checks' (``"syntax"``, ``"secret"``, …) or the checker's own
    ``"create_secret"`` (a secret reference left out until the user creates it) and
    ``"secret_value"`` (a credential-shaped value masked or removed). ``notes`` are
    sentences for the user (the drafter's own, then the checker's, e.g. "Create a secret
    named SLACK_TOKEN …");
    ``explanations`` only name nodes of ``definition``; ``assumptions`` and
    ``not_understood`` are the drafter's, redacted. ``secrets_to_create`` lists
    ``{"name", "node_id", "field"}`` for each secret the user must create.
    """

    definition: Definition
    complete: bool
    problems: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    explanations: dict[str, str] = field(default_factory=dict)
    assumptions: list[str] = field(default_factory=list)
    not_understood: list[str] = field(default_factory=list)
    secrets_to_create: list[dict[str, str]] = field(default_factory=list)

    @property
    def repair_problems(self) -> list[dict[str, str]]:
        """The problems a repair round can fix: all but the ``create_secret`` and
        ``secret_value`` ones, which only the user can fix (by creating a secret). Empty:
        asking the model again would not help, even when ``complete`` is false."""
        return [p for p in self.problems if p.get("kind") not in (CREATE_SECRET, SECRET_VALUE)]


@dataclass(frozen=True)
class Checker:
    """What checking needs to know about the tenant: its secret names and the publish
    problems of a definition. :meth:`for_tenant` builds the real one; tests may pass a
    database-free one to :func:`check_definition`."""

    secret_names: Collection[str]
    problems_of: Callable[[Definition], list[Problem]]

    def __post_init__(self) -> None:
        # A proposal may leave required inputs (a secret to create, a channel) for the user
        # to fill in: the editor badges them and publishing refuses them until then, so
        # they are not a reason to leave a step out or to ask the model again.
        publish_problems = self.problems_of

        def problems_of(definition: Definition) -> list[Problem]:
            return [p for p in publish_problems(definition) if p.get("kind") != "required"]

        object.__setattr__(self, "problems_of", problems_of)

    @classmethod
    def for_tenant(cls, tenant: Tenant, *, catalog: Catalog | None = None) -> Checker:
        """The publish checks of ``tenant`` (secret resolvability included); secret names
        from ``catalog`` when given, else read from the secrets backend."""
        if catalog is not None:
            names: Collection[str] = frozenset(catalog.secret_names)
        else:
            from automate.governance.secrets import secret_names

            names = frozenset(secret_names(tenant=tenant))

        def problems_of(definition: Definition) -> list[Problem]:
            found = definition_problems(
                trigger_spec=definition["trigger_spec"],
                rule_spec=definition["rule_spec"],
                graph=definition["graph"],
                tenant=tenant.slug,
            )
            found.extend(unresolvable_secret_problems(graph=definition["graph"], tenant=tenant))
            return found

        return cls(secret_names=names, problems_of=problems_of)


@dataclass
class _Prepared:
    definition: Definition | None
    shape_problems: list[Problem]
    scrubbed: Scrubbed


def _prepare(
    raw: Any, *, before: Definition, checker: Checker, notes: Sequence[str] = ()
) -> _Prepared:
    definition, shape_problems = normalise(raw, before=before)
    scrubbed = Scrubbed()
    if definition is not None:
        scrubbed = scrub_secrets(
            definition, secret_names=checker.secret_names, before=before, drafter_notes=notes
        )
        lay_out(definition["graph"], before=before["graph"])
    return _Prepared(definition, shape_problems, scrubbed)


def answer_problems(answer: Answer, *, tenant: Tenant) -> list[dict[str, str]]:
    """Everything that keeps ``answer.definition`` from being published, as a repair round
    sends it back to the model: shape and limit problems, then the publish problems of the
    answer once secret values are removed. Secrets the user must create are not listed
    (a model cannot create them; :func:`check_answer` notes them). Empty: nothing to repair.
    """
    checker = Checker.for_tenant(tenant)
    return _repairable(answer.definition, checker=checker)


def _repairable(raw: Any, *, checker: Checker) -> list[Problem]:
    prepared = _prepare(raw, before=empty_definition(), checker=checker)
    problems = list(prepared.shape_problems)
    if prepared.definition is not None:
        problems.extend(checker.problems_of(prepared.definition))
    return _redacted_problems(problems)


def check_answer(
    answer: Answer, *, before: Definition, catalog: Catalog, tenant: Tenant
) -> CheckedAnswer:
    """The answer as it may be shown: valid, or the best valid part with its problems.

    ``before`` is the definition the request started from (returned unchanged when
    nothing of the answer can be used). Never raises for anything in ``answer``.
    """
    return check_definition(
        answer, before=before, checker=Checker.for_tenant(tenant, catalog=catalog)
    )


def check_definition(answer: Answer, *, before: Definition, checker: Checker) -> CheckedAnswer:
    """:func:`check_answer` with the tenant's checks given (see :class:`Checker`)."""
    before = _shaped(before)
    drafter_notes = _texts(answer.notes)
    prepared = _prepare(answer.definition, before=before, checker=checker, notes=drafter_notes)
    scrubbed = prepared.scrubbed
    notes = [*drafter_notes, *scrubbed.notes]
    definition = prepared.definition
    if definition is None:
        return _checked(
            deepcopy(before), None, answer, prepared.shape_problems, notes, scrubbed, complete=False
        )
    problems = checker.problems_of(definition)
    proposed = definition
    if problems:
        definition = salvage(
            proposed,
            before=before,
            problems_of=checker.problems_of,
            before_problems=checker.problems_of(before),
        )
    found = _unique([*prepared.shape_problems, *problems, *scrubbed.problems])
    return _checked(definition, proposed, answer, found, notes, scrubbed, complete=not found)


def _shaped(before: Any) -> Definition:
    """``before`` with the three parts a definition has (an empty one for a missing part)."""
    shaped = empty_definition()
    for key in shaped:
        value = before.get(key) if isinstance(before, dict) else None
        if isinstance(value, dict):
            shaped[key] = value
    graph = shaped["graph"]
    nodes, edges = graph.get("nodes", []), graph.get("edges", [])
    if not isinstance(nodes, list) or not isinstance(edges, list):
        nodes, edges = [], []
    shaped["graph"] = {**graph, "nodes": nodes, "edges": edges}
    return shaped


def _checked(
    definition: Definition,
    proposed: Definition | None,
    answer: Answer,
    problems: list[Problem],
    notes: list[str],
    scrubbed: Scrubbed,
    *,
    complete: bool,
) -> CheckedAnswer:
    # An explanation describes the drafter's node: kept only where that node is shown.
    shown = _nodes(definition)
    drafted = _nodes(proposed) if proposed is not None else {}
    node_ids = {node_id for node_id, node in shown.items() if drafted.get(node_id) == node}
    explanations = answer.explanations if isinstance(answer.explanations, dict) else {}
    return CheckedAnswer(
        definition=definition,
        complete=complete,
        problems=_redacted_problems(problems),
        notes=_texts(notes),
        explanations={
            key: redact_text(value)
            for key, value in explanations.items()
            if key in node_ids and isinstance(value, str)
        },
        assumptions=_texts(answer.assumptions),
        not_understood=_texts(answer.not_understood),
        secrets_to_create=[
            {key: redact_text(value) for key, value in entry.items()}
            for entry in scrubbed.secrets_to_create
        ],
    )


def _nodes(definition: Definition) -> dict[str, Any]:
    nodes = definition["graph"].get("nodes")
    return {
        node["id"]: node
        for node in (nodes if isinstance(nodes, list) else [])
        if isinstance(node, dict) and isinstance(node.get("id"), str)
    }


def _texts(items: Any) -> list[str]:
    if not isinstance(items, list | tuple):
        return []
    return list(dict.fromkeys(redact_text(item) for item in items if isinstance(item, str)))


def _redacted_problems(problems: list[Problem]) -> list[Problem]:
    return [
        {key: redact_text(value) for key, value in problem.items() if isinstance(value, str)}
        for problem in problems
    ]


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for problem in problems:
        signature = problem_signature(problem)
        if signature not in seen:
            seen.add(signature)
            unique.append(problem)
    return unique
