"""Workflow files (code-first): read, validate and write the JSON format of
``workflows/schema/workflow.schema.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
from django.db import transaction

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
    publish_version,
)

FILE_KEYS = ("slug", "name", "description", "trigger_spec", "rule_spec", "graph")


def _json_path(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_workflow_file(text: str) -> dict[str, Any]:
    """Parse and validate a workflow file; raise WorkflowValidationError listing every problem."""
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
    if problems:
        raise WorkflowValidationError(problems)
    check_workflow_texts(name=data["name"], description=data.get("description", ""))
    return dict(data)


@transaction.atomic
def import_workflow(
    data: dict[str, Any],
    *,
    tenant: Tenant | str | None = None,
    publish: bool = False,
    actor: UserType | None = None,
    notes: str = "",
) -> tuple[Workflow, bool, WorkflowVersion | None]:
    """Create or update (the draft of) a workflow from parsed file data.

    Returns ``(workflow, created, published_version_or_None)``.
    """
    tenant_obj = resolve_tenant(tenant)
    workflow = Workflow.objects.filter(tenant=tenant_obj, slug=data["slug"]).first()
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


def export_workflow(
    workflow: Workflow, *, version: WorkflowVersion | None = None
) -> dict[str, Any]:
    """The workflow file for ``version`` (or for the draft when ``version`` is None)."""
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
        "graph": spec[2],
    }
    return data


def read_file(path: str | Path) -> str:
    return Path(path).read_text(encoding="utf-8")
