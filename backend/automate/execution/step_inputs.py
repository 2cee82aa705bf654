"""What a step sees and what is kept of it: the template context, secrets, stored inputs.

Secrets a step may read are the names its inputs spell literally, resolved for the run's
own tenant only; whatever a field that reads a secret rendered to is masked before it is
stored (see ``mask_secret_fields``). Real runs and the studio's "Test this step" share it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from automate.execution.models import ExecutionRun, StepRun
from automate.governance.redaction import redact
from automate.payload_caps import cap_json
from automate.tenants.models import Tenant
from automate.workflows.graph import Node

StepStatus = StepRun.Status


def build_context(
    run: ExecutionRun, *, attempt: int = 1, steps: Iterable[StepRun] | None = None
) -> dict[str, Any]:
    """What templates and condition rules of a step can see: event, execution, steps.

    ``steps`` are the run's StepRuns if the caller has them (else they are loaded).
    """
    event = run.event
    version = run.workflow_version
    if steps is None:
        steps = StepRun.objects.filter(run=run, is_current=True).order_by("attempt")
    outputs: dict[str, Any] = {}
    for step in steps:
        if step.status == StepStatus.SUCCEEDED and step.is_current:
            outputs[step.node_id] = {"output": step.outputs}
    return {
        "event": {
            "id": str(event.pk),
            "type": event.type,
            "source": event.source,
            "payload": event.payload,
            "trace_id": event.trace_id,
            "created_at": event.created_at.isoformat(),
        },
        "execution": {
            "id": str(run.pk),
            "name": version.workflow.name,
            "workflow": version.workflow.slug,
            "version": version.version_num,
            "trace_id": run.trace_id,
            "attempt": attempt,
        },
        "steps": outputs,
    }


_SECRET_NAME_IN_TEMPLATE = re.compile(
    r"""secrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\])"""
)


def secret_names_in(inputs: Any) -> set[str]:
    """Secret names a node's inputs name literally (``$secret`` refs, ``secrets.NAME``).

    Only these may be resolved while the step runs, so event data can never choose which
    secret a template reads (``{{ secrets[event.payload.x] }}`` fails).
    """
    from automate.governance.secrets import collect_secret_refs

    names = set(collect_secret_refs(inputs))

    def walk(value: Any) -> None:
        if isinstance(value, str):
            for match in _SECRET_NAME_IN_TEMPLATE.finditer(value):
                names.add(match.group(1) or match.group(2))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(inputs)
    return names


_SINGLE_EXPRESSION = re.compile(r"\s*\{\{(?:(?!\}\}).)*\}\}\s*", re.S)


def mask_secret_fields(raw: Any, rendered: Any) -> Any:
    """``rendered`` with every value whose template reads a secret replaced by the mask.

    Known-value masking only catches a secret spelled exactly as stored; a template can
    slice it, upper-case it or reverse it (``{{ secrets.X[:8] }}``). So whatever a field
    that reads a secret rendered to is never stored; and when the field is one expression
    (its whole value is secret-derived), that value becomes a known value to mask anywhere.
    """
    from automate.governance.redaction import MASK, register_secret_value
    from automate.governance.secrets import is_secret_ref

    if is_secret_ref(raw) or (isinstance(raw, str) and _SECRET_NAME_IN_TEMPLATE.search(raw)):
        # What it rendered to is secret-derived: mask it wherever else it shows up too
        # (the connector's output, an error message, a log line).
        if isinstance(rendered, str) and (
            not isinstance(raw, str) or _SINGLE_EXPRESSION.fullmatch(raw)
        ):
            register_secret_value(rendered)
        return MASK
    if isinstance(raw, dict) and isinstance(rendered, dict):
        return {k: mask_secret_fields(raw.get(k), v) for k, v in rendered.items()}
    if isinstance(raw, list) and isinstance(rendered, list) and len(raw) == len(rendered):
        return [mask_secret_fields(r, v) for r, v in zip(raw, rendered, strict=True)]
    return rendered


def _restricted_resolver(
    allowed: set[str], resolved: dict[str, str], *, tenant: Tenant
) -> Callable[[Any], str]:
    """Resolves only the names the inputs name literally, and only ``tenant``'s secrets."""
    from automate.governance.secrets import resolve, secret_ref_name
    from automate.templates import TemplateError

    def resolver(ref: Any) -> str:
        name = secret_ref_name(ref)
        if name not in allowed:
            raise TemplateError(
                f"Secret {name!r} is not named in this step's inputs; "
                'write it literally (secrets.NAME or {"$secret": "NAME"}).'
            )
        if name not in resolved:
            resolved[name] = resolve(ref, tenant=tenant)
        return resolved[name]

    return resolver


def stored_inputs(node: Node, inputs: Any) -> Any:
    """What is kept (and shown) of a node's rendered inputs: secret fields masked whole,
    everything else redacted, and capped (over ``RETENTION["max_payload_bytes"]``: the
    truncation marker of ``automate.payload_caps``). Real runs and "Test this step" both
    use it."""
    if inputs is None:
        return {}
    return cap_json(redact(mask_secret_fields(node.raw.get("inputs") or {}, inputs)))


def render_step_inputs(
    node: Node, context: dict[str, Any], resolved: dict[str, str], *, tenant: Tenant
) -> Any:
    """The node's inputs with templates rendered and secret references resolved.

    Secrets are ``tenant``'s (the workflow's) only, and only the names the inputs name
    literally; each value resolved is put in ``resolved`` for the connector's context.
    """
    if node.type not in ("action", "transform"):
        return None
    from automate.templates import render_inputs

    raw_inputs = node.raw.get("inputs") or {}
    resolver = _restricted_resolver(secret_names_in(raw_inputs), resolved, tenant=tenant)
    return render_inputs(raw_inputs, context, secret_resolver=resolver)
