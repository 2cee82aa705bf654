"""The ``automate.run.failed`` event's payload: what an error workflow knows of the failure.

Shape (every text already redacted: secret values and credential-shaped substrings are
masked, and the original event's payload is *not* copied, since it may carry personal
data the error workflow has no business with; its id and type are enough to find it)::

    {
      "run": {"id": "<uuid>", "status": "failed", "error": "...", "trace_id": "...",
              "started_at": "<ISO 8601>", "finished_at": "<ISO 8601>",
              "url": "/studio/runs/<uuid>/"},
      "workflow": {"id": 3, "slug": "invoice-paid", "name": "Invoice paid", "version": 4},
      "step": {"id": "notify", "name": "Tell the team", "connector": "slack",
               "action": "post_message", "error": "...", "error_type": "...",
               "attempt": 2} | null,
      "event": {"id": "<uuid>", "type": "invoice.paid", "source": "stripe"}
    }
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.urls import NoReverseMatch, reverse

from automate.events.models import Event
from automate.execution.models import ExecutionRun, StepRun
from automate.execution.run_state import graph_of
from automate.governance.redaction import redact_text
from automate.payload_caps import cap_text
from automate.workflows.exceptions import WorkflowValidationError
from automate.workflows.models import Workflow, WorkflowVersion

#: The type of the event an error workflow's run is started with.
EVENT_TYPE = "automate.run.failed"
#: Its source: a run whose event has it was started as an error workflow's run.
EVENT_SOURCE = "automate.failure"
#: Error texts in the payload are cut to this many UTF-8 bytes, with a visible suffix
#: (``automate.payload_caps.cap_text``).
_MAX_ERROR = 2000


def run_path(run_id: Any) -> str:
    """The failed run's page in the studio's explorer ("" when the studio is not installed)."""
    try:
        return reverse("studio:run", args=[run_id])
    except NoReverseMatch:
        return ""


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _text(value: str) -> str:
    return cap_text(redact_text(value or ""), limit_bytes=_MAX_ERROR)


def failed_step(run: ExecutionRun) -> StepRun | None:
    """The run's step that failed last (a current FAILED or CANCELLED attempt), or None."""
    return (
        StepRun.objects.filter(
            run=run,
            is_current=True,
            status__in=[StepRun.Status.FAILED, StepRun.Status.CANCELLED],
        )
        .order_by("-finished_at", "-created_at")
        .first()
    )


def failure_payload(
    *, run: ExecutionRun, workflow: Workflow, version: WorkflowVersion, event: Event
) -> dict[str, Any]:
    """The payload described in the module docstring for the failed ``run``."""
    step = failed_step(run)
    step_info = None
    if step is not None:
        try:
            node = graph_of(version).nodes.get(step.node_id)
        except WorkflowValidationError:
            node = None  # a version that no longer parses still names its step by id
        step_info = {
            "id": step.node_id,
            "name": node.label if node else step.node_id,
            "connector": node.connector if node else None,
            "action": node.action if node else None,
            "error": _text(step.error),
            "error_type": step.error_type[:200],
            "attempt": step.attempt,
        }
    return {
        "run": {
            "id": str(run.pk),
            "status": run.status,
            "error": _text(run.error),
            "trace_id": run.trace_id,
            "started_at": _iso(run.started_at),
            "finished_at": _iso(run.finished_at),
            "url": run_path(run.pk),
        },
        "workflow": {
            "id": workflow.pk,
            "slug": workflow.slug,
            "name": workflow.name,
            "version": version.version_num,
        },
        "step": step_info,
        "event": {"id": str(event.pk), "type": event.type, "source": event.source},
    }
