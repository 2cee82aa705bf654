"""Pinned data: sample data a workflow's draft holds for the studio's tests.

A user pins, on one node of the draft, the data that node stands for in "Test this step"
and in the expression preview: the trigger's event payload (a JSON object) or a step's
output (any JSON value). Pins live in their own table (``PinnedData``), keyed by the
draft's node id, so nothing that copies a definition (publishing, rollback, the workflow
file of ``automate_export``/``automate_import`` and the studio's export) ever carries
them: a published version is ``trigger_spec``, ``rule_spec`` and ``graph`` only.

Every write is a draft edit: it names the draft revision it was made from, is refused
(``ConflictError`` ``stale_draft``, 409) when the draft moved on, and bumps the revision,
exactly like the canvas and panel autosaves, so two tabs conflict instead of overwriting.
Values are stored redacted (``automate.governance.redaction.redact``): sensitive keys,
credential-looking text and every secret value resolved in this process are masked
before the row is written, and the caller learns how many values were masked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from automate import conf
from automate.exceptions import ConflictError, NotFoundError
from automate.governance.redaction import MASK, redact
from automate.guard.parse import InputRejected, too_large
from automate.typing import UserType
from automate.workflows.models import PinnedData, Workflow

__all__ = [
    "LIMIT_SETTING",
    "PinOutcome",
    "check_pin_data",
    "pin_limit",
    "pin_node",
    "pins_of",
    "unpin_node",
]

LIMIT_SETTING = "DJANGO_AUTOMATE['RETENTION']['max_payload_bytes']"


def pin_limit() -> int:
    """The largest pinned value, in bytes of compact JSON: the event payload cap
    (``RETENTION.max_payload_bytes``, 256,000 by default)."""
    return int(conf.get("RETENTION", "max_payload_bytes"))


def _draft_nodes(workflow: Workflow) -> dict[str, dict[str, Any]]:
    graph = workflow.draft_graph if isinstance(workflow.draft_graph, dict) else {}
    nodes = graph.get("nodes")
    return {
        str(node["id"]): node
        for node in (nodes if isinstance(nodes, list) else [])
        if isinstance(node, dict) and isinstance(node.get("id"), str)
    }


def check_pin_data(data: Any, *, trigger: bool) -> None:
    """Refuse what cannot be pinned: a trigger's data that is not a JSON object (an event
    payload always is), or a value over ``pin_limit()`` bytes (413 ``payload_too_large``).
    Raises ``InputRejected``."""
    if trigger and not isinstance(data, dict):
        raise InputRejected(
            gettext(
                'A pinned event payload must be a JSON object ({"key": value, …}), not %(kind)s.'
            )
            % {"kind": type(data).__name__},
            code="invalid_request",
            details={"field": "data"},
            reason="shape",
        )
    size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > pin_limit():
        raise too_large(gettext("The pinned data"), size, pin_limit(), LIMIT_SETTING)


def _masks(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_masks(item) for item in value.values())
    if isinstance(value, list):
        return sum(_masks(item) for item in value)
    return value.count(MASK) if isinstance(value, str) else 0


@dataclass
class PinOutcome:
    """A pin written: the workflow at its new draft revision, the row, and how many
    values were masked (they looked like secrets) before it was stored."""

    workflow: Workflow
    pin: PinnedData
    masked: int


def _locked_at(workflow: Workflow, revision: int) -> Workflow:
    locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
    if revision != locked.draft_revision:
        raise ConflictError(
            gettext("Someone else changed this workflow since you opened it; reload to see it."),
            code="stale_draft",
            details={"revision": locked.draft_revision},
        )
    return locked


def _node_of(workflow: Workflow, node_id: str) -> dict[str, Any]:
    node = _draft_nodes(workflow).get(node_id)
    if node is None:
        raise NotFoundError(
            gettext("The draft has no step %(node_id)r.") % {"node_id": node_id},
            details={"node_id": node_id},
        )
    return node


def _bump(workflow: Workflow) -> None:
    # Pins of nodes the draft no longer has go with the next pin write.
    PinnedData.objects.filter(workflow=workflow).exclude(
        node_id__in=list(_draft_nodes(workflow))
    ).delete()
    workflow.draft_revision += 1
    workflow.save(update_fields=["draft_revision", "updated_at"])


@transaction.atomic
def pin_node(
    *,
    workflow: Workflow,
    node_id: str,
    data: Any,
    revision: int,
    origin: str = PinnedData.Origin.EDITED,
    origin_id: str = "",
    actor: UserType | None = None,
) -> PinOutcome:
    """Pin ``data`` (redacted) to node ``node_id`` of the draft at ``revision``.

    Replaces the node's earlier pin. Raises ``NotFoundError`` (no such node),
    ``ConflictError`` ``stale_draft`` (the draft is past ``revision``) and
    ``InputRejected`` (see ``check_pin_data``); nothing is written then.
    """
    locked = _locked_at(workflow, revision)
    node = _node_of(locked, node_id)
    check_pin_data(data, trigger=node.get("type") == "trigger")
    stored = redact(data)
    masked = max(0, _masks(stored) - _masks(data))
    pin, _ = PinnedData.objects.update_or_create(
        workflow=locked,
        node_id=node_id,
        defaults={
            "data": stored,
            "origin": origin,
            "origin_id": origin_id[:64],
            "pinned_by_id": actor.pk if actor is not None else None,
        },
    )
    _bump(locked)
    return PinOutcome(workflow=locked, pin=pin, masked=masked)


@transaction.atomic
def unpin_node(*, workflow: Workflow, node_id: str, revision: int) -> Workflow:
    """Remove node ``node_id``'s pin from the draft at ``revision`` (bumping it).

    Unpinning a node without a pin changes nothing but the revision. Raises
    ``ConflictError`` ``stale_draft`` like ``pin_node``.
    """
    locked = _locked_at(workflow, revision)
    PinnedData.objects.filter(workflow=locked, node_id=node_id).delete()
    _bump(locked)
    return locked


def pins_of(workflow: Workflow) -> dict[str, PinnedData]:
    """The draft's pins by node id, for the nodes the draft still has (one query)."""
    nodes = _draft_nodes(workflow)
    return {
        pin.node_id: pin
        for pin in PinnedData.objects.filter(workflow=workflow, node_id__in=list(nodes))
    }
