"""Studio-side writes and checks: edit one node of a draft, save the rule, test a step,
publish (with the secret-literal check). Backtests, rollback and definition diffs live in
the engine (``automate.workflows.backtest``, ``.rollback``, ``.diffs``; the REST API uses
them too) and are re-exported here under their old names.

Every write goes through here with keyword-only arguments; views only parse and render.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from automate import conf
from automate.connectors import (
    ActionSpec,
    ExecutionContext,
    check_connector_allowed,
    connector_exists,
    get_action,
    get_connector,
)
from automate.events.models import Event
from automate.exceptions import AutomateError, NotFoundError
from automate.governance import audit
from automate.governance.redaction import MASK, redact, redact_text
from automate.payload_caps import cap_json, cap_text
from automate.rules import compile_rule
from automate.typing import UserType

# Moved to the engine (the REST API uses them too); the studio's callers keep these names.
from automate.workflows.backtest import DEFAULT_BACKTEST as DEFAULT_BACKTEST
from automate.workflows.backtest import MAX_BACKTEST as MAX_BACKTEST
from automate.workflows.backtest import BacktestResult as BacktestResult
from automate.workflows.backtest import backtest as backtest
from automate.workflows.diffs import DefinitionDiff as DefinitionDiff
from automate.workflows.diffs import NodeChange as NodeChange
from automate.workflows.diffs import definition_diff_json as definition_diff_json
from automate.workflows.diffs import diff_definitions as diff_definitions
from automate.workflows.graph import Graph, Node, NodeType
from automate.workflows.limits import check_definition_limits
from automate.workflows.models import Workflow, WorkflowVersion
from automate.workflows.queries import trigger_events as trigger_events
from automate.workflows.rollback import rollback as rollback
from automate.workflows.services import publish_problems, publish_version
from automate.workflows.template_checks import refuse_unsafe_templates

RECENT_EVENTS = 50


# --- reads the panels share ----------------------------------------------------------------


def find_node(graph: Any, node_id: str) -> dict[str, Any] | None:
    """The raw node ``node_id`` of a graph document, or None."""
    for node in (graph.get("nodes") or []) if isinstance(graph, dict) else []:
        if isinstance(node, dict) and node.get("id") == node_id:
            return node
    return None


def action_spec_of(node: Mapping[str, Any]) -> ActionSpec | None:
    """The ActionSpec of an action node, or None when its connector/action is unknown."""
    connector, action = node.get("connector"), node.get("action")
    if not (isinstance(connector, str) and isinstance(action, str)):
        return None
    if not connector_exists(connector, action):
        return None
    return get_action(connector, action)


def upstream_ids(graph: Any, node_id: str) -> list[str]:
    """Ids of the nodes upstream of ``node_id`` (whose ``steps.<id>.output`` it may use)."""
    from automate.execution.orchestrator import node_context_keys

    try:
        return node_context_keys(Graph.from_dict(graph), node_id)
    except (AutomateError, RecursionError):  # RecursionError: a draft stored over the limits
        # An unfinished draft: walk the raw edges instead.
        edges = [e for e in (graph.get("edges") or []) if isinstance(e, dict)]
        seen: list[str] = []
        frontier = [node_id]
        while frontier:
            current = frontier.pop()
            for edge in edges:
                source = edge.get("source")
                if (
                    edge.get("target") == current
                    and isinstance(source, str)
                    and source not in seen
                    and source != node_id
                ):
                    seen.append(source)
                    frontier.append(source)
        return list(reversed(seen))


def draft_problems(workflow: Workflow) -> list[dict[str, str]]:
    """Everything that keeps the draft from being published (what publishing checks)."""
    return publish_problems(workflow)


# --- draft writes --------------------------------------------------------------------------


def _locked(workflow: Workflow) -> Workflow:
    return Workflow.objects.select_for_update().get(pk=workflow.pk)


def _bump(workflow: Workflow, *fields: str) -> None:
    workflow.draft_revision += 1
    workflow.save(update_fields=[*fields, "draft_revision", "updated_at"])


def _copy_nodes(graph: Any) -> Any:
    """The graph with each node dict copied one level deep: enough to change a node's keys
    without touching the stored graph, and no recursion into a node stored over the limits
    (which saving this node may be replacing)."""
    if not isinstance(graph, dict):
        return graph
    nodes = graph.get("nodes")
    copied = (
        [dict(n) if isinstance(n, dict) else n for n in nodes] if isinstance(nodes, list) else nodes
    )
    return {**graph, "nodes": copied}


@transaction.atomic
def update_node(
    *,
    workflow: Workflow,
    node_id: str,
    changes: Mapping[str, Any],
    remove: Iterable[str] = (),
    trigger_spec: Mapping[str, Any] | None = None,
) -> Workflow:
    """Set keys of node ``node_id`` in the draft (and the trigger spec for the trigger node).

    ``changes`` are merged into the node; keys in ``remove`` are deleted. The draft
    revision is bumped. Raises NotFoundError when the draft has no such node.
    """
    locked = _locked(workflow)
    graph = _copy_nodes(locked.draft_graph)
    node = find_node(graph, node_id)
    if node is None:
        raise NotFoundError(
            gettext("The draft has no step %(node_id)r.") % {"node_id": node_id},
            details={"node_id": node_id},
        )
    for key in remove:
        node.pop(key, None)
    node.update(copy.deepcopy(dict(changes)))
    check_definition_limits(
        graph=graph, **({"trigger_spec": trigger_spec} if trigger_spec is not None else {})
    )
    refuse_unsafe_templates(graph)
    locked.draft_graph = graph
    fields = ["draft_graph"]
    if trigger_spec is not None:
        locked.draft_trigger_spec = dict(trigger_spec)
        fields.append("draft_trigger_spec")
    _bump(locked, *fields)
    return locked


@transaction.atomic
def save_rule(*, workflow: Workflow, rule_spec: Any) -> Workflow:
    """Store a (valid) rule in the draft; raises RuleError (or WorkflowValidationError over
    the definition limits) and saves nothing otherwise."""
    check_definition_limits(rule_spec=rule_spec or {})
    compile_rule(rule_spec or None)
    locked = _locked(workflow)
    locked.draft_rule_spec = rule_spec or {}
    _bump(locked, "draft_rule_spec")
    return locked


# --- testing ----------------------------------------------------------------------------


CONFIRM_FIELD = "confirm_side_effects"


class ConfirmationRequiredError(AutomateError):
    """A step that really writes or sends was tested without the user's confirmation."""

    code = "confirmation_required"
    http_status = 400


def side_effects_of(node: Mapping[str, Any], inputs: Any = None) -> str:
    """What testing this node would really do, in the user's words; "" when it only reads.

    ``inputs`` are the rendered inputs when known; otherwise the stored ones are used, so
    a value that is still a template counts as "may write" (the panel asks, to be safe).
    An unknown connector counts as writing.
    """
    if node.get("type") != NodeType.ACTION:
        return ""
    code, action = node.get("connector"), node.get("action")
    if not (isinstance(code, str) and isinstance(action, str)):
        return ""
    if not connector_exists(code, action):
        return f"the unknown connector {code!r} may write or send data"
    adapter = get_connector(code)
    params = inputs if isinstance(inputs, Mapping) else node.get("inputs")
    if not adapter.has_side_effects(action, params if isinstance(params, Mapping) else {}):
        return ""
    spec = adapter.get_action(action)
    what = spec.label or action.replace("_", " ")
    return (
        f'"{what}" ({adapter.name or code}) will really write or send: '
        "a test is not a dry run and cannot be undone"
    )


@dataclass
class StepTestResult:
    ok: bool
    output: Any = None
    error: str = ""
    error_code: str = ""
    inputs: Any = None
    duration_ms: int = 0


def sample_context(
    *, workflow: Workflow, payload: Any, steps: Mapping[str, Any], event: Event | None = None
) -> dict[str, Any]:
    """What a step's templates see in a test: the same shape as a real run's context."""
    return {
        "event": {
            "id": str(event.pk) if event else "test-event",
            "type": event.type if event else str(workflow.draft_trigger_spec.get("event_type", "")),
            "source": event.source if event else str(workflow.draft_trigger_spec.get("source", "")),
            "payload": payload,
            "trace_id": event.trace_id if event else "",
            "created_at": event.created_at.isoformat() if event else "",
        },
        "execution": {
            "id": "test",
            "name": workflow.name,
            "workflow": workflow.slug,
            "version": 0,
            "trace_id": "",
            "attempt": 1,
        },
        "steps": {key: {"output": value} for key, value in steps.items()},
    }


def try_step(
    *,
    workflow: Workflow,
    node_id: str,
    payload: Any,
    steps: Mapping[str, Any] | None = None,
    event: Event | None = None,
    actor: UserType | None = None,
    confirmed: bool = False,
) -> StepTestResult:
    """Run one action, transform or condition node of the draft on sample data.

    The same path as a real run: sandboxed templates, the connector allowlist, only the
    secrets the node's inputs name literally and only the workflow tenant's, the
    connector's ``run()`` under the step timeout; inputs, outputs and errors are masked
    as a run's are. No ExecutionRun is written; an audit entry ``studio.test_step`` is.

    A step with side effects (``side_effects_of`` its rendered inputs) runs only with
    ``confirmed``; otherwise ``ConfirmationRequiredError`` is raised before the connector
    is called, and nothing is written.
    """
    from automate.execution.runner import call_with_timeout, render_step_inputs, stored_inputs

    raw = find_node(workflow.draft_graph, node_id)
    if raw is None:
        raise NotFoundError(
            gettext("The draft has no step %(node_id)r.") % {"node_id": node_id},
            details={"node_id": node_id},
        )
    kind = raw.get("type")
    if kind not in (NodeType.ACTION, NodeType.TRANSFORM, NodeType.CONDITION):
        return StepTestResult(
            ok=False,
            error=gettext("Only action, transform and condition steps can be tested (%(kind)s).")
            % {"kind": kind},
            error_code="not_testable",
        )
    node = Node(node_id, NodeType(kind), MappingProxyType(copy.deepcopy(raw)))
    context = sample_context(workflow=workflow, payload=payload, steps=steps or {}, event=event)
    started = time.monotonic()
    result = StepTestResult(ok=False)
    try:
        resolved: dict[str, str] = {}
        inputs = render_step_inputs(node, context, resolved, tenant=workflow.tenant)
        result.inputs = stored_inputs(node, inputs) if inputs is not None else None
        if node.type is NodeType.CONDITION:
            passed = compile_rule(raw.get("condition")).evaluate(context)
            output: Any = {"result": passed, "branch": "true" if passed else "false"}
        elif node.type is NodeType.TRANSFORM:
            output = inputs if isinstance(inputs, dict) else {"value": inputs}
        else:
            code = str(raw.get("connector"))
            check_connector_allowed(code)
            adapter = get_connector(code)
            timeout = float(raw.get("timeout_seconds") or conf.get("EXECUTION", "timeout_seconds"))
            ctx = ExecutionContext(
                secrets=resolved,
                idempotency_key=f"studio-test:{uuid.uuid4().hex}",
                run_id="",
                node_id=node_id,
                attempt=1,
                tenant=workflow.tenant.slug,
                timeout_seconds=timeout,
                deadline=time.monotonic() + timeout,
            )
            action = str(raw.get("action"))
            effects = side_effects_of(raw, inputs)
            if effects and not confirmed:
                raise ConfirmationRequiredError(
                    gettext(
                        "Testing step %(node_id)r was not confirmed: %(effects)s. Confirm it "
                        "in the panel (%(field)s=1) to run it."
                    )
                    % {"node_id": node_id, "effects": effects, "field": CONFIRM_FIELD},
                    details={"node_id": node_id, "field": CONFIRM_FIELD},
                )
            output = call_with_timeout(
                lambda: adapter.run(action, inputs, ctx),
                timeout=timeout,
                name=f"studio test of step {node_id}",
            )
        # Capped as a run stores it (automate.payload_caps): the panel shows what a run keeps.
        result.ok, result.output = True, redact(cap_json(output))
    except ConfirmationRequiredError:
        raise
    except AutomateError as exc:
        result.error, result.error_code = cap_text(redact_text(exc.message)), exc.code
    except Exception as exc:  # a connector bug: shown, redacted, like a failed step
        result.error = cap_text(redact_text(f"{type(exc).__name__}: {exc}"))
        result.error_code = "error"
    result.duration_ms = int((time.monotonic() - started) * 1000)
    audit.record(
        action="studio.test_step",
        resource_type="workflow",
        resource_id=workflow.pk,
        actor=actor,
        tenant=workflow.tenant,
        details={"node_id": node_id, "ok": result.ok, "error": result.error},
    )
    return result


# --- publishing ---------------------------------------------------------------------------


def publish(
    *, workflow: Workflow, published_by: UserType | None = None, notes: str = ""
) -> WorkflowVersion:
    """Publish the draft (definition_problems also refuses literal values in secret fields)."""
    return publish_version(workflow=workflow, published_by=published_by, notes=notes)


# --- diff ---------------------------------------------------------------------------------


def restore_masked(new: Any, old: Any) -> Any:
    """``new`` with every part that equals the masked form of ``old`` put back to ``old``.

    The panel shows stored values redacted (a literal token as ``********``); saving the
    form unchanged must keep the stored value, not write the mask.
    """
    if old is not None and new == redact(old) and new != old:
        return copy.deepcopy(old)
    if isinstance(new, dict) and isinstance(old, dict):
        return {key: restore_masked(value, old.get(key)) for key, value in new.items()}
    if isinstance(new, list) and isinstance(old, list) and len(new) == len(old):
        return [restore_masked(a, b) for a, b in zip(new, old, strict=True)]
    if new == MASK and isinstance(old, str):
        return old
    return new


def proposal_entries(proposal_id: str, *, tenants: Iterable[Any]) -> dict[str, Any]:
    """The audit entries of copilot proposal ``proposal_id`` in ``tenants``, by action
    (``copilot.proposed``, ``copilot.accepted``, ``copilot.rejected``); empty when the
    proposal is unknown there."""
    from automate.governance.models import AuditLogEntry

    entries = AuditLogEntry.objects.filter(
        resource_type="copilot_proposal",
        resource_id=proposal_id,
        tenant__in=list(tenants),
    ).select_related("tenant")
    return {entry.action: entry for entry in entries.order_by("pk")}


def drafter_info() -> dict[str, str]:
    """What will draft: ``{"drafter": "offline", "model": ""}`` without a configured model
    (``COPILOT.base_url`` empty), else ``{"drafter": "model", "model": <COPILOT.model>}``."""
    from automate.copilot.settings import copilot_settings

    settings = copilot_settings()
    if settings.uses_model:
        return {"drafter": "model", "model": settings.model}
    return {"drafter": "offline", "model": ""}
