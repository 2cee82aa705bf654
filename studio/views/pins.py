"""Pin data (``nodes/<id>/pin/``): pin sample data to one node of the draft, or unpin it.

The node panel's "Pinned data" section posts here (static/studio/editor/pins.js), in
turn with the canvas and panel autosaves and with the draft ``revision`` it was made
from, like every draft edit (``automate.workflows.pins``). Form fields:

* ``revision``: the draft revision (required);
* ``action``: ``pin`` (default) or ``unpin``;
* ``source``: what to pin: ``json`` (the ``data`` field's JSON text, typed or edited),
  ``event`` (the payload of the event ``event_id`` of the workflow's tenant; trigger
  only), ``sample`` (the sample payload of the connector trigger the webhook trigger's
  scheme names: Stripe's, GitHub's, Slack's, a plug-in's) or ``last`` (the trigger's
  newest matching event; a step's newest output from a run or a "Test this step").

Answers, never a partial write:

* 200 ``{"revision", "node_id", "pinned", "pinned_nodes", "masked", "message"}``:
  ``pinned_nodes`` are the draft's pinned node ids (the canvas marks them), ``masked``
  how many values were stored as ``********`` because they looked like secrets;
* 400 ``invalid_request`` (bad JSON, not an object for a trigger, an unknown event,
  nothing to pin) and 413 ``payload_too_large`` (over ``RETENTION.max_payload_bytes``),
  each with a message starting "Nothing was saved";
* 404 (not the user's workflow, no such node) and 409 ``stale_draft``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_POST

from automate.api.errors import json_error
from automate.exceptions import AutomateError
from automate.governance.redaction import redact
from automate.guard.http import bounded_id, json_limits
from automate.guard.parse import InputRejected, load_json
from automate.typing import acting_user
from automate.workflows.models import PinnedData, Workflow
from automate.workflows.pins import pin_limit, pin_node, pins_of, unpin_node
from studio import services
from studio.access import CHANGE_WORKFLOW, needs_permission, studio_json_guard, studio_view
from studio.durations import time_ago
from studio.sample_data import SampleData
from studio.views.common import event_of, pretty, visible
from studio.views.connector_triggers import connector_trigger_of

ACTIONS = ("pin", "unpin")
SOURCES = ("json", "event", "sample", "last")


def _refused(
    request: HttpRequest, status: int, code: str, reason: str, **details: Any
) -> HttpResponse:
    message = gettext("Nothing was saved: %(reason)s") % {"reason": reason}
    return json_error(request, status, code, message, details)


class _Refusal(Exception):
    def __init__(self, reason: str, field: str) -> None:
        super().__init__(reason)
        self.reason, self.field = reason, field


def _what_to_pin(
    request: HttpRequest, workflow: Workflow, node: dict[str, Any]
) -> tuple[Any, str, str]:
    """``(data, origin, origin_id)`` from the form; raises _Refusal or InputRejected."""
    source = request.POST.get("source", "json")
    trigger = node.get("type") == "trigger"
    if source not in SOURCES:
        raise _Refusal(gettext("source must be one of json, event, sample, last."), "source")
    if source == "json":
        text = request.POST.get("data", "").strip()
        if not text:
            raise _Refusal(gettext("type the JSON to pin."), "data")
        data = load_json(text, what=gettext("The pinned data"), limits=json_limits())
        return data, PinnedData.Origin.EDITED, ""
    if source == "sample":
        found = connector_trigger_of(workflow) if trigger else None
        if found is None:
            raise _Refusal(
                gettext("only a webhook trigger on a connector's scheme has a sample payload."),
                "source",
            )
        return dict(found.spec.sample_payload), PinnedData.Origin.EDITED, f"sample:{found.scheme}"
    if source == "event" or trigger:
        if source == "event":
            event = event_of(workflow, request.POST.get("event_id", "").strip())
            if not trigger:
                raise _Refusal(gettext("only the trigger takes an event's payload."), "source")
        else:
            event = services.trigger_events(workflow).first()
        if event is None:
            raise _Refusal(
                gettext("that event does not exist (or belongs to another tenant).")
                if source == "event"
                else gettext("no event has arrived for this trigger yet: paste a payload."),
                "event_id",
            )
        return event.payload, PinnedData.Origin.EVENT, str(event.pk)
    from studio.views.run_data import upstream_outputs

    last = upstream_outputs(request, workflow, [str(node["id"])]).get(str(node["id"]))
    if last is None:
        raise _Refusal(
            gettext("this step has no output yet: test it or run the workflow first."), "source"
        )
    if last.source == "run":
        return last.output, PinnedData.Origin.RUN, last.run_id
    return last.output, PinnedData.Origin.TEST, ""


def _masked_note(masked: int) -> str:
    if not masked:
        return ""
    return ngettext(
        "%(count)s value looked like a secret and was pinned as ********.",
        "%(count)s values looked like secrets and were pinned as ********.",
        masked,
    ) % {"count": masked}


@studio_json_guard
@studio_view
@needs_permission(CHANGE_WORKFLOW, json=True)
@require_POST
def node_pin(request: HttpRequest, workflow_id: int, node_id: str) -> HttpResponse:
    """Pin data to (or unpin it from) node ``node_id`` of the draft (see the module doc)."""
    found = visible(Workflow.objects.select_related("tenant"), request).filter(pk=workflow_id)
    workflow = found.first()
    node = services.find_node(workflow.draft_graph, node_id) if workflow else None
    if workflow is None or node is None:
        return json_error(
            request,
            404,
            "resource_not_found",
            gettext("This workflow has no step %(node_id)r.") % {"node_id": node_id},
            {"node_id": node_id},
        )
    text = request.POST.get("revision", "").strip()
    if not text:
        return _refused(
            request,
            400,
            "invalid_request",
            gettext("say which draft revision this was made from (revision)."),
            fields={"revision": "required"},
        )
    revision = bounded_id(text, what=gettext("The draft revision"))
    action = request.POST.get("action", "pin")
    if action not in ACTIONS:
        return _refused(
            request,
            400,
            "invalid_request",
            gettext("action must be pin or unpin."),
            fields={"action": "pin or unpin"},
        )
    masked = 0
    try:
        if action == "unpin":
            workflow = unpin_node(workflow=workflow, node_id=node_id, revision=revision)
            message = gettext("Unpinned: tests and the preview use the last run's data again.")
        else:
            data, origin, origin_id = _what_to_pin(request, workflow, node)
            outcome = pin_node(
                workflow=workflow,
                node_id=node_id,
                data=data,
                revision=revision,
                origin=origin,
                origin_id=origin_id,
                actor=acting_user(request),
            )
            workflow, masked = outcome.workflow, outcome.masked
            message = " ".join(
                filter(None, [gettext("Pinned to the draft."), _masked_note(masked)])
            )
    except _Refusal as exc:
        return _refused(request, 400, "invalid_request", exc.reason, fields={exc.field: exc.reason})
    except InputRejected as exc:
        reason = exc.message[:1].lower() + exc.message[1:]
        return _refused(request, exc.http_status, exc.code, reason, **exc.details)
    except AutomateError as exc:  # stale_draft (409), a node removed meanwhile (404)
        return json_error(request, exc.http_status, exc.code, exc.message, exc.details)
    return JsonResponse(
        {
            "revision": workflow.draft_revision,
            "node_id": node_id,
            "pinned": action == "pin",
            "pinned_nodes": sorted(pins_of(workflow)),
            "masked": masked,
            "message": message,
        }
    )


# --- the panel's "Pinned data" section ---------------------------------------------------

#: Node types that can hold pinned data: the trigger (its event) and the steps whose
#: output later steps read.
PINNABLE = ("trigger", "action", "transform", "condition")


def pin_context(
    request: HttpRequest,
    sample: SampleData,
    node: dict[str, Any],
    kind: Any,
    node_run_data: dict[str, Any],
    latest: Any,
    workflow: Workflow | None = None,
) -> dict[str, Any]:
    """What the panel's "Pinned data" section (partials/node_pin.html) shows."""
    node_id = str(node.get("id"))
    pin = sample.pins.get(node_id)
    last = next(
        (e for e in node_run_data.get("entries", []) if e.status == "succeeded" and not e.error),
        None,
    )
    connector_trigger = connector_trigger_of(workflow) if kind == "trigger" and workflow else None
    if pin is not None:
        prefill = pretty(pin.data)
    elif kind == "trigger" and latest is not None:
        prefill = pretty(redact(latest.payload))
    elif kind == "trigger":
        # No event yet: the connector trigger's sample shows what a delivery looks like.
        prefill = pretty(connector_trigger.spec.sample_payload) if connector_trigger else "{}"
    else:
        prefill = last.output_json if last is not None else ""
    return {
        "pinnable": kind in PINNABLE,
        "pin": pin,
        "pin_ago": time_ago(pin.pinned_at) if pin is not None else "",
        "pin_prefill": prefill,
        "pin_last": last,
        "pin_limit": pin_limit(),
        # Pinning is wired in the editor (pins.js); a panel opened as a page of its own
        # shows the pin and sends the user to the editor to change it.
        "pin_in_editor": bool(getattr(request, "htmx", False)),
        "pinned_upstream": [s for s, key in sample.step_from.items() if key == "pinned"],
        "test_event_pinned": sample.event_from == "pinned",
        "connector_trigger": connector_trigger,
    }
