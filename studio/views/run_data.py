"""Run data in the editor: what a node last received and produced.

Two sources, both redacted exactly as the Execution Explorer shows them:

* the latest ``StepRun`` of the node in this workflow's recent runs (any version), with a
  link to that run's page;
* the last "Test this step" of the node by this user, kept in the user's session (a test
  records no run), bounded in size.

The expression editor uses the same outputs as ``steps.<id>.output`` for its variables and
its preview (``studio/views/expressions.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from automate.execution.models import ExecutionRun, StepRun
from automate.governance.redaction import redact, redact_text
from automate.payload_caps import cap_json
from automate.workflows.models import Workflow
from studio.durations import time_ago

#: Only this many of the workflow's newest runs are searched for a node's last data, so the
#: panel stays fast on a workflow with a million runs (index automate_run_version_time).
RECENT_RUNS = 200
#: At most this many upstream nodes are looked up for one panel.
MAX_NODES = 30
#: A test result larger than this (as JSON) is kept truncated (a preview) in the session.
MAX_TEST_BYTES = 32_000
#: At most this many nodes' tests are remembered per workflow.
MAX_TESTED_NODES = 20
_SESSION_KEY = "automate.studio.last_tests"


@dataclass
class NodeData:
    """What one node last received (``inputs``) and produced (``output`` or ``error``)."""

    source: str  # "run" or "test"
    at: datetime
    status: str
    inputs: Any
    output: Any
    error: str = ""
    run_id: str = ""
    run_url: str = ""
    version: int | None = None
    attempt: int = 1

    @property
    def ago(self) -> str:
        """Says "just now", or how long ago (``timesince``) the step ran or was tested."""
        return time_ago(self.at)

    @property
    def inputs_json(self) -> str:
        return _pretty(self.inputs)

    @property
    def output_json(self) -> str:
        return _pretty(self.output)


def _pretty(value: Any) -> str:
    return json.dumps(redact(value), indent=2, ensure_ascii=False, default=str)


def _recent_run_ids(workflow: Workflow) -> list[Any]:
    """The ids of the workflow's newest runs, read once per request (the panel asks for
    its node's data and for its upstream nodes' outputs: both look among the same runs)."""
    cached: list[Any] | None = getattr(workflow, "_recent_run_ids", None)
    if cached is None:
        runs = ExecutionRun.objects.filter(workflow_version__workflow=workflow).order_by(
            "-created_at", "-id"
        )
        cached = list(runs.values_list("pk", flat=True)[:RECENT_RUNS])
        workflow._recent_run_ids = cached  # type: ignore[attr-defined]
    return cached


def last_step_runs(
    workflow: Workflow, node_ids: Iterable[str], *, succeeded_only: bool = False
) -> dict[str, NodeData]:
    """The newest StepRun of each node among the workflow's recent runs, redacted."""
    wanted = list(dict.fromkeys(node_ids))[:MAX_NODES]
    if not wanted:
        return {}
    run_ids = _recent_run_ids(workflow)
    found: dict[str, NodeData] = {}
    for node_id in wanted:  # one small indexed query per node: no output is loaded twice
        steps = StepRun.objects.filter(run_id__in=run_ids, node_id=node_id)
        if succeeded_only:
            steps = steps.filter(status=StepRun.Status.SUCCEEDED)
        step = steps.select_related("run__workflow_version").order_by("-created_at").first()
        if step is None:
            continue
        found[node_id] = NodeData(
            source="run",
            at=step.finished_at or step.started_at or step.created_at,
            status=step.status,
            inputs=redact(step.inputs),
            output=redact(step.outputs),
            error=redact_text(step.error),
            run_id=str(step.run_id),
            run_url=reverse("studio:run", args=[step.run_id]),
            version=step.run.workflow_version.version_num,
            attempt=step.attempt,
        )
    return found


# --- the last test of each node, in the user's session -----------------------------------


def _bounded(value: Any) -> Any:
    """``value`` as JSON data (redacted); over ``MAX_TEST_BYTES``, the truncation marker of
    ``automate.payload_caps`` (shown with its badge and preview)."""
    return json.loads(json.dumps(cap_json(redact(value), limit_bytes=MAX_TEST_BYTES), default=str))


def remember_test(
    request: HttpRequest,
    workflow: Workflow,
    node_id: str,
    *,
    ok: bool,
    inputs: Any,
    output: Any,
    error: str,
) -> None:
    """Keep this user's last test of ``node_id`` (redacted, bounded) for the panel."""
    tests = request.session.get(_SESSION_KEY)
    tests = tests if isinstance(tests, dict) else {}
    mine = tests.get(str(workflow.pk))
    mine = mine if isinstance(mine, dict) else {}
    mine.pop(node_id, None)
    mine[node_id] = {
        "at": timezone.now().isoformat(),
        "status": "succeeded" if ok else "failed",
        "inputs": _bounded(inputs),
        "output": _bounded(output) if ok else None,
        "error": redact_text(error),
    }
    while len(mine) > MAX_TESTED_NODES:
        mine.pop(next(iter(mine)))
    tests[str(workflow.pk)] = mine
    request.session[_SESSION_KEY] = tests


def last_tests(request: HttpRequest, workflow: Workflow) -> dict[str, NodeData]:
    """This user's last test of each node of ``workflow`` (see ``remember_test``)."""
    tests = request.session.get(_SESSION_KEY)
    mine = tests.get(str(workflow.pk)) if isinstance(tests, dict) else None
    found: dict[str, NodeData] = {}
    for node_id, item in (mine or {}).items():
        at = parse_datetime(str(item.get("at", ""))) if isinstance(item, dict) else None
        if at is None:
            continue
        found[node_id] = NodeData(
            source="test",
            at=at,
            status=str(item.get("status", "")),
            inputs=item.get("inputs"),
            output=item.get("output"),
            error=str(item.get("error") or ""),
        )
    return found


def node_data(request: HttpRequest, workflow: Workflow, node_id: str) -> dict[str, Any]:
    """The panel's "Last data" section: the node's last run step and last test."""
    found = [
        last_tests(request, workflow).get(node_id),
        last_step_runs(workflow, [node_id]).get(node_id),
    ]
    return {
        "entries": sorted((f for f in found if f is not None), key=lambda f: f.at, reverse=True),
        "runs_url": reverse("studio:runs") + f"?workflow={workflow.pk}",
    }


def upstream_outputs(
    request: HttpRequest, workflow: Workflow, node_ids: Iterable[str]
) -> dict[str, NodeData]:
    """For each upstream node, its newest output: a successful test or run step."""
    wanted = list(node_ids)
    runs = last_step_runs(workflow, wanted, succeeded_only=True)
    tests = {
        key: item
        for key, item in last_tests(request, workflow).items()
        if key in wanted and item.status == "succeeded"
    }
    found: dict[str, NodeData] = {}
    for node_id in wanted:
        candidates = [c for c in (runs.get(node_id), tests.get(node_id)) if c is not None]
        if candidates:
            found[node_id] = max(candidates, key=lambda c: c.at)
    return found
