"""The trigger node's form: what kind of trigger it is and the trigger spec it posts.

A trigger node says how its workflow starts in ``trigger_kind`` (set by the palette entry
it was dropped from): ``"event"`` (the default: an event type and source, optionally on a
schedule too), ``"webhook"`` (a signed POST to ``/hooks/<slug>/``) or ``"schedule"`` (cron
times in a time zone). The settings live in the workflow's ``trigger_spec``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext

from automate.connectors.triggers import scheme_names
from automate.triggers.cron import schedule_problems
from automate.triggers.services import slug_taken
from automate.triggers.webhook_spec import SCHEMES, default_secret_name, webhook_problems
from automate.workflows.models import Workflow

TRIGGER_KINDS = ("event", "webhook", "schedule")
#: What a webhook or schedule trigger listens for when its event type is left empty.
DEFAULT_EVENT_TYPES = {"webhook": "*", "schedule": "schedule.tick"}


def trigger_kind(node: Mapping[str, Any]) -> str:
    """``"event"``, ``"webhook"`` or ``"schedule"``: how the node's workflow starts."""
    kind = node.get("trigger_kind")
    return kind if kind in TRIGGER_KINDS else "event"


def _schedule(data: Mapping[str, str], spec: dict[str, Any], errors: dict[str, list[str]]) -> None:
    cron = data.get("cron", "").strip()
    if not cron:
        spec.pop("schedule", None)
        return
    old = spec.get("schedule")
    spec["schedule"] = {
        **(old if isinstance(old, dict) else {}),
        "cron": cron,
        "timezone": data.get("timezone", "").strip() or "UTC",
        "missed": data.get("missed", "skip"),
    }
    # A schedule that cannot run is refused here, not only at publish.
    for found in schedule_problems(spec["schedule"]):
        key = found["field"].rpartition(".")[2]
        errors.setdefault(key if key in ("cron", "timezone", "missed") else "cron", []).append(
            found["message"]
        )


def _webhook(
    data: Mapping[str, str],
    spec: dict[str, Any],
    workflow: Workflow,
    errors: dict[str, list[str]],
) -> None:
    old = spec.get("webhook") if isinstance(spec.get("webhook"), dict) else {}
    assert isinstance(old, dict)
    slug = data.get("slug", "").strip()
    scheme = data.get("scheme", "").strip() or "generic"
    # The secret keeps its name when the slug changes: it is still the same endpoint's.
    secret_name = old.get("secret_name") or default_secret_name(slug)
    spec["webhook"] = {"slug": slug, "scheme": scheme, "secret_name": secret_name}
    spec["source"] = slug  # webhook events carry the endpoint's slug as their source
    spec.pop("schedule", None)
    for found in webhook_problems(spec["webhook"], scheme_names()):
        key = found["field"].rpartition(".")[2]
        errors.setdefault("scheme" if key == "scheme" else "slug", []).append(found["message"])
    if "slug" not in errors and slug_taken(workflow=workflow, slug=slug):
        errors["slug"] = [
            gettext(
                "The webhook URL /hooks/%(slug)s/ is already used by another endpoint; "
                "pick another slug."
            )
            % {"slug": slug}
        ]


def read_trigger(
    data: Mapping[str, str],
    workflow: Workflow,
    node: Mapping[str, Any],
    errors: dict[str, list[str]],
) -> dict[str, Any]:
    """The trigger spec the trigger node's form asks for; problems go into ``errors``."""
    spec: dict[str, Any] = (
        copy.deepcopy(workflow.draft_trigger_spec)
        if isinstance(workflow.draft_trigger_spec, dict)
        else {}
    )
    kind = trigger_kind(node)
    event_type = data.get("event_type", "").strip()
    spec["event_type"] = event_type or DEFAULT_EVENT_TYPES.get(kind, "")
    if kind == "webhook":
        _webhook(data, spec, workflow, errors)
        return spec
    spec.pop("webhook", None)
    if kind == "schedule":
        spec.pop("source", None)
        if not data.get("cron", "").strip():
            errors["cron"] = [gettext("A schedule trigger needs a cron expression.")]
            return spec
    else:
        source = data.get("source", "").strip()
        if source:
            spec["source"] = source
        else:
            spec.pop("source", None)
    _schedule(data, spec, errors)
    return spec


__all__ = ["SCHEMES", "TRIGGER_KINDS", "read_trigger", "trigger_kind"]
