"""The expression editor's data: the variables a node's templates can use, and the live
preview (``nodes/<id>/preview/``) of one field rendered against sample data.

The preview renders through ``automate.templates.render_inputs``: the same sandbox, static
secret check and time, output and memory limits as a run. What it renders against is
what a run would see, taken from ``studio.sample_data``: the trigger's pinned data or the
newest event the trigger fires on (``event``), each upstream step's pinned data or newest
output from a run or a "Test this step" (``steps``), and the execution globals. Secrets
are never resolved: each one renders as ``«secret NAME»``. Every value shown is redacted
as the Execution Explorer redacts it.

Answers ``{"value", "error", "kind", "warnings", "source", "sources"}`` (200, also when
the template is wrong: the error is the preview's content). ``sources`` lists where the
data the template reads came from (``[{"name": "event" | "steps.<id>", "from": "pinned" |
"event" | "run" | "test", "label"}]``) and ``source`` says it in one line ("pinned data",
"sample event", "last run", …). Bad requests answer in the error shape.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from automate import conf
from automate.api.errors import json_error
from automate.governance.redaction import redact, redact_text
from automate.governance.secrets import secret_ref_name
from automate.templates import TemplateError, render_inputs
from automate.workflows.models import Workflow
from studio import services
from studio.access import CHANGE_WORKFLOW, needs_permission, studio_json_guard, studio_view
from studio.sample_data import SampleData, describe, sample_data, trigger_ids
from studio.views.common import parse_json, visible

#: How many variables the list offers at most (the autocomplete filters the same list).
MAX_VARIABLES = 120
#: The longest sample value shown next to a variable.
_HINT_CHARS = 40
_FIELD_NAME = re.compile(r"[A-Za-z0-9_.\[\]'-]{1,100}")
_STEP_REFERENCE = re.compile(r"steps\s*\.\s*([A-Za-z_][A-Za-z0-9_-]*)")
EVENT_GLOBALS = ["event.id", "event.type", "event.source", "event.created_at", "event.trace_id"]
EXECUTION_GLOBALS = [
    "execution.id",
    "execution.name",
    "execution.workflow",
    "execution.version",
    "execution.attempt",
]


def masked_secret(ref: Any) -> str:
    """The preview's stand-in for a secret: its name, never its value."""
    return f"«secret {secret_ref_name(ref)}»"


# --- variables ------------------------------------------------------------------------------


def _hint(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= _HINT_CHARS else text[: _HINT_CHARS - 1] + "…"


def flatten(value: Any, prefix: str, out: dict[str, str], depth: int = 0) -> None:
    """Each leaf path under ``prefix`` (``event.payload.customer.email``) and a short
    sample of its value; a list contributes its first item (``.0``)."""
    if len(out) >= MAX_VARIABLES:
        return
    if isinstance(value, dict) and value and depth < 5:
        for key, item in value.items():
            if isinstance(key, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                flatten(item, f"{prefix}.{key}", out, depth + 1)
            else:
                flatten(item, f"{prefix}[{key!r}]", out, depth + 1)
    elif isinstance(value, list) and value and depth < 5:
        flatten(value[0], f"{prefix}.0", out, depth + 1)
    else:
        out[prefix] = _hint(value)


def variables(
    request: HttpRequest, workflow: Workflow, node_id: str, *, sample: SampleData | None = None
) -> dict[str, Any]:
    """What a template in ``node_id`` can use, grouped for the panel's variables list:
    payload keys from the trigger's pinned data or the latest event, output keys from
    each upstream step's pinned data or newest output (``studio.sample_data``)."""
    sample = sample or sample_data(request, workflow, node_id)
    payload: dict[str, str] = {}
    flatten(redact(sample.payload) if sample.event_from else {}, "event.payload", payload)
    payload.pop("event.payload", None)  # an empty payload has no keys to offer
    upstream = sample.upstream
    triggers = trigger_ids(workflow.draft_graph)
    steps: dict[str, str] = {}
    for other in upstream:
        prefix = f"steps.{other}.output"
        if other not in sample.steps:
            steps[prefix] = ""
            continue
        found: dict[str, str] = {}
        flatten(sample.steps[other], prefix, found)
        steps.update(found or {prefix: ""})
    env = [f"env.{name}" for name in conf.get("TEMPLATES", "env_allowlist")]
    groups = [
        ("payload", payload),
        ("steps", steps),
        ("event", dict.fromkeys(EVENT_GLOBALS, "")),
        ("execution", dict.fromkeys(EXECUTION_GLOBALS, "")),
        ("env", dict.fromkeys(env, "")),
    ]
    items = [
        {"path": path, "group": group, "hint": hint}
        for group, paths in groups
        for path, hint in paths.items()
    ][:MAX_VARIABLES]
    if sample.event_from == "pinned":
        payload_from = gettext("the trigger's pinned data")
    elif sample.event is not None:
        payload_from = gettext("the latest %(type)s event") % {"type": sample.event.type}
    else:
        payload_from = ""
    return {
        "items": items,
        "payload": list(payload),
        "payload_from": payload_from,
        "steps_without_output": [
            o for o in upstream if o not in sample.steps and o not in triggers
        ],
        "pinned_steps": [o for o in upstream if sample.step_from.get(o) == "pinned"],
    }


# --- the preview ----------------------------------------------------------------------------


def _warnings(source: str, sample: SampleData) -> list[str]:
    found: list[str] = []
    if not sample.event_from and "event.payload" in source:
        found.append(
            gettext(
                "No event has arrived for this trigger yet: event.payload is empty in the "
                "preview. Pin a sample event on the trigger to preview with it."
            )
        )
    for name in dict.fromkeys(_STEP_REFERENCE.findall(source)):
        if name not in sample.upstream:
            found.append(
                gettext("Step %(step)s does not run before this one: it has no output here.")
                % {"step": name}
            )
        elif name not in sample.steps:
            found.append(
                gettext(
                    "Step %(step)s has no output yet: test it, pin data on it or run the "
                    "workflow to preview it."
                )
                % {"step": name}
            )
    if "secret" in source:
        found.append(gettext("Secrets are shown as «secret NAME»: the preview never reads them."))
    return found


def _used_sources(source: str, sample: SampleData) -> list[dict[str, str]]:
    """Where the data a template reads came from (``event`` and the steps it names)."""
    names = ["event"] if re.search(r"\bevent\b", source) else []
    names += [n for n in _STEP_REFERENCE.findall(source) if n in sample.steps]
    return sample.sources(names)


@studio_json_guard
@studio_view
@needs_permission(CHANGE_WORKFLOW, json=True)
@require_POST
def preview(request: HttpRequest, workflow_id: int, node_id: str) -> HttpResponse:
    """Render one field of ``node_id`` (POST ``template``; ``kind=json`` for a JSON field,
    ``field`` its name) as a run would, without secrets, and answer the redacted value."""
    workflow = visible(Workflow.objects.select_related("tenant"), request).filter(pk=workflow_id)
    found = workflow.first()
    if found is None or services.find_node(found.draft_graph, node_id) is None:
        return json_error(
            request,
            404,
            "resource_not_found",
            gettext("This workflow has no step %(node_id)r.") % {"node_id": node_id},
            {"node_id": node_id},
        )
    source = request.POST.get("template", "")
    field = request.POST.get("field", "")
    path = field if _FIELD_NAME.fullmatch(field) else "value"
    value: Any = source
    if request.POST.get("kind") == "json":
        value, problem = parse_json(source or "null", gettext("This field"))
        if problem:
            return JsonResponse({"value": None, "error": problem, "kind": "json", "warnings": []})
    sample = sample_data(request, found, node_id)
    context = services.sample_context(
        workflow=found, payload=sample.payload, steps=sample.steps, event=sample.event
    )
    warnings = _warnings(source, sample)
    used = _used_sources(source, sample)
    said = {"sources": used, "source": describe(used)}
    try:
        rendered = render_inputs(value, context, secret_resolver=masked_secret, path=path)
    except TemplateError as exc:
        return JsonResponse(
            {
                "value": None,
                "error": redact_text(exc.message),
                "kind": exc.kind,
                "warnings": warnings,
                **said,
            }
        )
    return JsonResponse(
        {"value": redact(rendered), "error": "", "kind": "", "warnings": warnings, **said}
    )
