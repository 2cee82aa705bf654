"""Saving a workflow's draft with the revision it was based on (compare-and-set).

The studio's canvas and the REST API save drafts through :func:`save_draft`, so both
refuse the same shapes, limits and unsafe templates, and both answer a save made from a
stale revision with ``409 stale_draft`` instead of silently overwriting someone else's
edit (docs/discussions/0002-studio-editor-contract.md).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from automate.exceptions import AutomateError, ConflictError
from automate.triggers.cron import schedule_problems
from automate.workflows.limits import check_definition_limits
from automate.workflows.models import Workflow
from automate.workflows.services import MAX_NAME_LENGTH, check_workflow_texts
from automate.workflows.template_checks import refuse_unsafe_templates

__all__ = ["DRAFT_KEYS", "DraftShapeError", "StaleDraftError", "draft_shape_problems", "save_draft"]

#: The parts of a draft a save may replace (each optional).
DRAFT_KEYS = ("name", "trigger_spec", "rule_spec", "graph")
_DEFINITION_KEYS = ("trigger_spec", "rule_spec", "graph")


class DraftShapeError(AutomateError):
    """The body is not a draft: ``details["fields"]`` maps each key to what is wrong."""

    code = "invalid_request"
    http_status = 400


class StaleDraftError(ConflictError):
    """The draft changed since the revision the save was based on (``details["revision"]``
    is the current one)."""

    code = "stale_draft"


def draft_shape_problems(body: Any) -> dict[str, str]:
    """What is wrong with a save's shape, by key (empty when the shape is right): a key
    that is neither ``revision`` nor one of :data:`DRAFT_KEYS`, a save that names no part,
    a wrong type."""
    if not isinstance(body, dict):
        return {"body": "must be a JSON object"}
    problems: dict[str, str] = {}
    allowed = ("revision", *DRAFT_KEYS)
    for key in sorted(set(body) - set(allowed), key=str):
        problems[str(key)[:100]] = f"is not a part of a draft ({', '.join(allowed)})"
    if not set(body) & set(DRAFT_KEYS):
        problems.setdefault("body", f"must name at least one of: {', '.join(DRAFT_KEYS)}")
    revision = body.get("revision")
    if not isinstance(revision, int) or isinstance(revision, bool) or revision < 0:
        problems["revision"] = "must be the draft revision the edit started from (an integer)"
    if "graph" in body:
        graph = body["graph"]
        if not (
            isinstance(graph, dict)
            and isinstance(graph.get("nodes"), list)
            and isinstance(graph.get("edges"), list)
        ):
            problems["graph"] = "must be an object with a 'nodes' list and an 'edges' list"
        elif not all(isinstance(item, dict) for item in graph["nodes"] + graph["edges"]):
            problems["graph"] = "every node and every edge must be a JSON object"
    if "name" in body:
        name = body["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
            problems["name"] = f"must be a non-empty string of at most {MAX_NAME_LENGTH} characters"
    for key in ("trigger_spec", "rule_spec"):
        if key in body and not isinstance(body[key], dict):
            problems[key] = "must be a JSON object"
    trigger_spec = body.get("trigger_spec")
    if isinstance(trigger_spec, dict) and "schedule" in trigger_spec:
        # A schedule that cannot run is refused at save, not only at publish.
        for problem in schedule_problems(trigger_spec["schedule"]):
            problems[problem["field"]] = problem["message"]
    return problems


def save_draft(workflow: Workflow, body: Any) -> Workflow:
    """Replace the parts of ``workflow``'s draft that ``body`` names, if ``body["revision"]``
    is still the draft's revision; returns the saved workflow (revision + 1).

    Raises DraftShapeError (400) for a wrong shape, WorkflowValidationError (400) over the
    definition limits or for an unsafe template, StaleDraftError (409) for a stale
    revision. Nothing is written when it raises.
    """
    problems = draft_shape_problems(body)
    if problems:
        raise DraftShapeError(
            gettext("The draft is not in the expected shape."), details={"fields": problems}
        )
    check_definition_limits(**{k: body[k] for k in _DEFINITION_KEYS if k in body})
    if "name" in body:
        check_workflow_texts(name=body["name"])
    if "graph" in body:
        refuse_unsafe_templates(body["graph"])
    with transaction.atomic():
        locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
        if body["revision"] != locked.draft_revision:
            raise StaleDraftError(
                gettext(
                    "Someone else changed this workflow since you opened it; reload to see it."
                ),
                details={"revision": locked.draft_revision},
            )
        fields = ["draft_revision", "updated_at"]
        if "graph" in body:
            locked.draft_graph = body["graph"]
            fields.append("draft_graph")
        if "name" in body:
            locked.name = body["name"].strip()
            fields.append("name")
        if "trigger_spec" in body:
            locked.draft_trigger_spec = body["trigger_spec"]
            fields.append("draft_trigger_spec")
        if "rule_spec" in body:
            locked.draft_rule_spec = body["rule_spec"]
            fields.append("draft_rule_spec")
        locked.draft_revision += 1
        locked.save(update_fields=fields)
    locked.live_version = workflow.live_version  # select_for_update() did not join it
    return locked
