"""Workflow files (code-first): read, validate and write the JSON format of
``workflows/schema/workflow.schema.json``."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
from django.db import transaction

from automate.exceptions import ConflictError
from automate.guard.parse import InputRejected, JsonLimits, load_json
from automate.tenants.models import Tenant
from automate.tenants.services import resolve_tenant
from automate.typing import UserType
from automate.workflows.exceptions import WorkflowValidationError
from automate.workflows.limits import configured_limits, limit_problems_of
from automate.workflows.models import Workflow, WorkflowVersion
from automate.workflows.schema import load_schema
from automate.workflows.services import (
    check_workflow_texts,
    create_workflow,
    definition_problems,
    literal_secret_problems,
    publish_version,
)

FILE_KEYS = ("slug", "name", "description", "trigger_spec", "rule_spec", "graph")


def _json_path(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


#: Problems that say what is still to be filled in (a required input left empty, a
#: template's placeholder): a draft may hold them, as the studio's editor lets it; they
#: only stop a publish.
TO_FILL_IN = frozenset({"required", "placeholder"})


def parse_workflow_file(text: str, *, draft: bool = False) -> dict[str, Any]:
    """Parse and validate a workflow file; raise WorkflowValidationError listing every problem.

    ``draft=True`` reads it as a draft: inputs still to be filled in (``TO_FILL_IN``) do
    not refuse it (an exported draft imports again, as the editor saved it), and they
    are listed under the returned data's ``"problems"`` key instead; every other problem
    (shape, limits, template syntax, unsafe templates, schema) still refuses it.
    """
    limits = configured_limits()
    try:
        data = load_json(
            text,
            what="The file",
            # Three definition parts plus the name and description.
            limits=JsonLimits(
                max_bytes=3 * limits.max_bytes + 100_000,
                max_depth=limits.max_depth + 2,
                max_number_digits=limits.max_number_digits,
            ),
        )
    except InputRejected as exc:
        raise WorkflowValidationError(
            [{"field": "(file)", "message": exc.message.rstrip(".")}]
        ) from None
    if isinstance(data, dict):
        over = limit_problems_of(
            **{key: data[key] for key in ("trigger_spec", "rule_spec", "graph") if key in data}
        )
        if over:
            raise WorkflowValidationError(over)
    validator = jsonschema.Draft202012Validator(load_schema())
    problems = [
        {"field": _json_path(error.absolute_path), "message": error.message}
        for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    ]
    if problems:
        raise WorkflowValidationError(problems)
    problems = definition_problems(
        trigger_spec=data["trigger_spec"],
        rule_spec=data.get("rule_spec") or {},
        graph=data["graph"],
    )
    to_fill = [p for p in problems if draft and p.get("kind") in TO_FILL_IN]
    refused = [p for p in problems if p not in to_fill]
    if refused:
        raise WorkflowValidationError(refused)
    check_workflow_texts(name=data["name"], description=data.get("description", ""))
    return {**data, "problems": to_fill} if draft else dict(data)


@transaction.atomic
def import_workflow(
    data: dict[str, Any],
    *,
    tenant: Tenant | str | None = None,
    publish: bool = False,
    actor: UserType | None = None,
    notes: str = "",
    create_only: bool = False,
    replace: Workflow | None = None,
    revision: int | None = None,
) -> tuple[Workflow, bool, WorkflowVersion | None]:
    """Create or update (the draft of) a workflow from parsed file data.

    By default the file's slug picks the workflow of ``tenant`` to update, or names a new
    one. ``create_only`` refuses a slug already taken (``ConflictError``,
    ``workflow_exists``) instead of updating it. ``replace`` updates that workflow's
    draft whatever the file's slug (its own slug is kept); with ``revision``, only if
    its draft is still at that revision (``ConflictError``, ``stale_draft``).

    Returns ``(workflow, created, published_version_or_None)``.
    """
    if replace is not None:
        workflow: Workflow | None = Workflow.objects.select_for_update().get(pk=replace.pk)
        assert workflow is not None
        if revision is not None and workflow.draft_revision != revision:
            raise ConflictError(
                "Someone else changed this workflow's draft since you opened it; "
                "reload to see it, then import again.",
                code="stale_draft",
                details={"revision": workflow.draft_revision},
            )
    else:
        tenant_obj = resolve_tenant(tenant)
        workflow = (
            Workflow.objects.select_for_update()
            .filter(tenant=tenant_obj, slug=data["slug"])
            .first()
        )
        if workflow is not None and create_only:
            raise ConflictError(
                f"A workflow with slug {data['slug']!r} already exists; choose another slug.",
                code="workflow_exists",
                details={"slug": data["slug"]},
            )
    created = workflow is None
    if workflow is None:
        workflow = create_workflow(
            name=data["name"],
            slug=data["slug"],
            tenant=tenant_obj,
            description=data.get("description", ""),
            trigger_spec=data["trigger_spec"],
            rule_spec=data.get("rule_spec") or {},
            graph=data["graph"],
            created_by=actor,
        )
    else:
        workflow.name = data["name"]
        workflow.description = data.get("description", "")
        workflow.draft_trigger_spec = data["trigger_spec"]
        workflow.draft_rule_spec = data.get("rule_spec") or {}
        workflow.draft_graph = data["graph"]
        workflow.draft_revision += 1
        workflow.save()
    version = (
        publish_version(workflow=workflow, published_by=actor, notes=notes) if publish else None
    )
    return workflow, created, version


def without_secret_values(graph: Any) -> Any:
    """``graph`` without literal values typed into secret fields (a copy when there are
    any): a file holds secrets only as ``{"$secret": "NAME"}`` references."""
    found = literal_secret_problems(graph=graph)
    if not found:
        return graph
    graph = copy.deepcopy(graph)
    nodes = {str(node.get("id", "")): node for node in graph["nodes"] if isinstance(node, dict)}
    for problem in found:
        *parents, last = problem["field"].split(".")
        holder: Any = nodes.get(problem["node_id"], {})
        for part in parents:
            holder = holder.get(part) if isinstance(holder, dict) else None
        if isinstance(holder, dict):
            holder.pop(last, None)
    return graph


def export_workflow(
    workflow: Workflow, *, version: WorkflowVersion | None = None
) -> dict[str, Any]:
    """The workflow file for ``version`` (or for the draft when ``version`` is None).

    A literal value in a secret field (a draft may hold one until publish refuses it) is
    left out: files carry secret references, never secret values.
    """
    if version is not None:
        spec = (version.trigger_spec, version.rule_spec, version.graph)
    else:
        spec = (workflow.draft_trigger_spec, workflow.draft_rule_spec, workflow.draft_graph)
    data = {
        "slug": workflow.slug,
        "name": workflow.name,
        "description": workflow.description,
        "trigger_spec": spec[0],
        "rule_spec": spec[1],
        "graph": without_secret_values(spec[2]),
    }
    return data


def export_text(workflow: Workflow, *, version: WorkflowVersion | None = None) -> str:
    """The workflow file as text, exactly as ``automate_export`` writes it."""
    return json.dumps(export_workflow(workflow, version=version), indent=2, ensure_ascii=False)


def read_file(path: str | Path) -> str:
    return Path(path).read_text(encoding="utf-8")
