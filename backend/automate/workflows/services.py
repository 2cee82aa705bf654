"""Writes to workflows: create, save a draft, publish an immutable version."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext

from automate.connectors import connector_allowed, connector_exists
from automate.connectors.publishing import connector_publish_problems
from automate.exceptions import ConflictError
from automate.governance import audit
from automate.rules import RuleError, compile_rule, to_jsonlogic
from automate.tenants.models import Tenant
from automate.tenants.services import resolve_tenant
from automate.triggers.services import sync_webhook_endpoint, webhook_publish_problems
from automate.typing import UserType
from automate.workflows.exceptions import WorkflowValidationError
from automate.workflows.graph import graph_problems
from automate.workflows.input_checks import input_problems
from automate.workflows.limits import check_definition_limits, limit_problems_of
from automate.workflows.models import Workflow, WorkflowVersion
from automate.workflows.placeholders import placeholder_problems
from automate.workflows.queries import sample_payloads
from automate.workflows.secret_checks import unresolvable_secret_problems
from automate.workflows.specs import trigger_problems
from automate.workflows.template_checks import graph_template_problems, refuse_unsafe_templates
from automate.workflows.variable_checks import unknown_variable_warnings


def create_workflow(
    *,
    name: str,
    slug: str | None = None,
    tenant: Tenant | str | None = None,
    description: str = "",
    trigger_spec: dict[str, Any] | None = None,
    rule_spec: dict[str, Any] | None = None,
    graph: dict[str, Any] | None = None,
    created_by: UserType | None = None,
) -> Workflow:
    """Create a workflow with a draft (nothing runs until a version is published)."""
    tenant_obj = resolve_tenant(tenant)
    rule_spec = _rule_json(rule_spec)
    check_definition_limits(
        trigger_spec=trigger_spec or {}, rule_spec=rule_spec or {}, graph=graph or {}
    )
    check_workflow_texts(name=name, description=description)
    slug = slug or slugify(name)
    if not slug:
        raise WorkflowValidationError([{"field": "slug", "message": "a slug is required"}])
    refuse_unsafe_templates(graph)
    if Workflow.objects.filter(tenant=tenant_obj, slug=slug).exists():
        raise ConflictError(
            gettext("A workflow with slug %(slug)r already exists.") % {"slug": slug},
            code="workflow_exists",
            details={"slug": slug},
        )
    return Workflow.objects.create(
        tenant=tenant_obj,
        slug=slug,
        name=name,
        description=description,
        draft_trigger_spec=trigger_spec or {},
        draft_rule_spec=rule_spec or {},
        draft_graph=graph or {"nodes": [], "edges": []},
        # By id: the model field is typed as AUTH_USER_MODEL, the argument as any user.
        created_by_id=created_by.pk if created_by is not None else None,
    )


MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 10_000


def check_workflow_texts(*, name: str | None = None, description: str | None = None) -> None:
    """A workflow's name (1-200 characters, as the model says) and description: text a
    database can store (no NUL, no unpaired surrogate). Raises WorkflowValidationError."""
    from automate.guard.parse import InputRejected, check_text

    problems = []
    for field, value, limit in (
        ("name", name, MAX_NAME_LENGTH),
        ("description", description, MAX_DESCRIPTION_LENGTH),
    ):
        if value is None:
            continue
        if field == "name" and not value.strip():
            problems.append({"field": field, "message": "a name is required"})
            continue
        try:
            check_text(value, what=f"The {field}", max_length=limit)
        except InputRejected as exc:
            problems.append({"field": field, "message": exc.message.rstrip(".")})
    if problems:
        raise WorkflowValidationError(problems)


def _rule_json(rule_spec: Any) -> Any:
    """A rule as stored JSON; jsonlogic-py expressions are converted (bad ones kept as-is,
    so validation reports them with their path)."""
    if rule_spec is None or isinstance(rule_spec, dict):
        return rule_spec
    try:
        return to_jsonlogic(rule_spec)
    except RuleError:
        return rule_spec


_SECRETS_IN_TEMPLATE = re.compile(r"secrets\s*[.\[]")


def literal_secret_problems(*, graph: Any) -> list[dict[str, str]]:
    """Secret fields of action nodes that hold a literal value instead of a reference.

    A secret field (``ActionSpec.secret_fields()``) must hold ``{"$secret": "NAME"}``,
    ``"$secret:NAME"`` or a template that reads ``secrets.NAME``, so that no secret value is
    ever stored in a workflow definition.
    """
    from automate.connectors import connector_exists, get_action
    from automate.governance.secrets import is_secret_ref

    problems: list[dict[str, str]] = []
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict) or node.get("type") != "action":
            continue
        code, action = node.get("connector"), node.get("action")
        if not (isinstance(code, str) and isinstance(action, str)):
            continue
        if not connector_exists(code, action):
            continue
        for path in get_action(code, action).secret_fields():
            value: Any = node.get("inputs") or {}
            for part in path.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value in (None, "") or is_secret_ref(value):
                continue
            if isinstance(value, str) and _SECRETS_IN_TEMPLATE.search(value):
                continue
            problems.append(
                {
                    "node_id": str(node.get("id", "")),
                    "field": f"inputs.{path}",
                    "message": f"the secret field '{path}' holds a literal value; pick a "
                    'secret so it is stored as {"$secret": "NAME"}',
                }
            )
    return problems


def definition_problems(
    *, trigger_spec: Any, rule_spec: Any, graph: Any, tenant: str | None = None
) -> list[dict[str, str]]:
    """Every problem that keeps a definition from being published.

    ``tenant`` (a slug) narrows the egress allowlist literal URLs are checked against.
    """
    from automate.governance.egress import literal_url_problems

    # Over a limit, the other checks (recursive by nature) are not even tried.
    over = limit_problems_of(trigger_spec=trigger_spec, rule_spec=rule_spec, graph=graph)
    if over:
        return over
    problems = trigger_problems(trigger_spec)
    try:
        compile_rule(_rule_json(rule_spec) or None)
    except RuleError as exc:
        problems.append({"field": f"rule_spec{exc.path}", "message": exc.message})
    for problem in graph_problems(graph, connector_exists=connector_exists):
        field = problem.get("field", "")
        problems.append({**problem, "field": f"graph.{field}" if field else "graph"})
    problems.extend(literal_secret_problems(graph=graph))
    to_fill = placeholder_problems(graph)
    # A placeholder's hint says more than "required": the input is reported once, with it.
    hinted = {(p.get("node_id"), p.get("field")) for p in to_fill}
    problems.extend(
        p
        for p in input_problems(graph)
        if p.get("kind") != "required" or (p.get("node_id"), p.get("field")) not in hinted
    )
    problems.extend(connector_publish_problems(graph))
    problems.extend(literal_url_problems(graph=graph, tenant=tenant))
    problems.extend(graph_template_problems(graph))
    problems.extend(to_fill)
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict):
            continue  # graph_problems reports it
        code = node.get("connector")
        if node.get("type") == "action" and isinstance(code, str) and not connector_allowed(code):
            problems.append(
                {
                    "node_id": str(node.get("id", "")),
                    "field": "connector",
                    "message": f"connector {code!r} is not allowed by "
                    "DJANGO_AUTOMATE['POLICY']['connector_allowlist']",
                }
            )
    return problems


def _notes_problem(notes: str) -> dict[str, str] | None:
    from automate.guard.parse import InputRejected, check_text

    try:
        check_text(notes, what="The notes", max_length=MAX_DESCRIPTION_LENGTH)
    except InputRejected as exc:
        return {"field": "notes", "message": exc.message.rstrip(".")}
    return None


def publish_problems(workflow: Workflow, *, notes: str = "") -> list[dict[str, str]]:
    """Everything that keeps ``workflow``'s draft from being published: the definition
    checks (graph, rule, trigger, required inputs, input schemas, template syntax, …), the
    version notes and the secrets the tenant cannot resolve. The studio shows these on the
    nodes; every publish path refuses them."""
    problems = definition_problems(
        trigger_spec=workflow.draft_trigger_spec,
        rule_spec=workflow.draft_rule_spec,
        graph=workflow.draft_graph,
        tenant=workflow.tenant.slug,
    )
    notes_problem = _notes_problem(notes)
    if notes_problem:
        problems.append(notes_problem)
    problems.extend(
        unresolvable_secret_problems(graph=workflow.draft_graph, tenant=workflow.tenant)
    )
    problems.extend(webhook_publish_problems(workflow))
    return problems


def publish_warnings(workflow: Workflow) -> list[dict[str, str]]:
    """What may fail when ``workflow``'s draft runs but does not stop publishing: template
    variables none of the trigger's recent sample events has, steps read before they run
    (see :mod:`automate.workflows.variable_checks`)."""
    return unknown_variable_warnings(workflow.draft_graph, samples=sample_payloads(workflow))


@transaction.atomic
def publish_version(
    *,
    workflow: Workflow,
    published_by: UserType | None = None,
    notes: str = "",
) -> WorkflowVersion:
    """Snapshot the workflow's draft as a new immutable version and make it live.

    Raises :class:`WorkflowValidationError` listing every :func:`publish_problems` (each
    with its node id, field and message); nothing is written then. Warnings
    (:func:`publish_warnings`) do not stop it.
    """
    workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
    problems = publish_problems(workflow, notes=notes)
    if problems:
        raise WorkflowValidationError(problems)
    last = workflow.versions.aggregate(n=Max("version_num"))["n"] or 0
    version = WorkflowVersion.objects.create(
        workflow=workflow,
        version_num=last + 1,
        trigger_spec=workflow.draft_trigger_spec,
        rule_spec=workflow.draft_rule_spec,
        graph=workflow.draft_graph,
        notes=notes,
        published_at=timezone.now(),
        published_by_id=published_by.pk if published_by is not None else None,
    )
    workflow.live_version = version
    workflow.save(update_fields=["live_version", "updated_at"])
    if isinstance(version.trigger_spec, dict) and "webhook" in version.trigger_spec:
        # The published trigger's endpoint verifies deliveries from now on.
        sync_webhook_endpoint(
            workflow=workflow, webhook=version.trigger_spec["webhook"], actor=published_by
        )
    audit.record(
        action="workflow.publish",
        resource_type="workflow",
        resource_id=workflow.pk,
        actor=published_by,
        tenant=workflow.tenant,
        details={"slug": workflow.slug, "version": version.version_num, "notes": notes},
    )
    return version


def _locked_workflow(workflow: Workflow) -> Workflow:
    return Workflow.objects.select_related("tenant").select_for_update().get(pk=workflow.pk)


def _audit_lifecycle(action: str, workflow: Workflow, actor: UserType | None) -> None:
    audit.record(
        action=action,
        resource_type="workflow",
        resource_id=workflow.pk,
        actor=actor,
        tenant=workflow.tenant,
        details={"slug": workflow.slug},
    )


@transaction.atomic
def set_workflow_active(
    *, workflow: Workflow, active: bool, actor: UserType | None = None
) -> Workflow:
    """Switch a workflow on or off (audited as ``workflow.activate``/``workflow.deactivate``).

    An inactive workflow matches no events and starts no new runs; runs already started go
    on. An archived workflow cannot be switched on (restore it first: ConflictError).
    Switching to the state it is already in changes and records nothing.
    """
    locked = _locked_workflow(workflow)
    if active and locked.archived_at is not None:
        raise ConflictError(
            gettext("The workflow %(slug)r is archived; restore it before switching it on.")
            % {"slug": locked.slug},
            code="workflow_archived",
            details={"workflow": locked.slug},
        )
    if locked.is_active != active:
        locked.is_active = active
        locked.save(update_fields=["is_active", "updated_at"])
        _audit_lifecycle("workflow.activate" if active else "workflow.deactivate", locked, actor)
    return locked


@transaction.atomic
def archive_workflow(*, workflow: Workflow, actor: UserType | None = None) -> Workflow:
    """Archive a workflow instead of deleting it (audited as ``workflow.archive``).

    It is switched off (no new runs), hidden from the studio's lists, and keeps its
    versions, runs and audit history; ``restore_workflow`` brings it back, switched off.
    """
    locked = _locked_workflow(workflow)
    if locked.archived_at is None:
        locked.archived_at = timezone.now()
        locked.is_active = False
        locked.save(update_fields=["archived_at", "is_active", "updated_at"])
        _audit_lifecycle("workflow.archive", locked, actor)
    return locked


@transaction.atomic
def restore_workflow(*, workflow: Workflow, actor: UserType | None = None) -> Workflow:
    """Bring an archived workflow back to the lists (audited as ``workflow.restore``).

    It stays switched off until someone switches it on, so restoring never starts runs.
    """
    locked = _locked_workflow(workflow)
    if locked.archived_at is not None:
        locked.archived_at = None
        locked.save(update_fields=["archived_at", "updated_at"])
        _audit_lifecycle("workflow.restore", locked, actor)
    return locked
