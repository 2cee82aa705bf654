"""Studio-side writes and checks: edit one node of a draft, save the rule, test a step,
backtest a rule, publish (with the secret-literal check), roll back, and diff definitions.

Every write goes through here with keyword-only arguments; views only parse and render.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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
from automate.rules import compile_rule
from automate.typing import UserType
from automate.workflows.graph import Graph, Node, NodeType
from automate.workflows.limits import check_definition_limits
from automate.workflows.models import Workflow, WorkflowVersion
from automate.workflows.notes import note_changes
from automate.workflows.queries import trigger_events as trigger_events
from automate.workflows.services import publish_problems, publish_version
from automate.workflows.template_checks import refuse_unsafe_templates

MAX_BACKTEST = 5000
DEFAULT_BACKTEST = 500
RECENT_EVENTS = 50
_EXAMPLES = 5


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


@dataclass
class BacktestResult:
    total: int
    matched: int
    matches: list[Event] = field(default_factory=list)
    misses: list[Event] = field(default_factory=list)

    @property
    def percent(self) -> float:
        return round(100 * self.matched / self.total, 1) if self.total else 0.0


def backtest(
    *, workflow: Workflow, rule_spec: Any, limit: int = DEFAULT_BACKTEST
) -> BacktestResult:
    """Evaluate ``rule_spec`` over the last ``limit`` events of the trigger's type."""
    rule = compile_rule(rule_spec or None)
    limit = max(1, min(int(limit), MAX_BACKTEST))
    result = BacktestResult(total=0, matched=0)
    for event in trigger_events(workflow)[:limit].iterator(chunk_size=500):
        result.total += 1
        if rule.evaluate(event.payload):
            result.matched += 1
            if len(result.matches) < _EXAMPLES:
                result.matches.append(event)
        elif len(result.misses) < _EXAMPLES:
            result.misses.append(event)
    return result


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
        result.ok, result.output = True, redact(output)
    except ConfirmationRequiredError:
        raise
    except AutomateError as exc:
        result.error, result.error_code = redact_text(exc.message), exc.code
    except Exception as exc:  # a connector bug: shown, redacted, like a failed step
        result.error = redact_text(f"{type(exc).__name__}: {exc}")
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


@transaction.atomic
def rollback(
    *, workflow: Workflow, version_num: int, actor: UserType | None = None
) -> WorkflowVersion:
    """Publish a copy of version ``version_num`` as a new version; the draft becomes it too.

    Raises NotFoundError for an unknown version and WorkflowValidationError when the old
    version no longer validates (nothing is changed then).
    """
    locked = _locked(workflow)
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
    _bump(locked, "draft_trigger_spec", "draft_rule_spec", "draft_graph")
    version = publish(workflow=locked, published_by=actor, notes=f"Rollback to v{version_num}")
    audit.record(
        action="workflow.rollback",
        resource_type="workflow",
        resource_id=locked.pk,
        actor=actor,
        tenant=locked.tenant,
        details={"slug": locked.slug, "from_version": version_num, "version": version.version_num},
    )
    return version


# --- diff ---------------------------------------------------------------------------------


_NODE_KEY_NAMES = {
    "inputs": "inputs",
    "label": "label",
    "connector": "connector/action",
    "action": "connector/action",
    "retry": "retry",
    "timeout_seconds": "timeout",
    "condition": "condition",
    "seconds": "delay",
    "position": "position",
    "type": "type",
    "notes": "notes",
}


@dataclass
class NodeChange:
    id: str
    label: str
    keys: list[str]
    layout_only: bool = False


@dataclass
class DefinitionDiff:
    nodes_added: list[dict[str, str]] = field(default_factory=list)
    nodes_removed: list[dict[str, str]] = field(default_factory=list)
    nodes_changed: list[NodeChange] = field(default_factory=list)
    edges_added: list[str] = field(default_factory=list)
    edges_removed: list[str] = field(default_factory=list)
    trigger_changes: list[dict[str, Any]] = field(default_factory=list)
    rule_changed: bool = False
    rule_before: Any = None
    rule_after: Any = None
    # Sticky notes added, removed or changed (automate.workflows.notes.note_changes).
    notes_changes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.nodes_added
            or self.nodes_removed
            or self.nodes_changed
            or self.edges_added
            or self.edges_removed
            or self.trigger_changes
            or self.rule_changed
            or self.notes_changes
        )


def _nodes_by_id(graph: Any) -> dict[str, dict[str, Any]]:
    nodes = (graph.get("nodes") or []) if isinstance(graph, dict) else []
    return {str(n.get("id")): n for n in nodes if isinstance(n, dict)}


def _edge_names(graph: Any) -> list[str]:
    edges = (graph.get("edges") or []) if isinstance(graph, dict) else []
    names = []
    for edge in edges:
        if isinstance(edge, dict):
            branch = f" ({edge['branch']})" if edge.get("branch") else ""
            names.append(f"{edge.get('source')} → {edge.get('target')}{branch}")
    return names


def _label(node: Mapping[str, Any]) -> str:
    label = node.get("label")
    return label if isinstance(label, str) and label else str(node.get("id"))


def diff_definitions(before: Mapping[str, Any], after: Mapping[str, Any]) -> DefinitionDiff:
    """What changed from ``before`` to ``after`` (each ``{trigger_spec, rule_spec, graph}``).

    Secret-looking values never appear: trigger values are redacted, node changes list keys.
    """
    diff = DefinitionDiff()
    old_nodes, new_nodes = _nodes_by_id(before.get("graph")), _nodes_by_id(after.get("graph"))
    for node_id, node in new_nodes.items():
        if node_id not in old_nodes:
            diff.nodes_added.append(
                {"id": node_id, "label": _label(node), "type": str(node.get("type"))}
            )
    for node_id, node in old_nodes.items():
        if node_id not in new_nodes:
            diff.nodes_removed.append(
                {"id": node_id, "label": _label(node), "type": str(node.get("type"))}
            )
            continue
        other = new_nodes[node_id]
        changed = sorted(k for k in set(node) | set(other) if node.get(k) != other.get(k))
        if changed:
            keys = sorted({_NODE_KEY_NAMES.get(k, k) for k in changed})
            if "inputs" in changed:
                old_in, new_in = node.get("inputs") or {}, other.get("inputs") or {}
                if isinstance(old_in, dict) and isinstance(new_in, dict):
                    fields = sorted(
                        k for k in set(old_in) | set(new_in) if old_in.get(k) != new_in.get(k)
                    )
                    keys = [f"inputs ({', '.join(fields)})" if k == "inputs" else k for k in keys]
            diff.nodes_changed.append(
                NodeChange(
                    id=node_id, label=_label(other), keys=keys, layout_only=changed == ["position"]
                )
            )
    old_edges, new_edges = _edge_names(before.get("graph")), _edge_names(after.get("graph"))
    diff.edges_added = [e for e in new_edges if e not in old_edges]
    diff.edges_removed = [e for e in old_edges if e not in new_edges]
    old_trigger = before.get("trigger_spec") or {}
    new_trigger = after.get("trigger_spec") or {}
    for key in sorted(set(old_trigger) | set(new_trigger)):
        if old_trigger.get(key) != new_trigger.get(key):
            diff.trigger_changes.append(
                {
                    "key": key,
                    "before": redact(old_trigger.get(key)),
                    "after": redact(new_trigger.get(key)),
                }
            )
    old_rule, new_rule = before.get("rule_spec") or {}, after.get("rule_spec") or {}
    if old_rule != new_rule:
        diff.rule_changed, diff.rule_before, diff.rule_after = True, old_rule, new_rule
    diff.notes_changes = note_changes(before.get("graph"), after.get("graph"))
    return diff


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


def _edge_items(graph: Any) -> list[dict[str, str]]:
    edges = (graph.get("edges") or []) if isinstance(graph, dict) else []
    return [
        {
            "source": str(e.get("source")),
            "target": str(e.get("target")),
            "branch": str(e.get("branch") or ""),
        }
        for e in edges
        if isinstance(e, dict)
    ]


def definition_diff_json(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """``diff_definitions`` as JSON for the canvas: ``nodes_added``/``nodes_removed``
    (``[{id, label, type}]``), ``nodes_changed`` (``[{id, label, keys, layout_only}]``),
    ``edges_added``/``edges_removed`` (``[{source, target, branch}]``, ``branch`` "" when
    none), ``trigger_changes`` (``[{key, before, after}]``, redacted), ``rule_changed`` with
    ``rule_before``/``rule_after``, and ``empty``."""
    diff = diff_definitions(before, after)
    old_edges, new_edges = _edge_items(before.get("graph")), _edge_items(after.get("graph"))
    return {
        "nodes_added": diff.nodes_added,
        "nodes_removed": diff.nodes_removed,
        "nodes_changed": [
            {"id": n.id, "label": n.label, "keys": n.keys, "layout_only": n.layout_only}
            for n in diff.nodes_changed
        ],
        "edges_added": [e for e in new_edges if e not in old_edges],
        "edges_removed": [e for e in old_edges if e not in new_edges],
        "trigger_changes": diff.trigger_changes,
        "rule_changed": diff.rule_changed,
        "rule_before": diff.rule_before if diff.rule_changed else None,
        "rule_after": diff.rule_after if diff.rule_changed else None,
        "empty": diff.empty,
    }


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
