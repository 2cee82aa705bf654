"""The Execution Explorer: ``/studio/runs/`` (runs, dead letters) and ``/studio/runs/<id>/``.

Pages are server-rendered and correct without javascript; ``static/studio/explorer/*.js``
keeps them live over the websockets of ``studio/consumers.py``. Everything shown is
redacted (it is stored redacted; it is redacted again here), except the raw event payload
for users with ``automate.view_raw_payload``.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime, time
from typing import Any

from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from automate.exceptions import AutomateError
from automate.execution.models import ExecutionRun, OutboxJob, StepRun
from automate.execution.services import (
    DEAD_LETTER,
    cancel_run,
    replay_job,
    rerun_on_live,
    resume_run,
    retry_step,
)
from automate.governance.redaction import redact, redact_text
from automate.guard.http import query_int, query_text
from automate.realtime import publish_run
from automate.realtime.state import cancellation_of, run_frame, run_summary, runs_with_details
from automate.realtime.stories import Attempt, step_note
from automate.typing import acting_user
from automate.workflows.models import Workflow, WorkflowVersion
from studio.access import OPERATE_RUN, needs_permission, studio_guard, studio_view
from studio.durations import human_duration as human_ms
from studio.icons import node_icon
from studio.views.common import visible
from studio.views.failure_links import failure_context

DEFAULT_LIMIT = 50
#: The dead-letters badge counts up to this many, then shows "99+".
DEAD_COUNT_CAP = 99
RUN_URL_PLACEHOLDER = uuid.UUID(int=0)
MAX_LIMIT = 200
_MAX_FILTER_LENGTH = 200


#: What a dead letter row shows (no job payload, no run outputs, no event payload).
DEAD_LETTER_FIELDS = (
    "kind",
    "status",
    "attempts",
    "max_attempts",
    "lost_claims",
    "last_error",
    "updated_at",
    "node_id",
    "run_id",
    "event_id",
    "run__workflow_version__workflow__name",
    "event__type",
)


# --- cursor pagination ----------------------------------------------------------------------


def encode_cursor(run: ExecutionRun) -> str:
    """An opaque cursor pointing just after ``run`` in newest-first order."""
    raw = json.dumps([run.created_at.isoformat(), str(run.pk)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID] | None:
    """The (created_at, id) a cursor points after, or None for a malformed cursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, run_id = json.loads(raw)
        when = parse_datetime(created) if isinstance(created, str) else None
        if when is None or not isinstance(run_id, str):
            return None
        return when, uuid.UUID(run_id)
    except (binascii.Error, ValueError, TypeError):
        return None


def _limit(value: str | None) -> int:
    try:
        return max(1, min(MAX_LIMIT, int(value or DEFAULT_LIMIT)))
    except ValueError:
        return DEFAULT_LIMIT


def _when(value: str, *, end_of_day: bool = False) -> datetime | None:
    """A datetime from ``2026-11-23T10:00`` or ``2026-11-23`` (whole day), in UTC if naive."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            if day is None:
                return None
            parsed = datetime.combine(day, time.max if end_of_day else time.min)
    except ValueError:
        return None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, timezone.get_current_timezone())
    return parsed


def filtered_runs(request: HttpRequest) -> tuple[QuerySet[ExecutionRun], dict[str, str]]:
    """The user's runs narrowed by the GET filters, newest first, and the filters used."""
    filters = {
        key: query_text(request, key, max_length=_MAX_FILTER_LENGTH)
        for key in ("workflow", "status", "since", "until", "trace")
    }
    runs = visible(runs_with_details(), request)
    workflow_id = query_int(request, "workflow", what="The workflow filter")
    if workflow_id is not None:
        # The version ids first (one small query): the runs query then filters on its own
        # column, which an index (workflow_version, created_at, id) serves. Only the user's
        # workflows have versions here: another tenant's workflow lists no runs without
        # asking the database to look for them through every run of the user's tenants.
        versions = visible(
            WorkflowVersion.objects.filter(workflow_id=workflow_id), request, "workflow__tenant"
        )
        runs = runs.filter(workflow_version_id__in=list(versions.values_list("pk", flat=True)))
    if filters["status"] in ExecutionRun.Status.values:
        runs = runs.filter(status=filters["status"])
    since = _when(filters["since"])
    if since is not None:
        runs = runs.filter(created_at__gte=since)
    until = _when(filters["until"], end_of_day=True)
    if until is not None:
        runs = runs.filter(created_at__lte=until)
    if filters["trace"]:
        runs = runs.filter(trace_id=filters["trace"])
    return runs.order_by("-created_at", "-id"), filters


def encode_job_cursor(job: OutboxJob) -> str:
    """An opaque cursor pointing just after dead letter ``job`` (newest updated first)."""
    raw = json.dumps([job.updated_at.isoformat(), job.pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_job_cursor(cursor: str) -> tuple[datetime, int] | None:
    """The (updated_at, job id) a dead-letter cursor points after, or None if malformed."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        updated, job_id = json.loads(raw)
        when = parse_datetime(updated) if isinstance(updated, str) else None
        if when is None or not isinstance(job_id, int) or isinstance(job_id, bool):
            return None
        return when, job_id
    except (binascii.Error, ValueError, TypeError):
        return None


def _dead_letter_page(
    request: HttpRequest, dead: QuerySet[OutboxJob], limit: int
) -> tuple[list[OutboxJob], str]:
    """One page of dead letters, newest updated first, and the query string of the next.

    Keyset pages on ``(updated_at, id)`` (the partial dead-letter index): each page reads
    ``limit + 1`` index entries whatever the number of dead letters."""
    jobs = (
        dead.select_related("run__workflow_version__workflow", "event")
        .only(*DEAD_LETTER_FIELDS)
        .order_by("-updated_at", "-id")
    )
    cursor = decode_job_cursor(request.GET.get("cursor", ""))
    if cursor is not None:
        updated, job_id = cursor
        jobs = jobs.filter(
            Q(updated_at__lt=updated) | Q(updated_at=updated, id__lt=job_id),
            updated_at__lte=updated,
        )
    page = list(jobs[: limit + 1])
    if len(page) <= limit:
        return page, ""
    page = page[:limit]
    params = request.GET.copy()
    params["cursor"] = encode_job_cursor(page[-1])
    return page, params.urlencode()


def dead_letters_of(jobs: QuerySet[OutboxJob]) -> QuerySet[OutboxJob]:
    """The jobs that gave up (FAILED or DEAD). A job dropped because its run was cancelled
    did not give up: it is no dead letter (jobs a cancel dropped before cancels wrote them
    COMPLETED are left out here)."""
    return jobs.filter(status__in=DEAD_LETTER).exclude(run__status=ExecutionRun.Status.CANCELLED)


# --- runs list ------------------------------------------------------------------------------


@studio_guard
@studio_view
@require_GET
def runs(request: HttpRequest) -> HttpResponse:
    """Runs of the user's tenants with filters and cursor pagination, kept live."""
    queryset, filters = filtered_runs(request)
    limit = _limit(request.GET.get("limit"))
    cursor = decode_cursor(request.GET.get("cursor", ""))
    if cursor is not None:
        created, run_id = cursor
        # The redundant ``created_at <= c`` is the index bound: the database starts at the
        # cursor instead of reading (and dropping) every newer run first.
        queryset = queryset.filter(
            Q(created_at__lt=created) | Q(created_at=created, id__lt=run_id),
            created_at__lte=created,
        )
    dead_view = request.GET.get("view") == "dead"
    # The dead-letters tab shows no runs: it does not read them.
    page = [] if dead_view else list(queryset[: limit + 1])
    has_more = len(page) > limit
    page = page[:limit]
    rows = []
    for run in page:
        summary = run_summary(run)
        summary["duration"] = human_ms(summary["duration_ms"])
        rows.append({"run": run, "summary": summary})
    next_query = ""
    if has_more and page:
        params = request.GET.copy()
        params["cursor"] = encode_cursor(page[-1])
        next_query = params.urlencode()
    dead = dead_letters_of(visible(OutboxJob.objects.all(), request))
    dead_letters = None
    dead_next_query = ""
    if dead_view:
        dead_letters, dead_next_query = _dead_letter_page(request, dead, limit)
    # Counting stops after the cap: a badge needs no exact count of a million rows. The
    # order makes the database walk the dead-letters index and stop at the cap, where a
    # bitmap scan would first read every dead letter of every tenant.
    dead_count = dead.order_by("-updated_at", "-id")[: DEAD_COUNT_CAP + 1].count()
    context = {
        "rows": rows,
        "filters": filters,
        "limit": limit,
        "first_page": cursor is None,
        "next_query": next_query,
        "workflows": visible(Workflow.objects.all(), request).only("name").order_by("name"),
        "statuses": ExecutionRun.Status.values,
        "dead_letters": dead_letters,
        "dead_next_query": dead_next_query,
        "dead_count": f"{DEAD_COUNT_CAP}+" if dead_count > DEAD_COUNT_CAP else dead_count,
        "live": {
            "filters": filters,
            "first_page": cursor is None,
            "limit": limit,
            "run_url": reverse("studio:run", args=[RUN_URL_PLACEHOLDER]),
            "run_url_placeholder": str(RUN_URL_PLACEHOLDER),
        },
    }
    return render(request, "studio/explorer/runs.html", context)


@studio_guard
@studio_view
@needs_permission(OPERATE_RUN)
@require_POST
def replay_dead_letter(request: HttpRequest, job_id: int) -> HttpResponse:
    """Put a FAILED or DEAD job back in the queue (``replay_job`` writes the audit entry)."""
    job = get_object_or_404(visible(OutboxJob.objects.all(), request), pk=job_id)
    try:
        replay_job(job, actor=acting_user(request))
    except AutomateError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("Job %(job)s is back in the queue.") % {"job": job.pk})
        if job.run_id is not None:
            publish_run(job.run_id, reason="job_replayed")
    return redirect(f"{reverse('studio:runs')}?view=dead")


# --- one run --------------------------------------------------------------------------------


def run_or_404(request: HttpRequest, run_id: uuid.UUID) -> ExecutionRun:
    """The run if it belongs to one of the user's tenants (404 otherwise: ids are not
    disclosed)."""
    return get_object_or_404(visible(runs_with_details(graph=True), request), pk=run_id)


def _node_icon(node: dict[str, Any]) -> str:
    """A Lucide icon name (studio.icons): the connector's for an action, else the type's."""
    icon = ""
    if node.get("type") == "action" and node.get("connector"):
        from automate.connectors import get_connector

        try:
            icon = get_connector(str(node["connector"])).icon
        except Exception:  # an uninstalled connector still gets drawn
            icon = "?"  # not a Lucide name: the generic connector icon
    return node_icon(node.get("type"), icon)


def canvas_graph(run: ExecutionRun) -> dict[str, Any]:
    """The version's graph as the read-only canvas draws it (no inputs: they may name
    secrets and are shown, rendered and redacted, in the step panel only)."""
    graph = run.workflow_version.graph or {}
    nodes = []
    for node in graph.get("nodes", []):
        subtitle = str(node.get("type", ""))
        if node.get("connector"):
            subtitle = f"{node.get('connector')}.{node.get('action', '')}"
        position = node.get("position")
        nodes.append(
            {
                "id": node["id"],
                "type": node.get("type"),
                "label": str(node.get("label") or node["id"]),
                "subtitle": subtitle,
                "icon": _node_icon(node),
                "position": position if isinstance(position, dict) else None,
            }
        )
    edges = [
        {"source": e.get("source"), "target": e.get("target"), "branch": e.get("branch")}
        for e in graph.get("edges", [])
    ]
    return {"nodes": nodes, "edges": edges}


@studio_guard
@studio_view
@require_GET
def run(request: HttpRequest, run_id: uuid.UUID) -> HttpResponse:
    """The run's graph coloured by step status, its timeline, and the step panel."""
    execution = run_or_404(request, run_id)
    frame = run_frame(execution.pk)
    context = {
        "run": execution,
        "summary": frame["run"] if frame else run_summary(execution),
        "duration": human_ms(frame["run"]["duration_ms"]) if frame else "",
        "live": {
            "run_id": str(execution.pk),
            "graph": canvas_graph(execution),
            "frame": frame,
            "panel_url": reverse("studio:run_step", args=[execution.pk, "__node__"]),
        },
        "audit_url": reverse("admin:automate_auditlogentry_changelist")
        + f"?resource_id={execution.pk}",
        "event_url": reverse("admin:automate_event_change", args=[execution.event_id]),
        "can_cancel": execution.status
        in (ExecutionRun.Status.PENDING, ExecutionRun.Status.RUNNING),
        **failure_context(execution),
        **versions_of(execution),
    }
    return render(request, "studio/explorer/run.html", context)


def versions_of(execution: ExecutionRun) -> dict[str, Any]:
    """What the retry, resume and re-run buttons say about versions: the run's own, the
    live one (if another), and the run this event already has on the live version."""
    # Loaded with the run (``run_or_404``): no query of its own.
    workflow = execution.workflow_version.workflow
    live = workflow.live_version
    live_id, live_num = (live.pk, live.version_num) if live is not None else (None, None)
    is_active = workflow.is_active
    newer_live = live_id is not None and live_id != execution.workflow_version_id
    live_run = None
    if newer_live:
        live_run = (
            ExecutionRun.objects.filter(event_id=execution.event_id, workflow_version_id=live_id)
            .values_list("pk", flat=True)
            .first()
        )
    return {
        "run_version": execution.workflow_version.version_num,
        "live_version": live_num,
        "newer_live": newer_live,
        "workflow_active": is_active,
        "live_run_url": reverse("studio:run", args=[live_run]) if live_run else "",
    }


_STOPPED = (StepRun.Status.FAILED, StepRun.Status.CANCELLED)


def _pretty(value: Any) -> str:
    return json.dumps(redact(value), indent=2, ensure_ascii=False, default=str)


@studio_guard
@studio_view
@require_GET
def run_step(request: HttpRequest, run_id: uuid.UUID, node_id: str) -> HttpResponse:
    """The step panel (an htmx partial): every attempt of one node, redacted."""
    execution = run_or_404(request, run_id)
    nodes = {n["id"]: n for n in (execution.workflow_version.graph or {}).get("nodes", [])}
    if node_id not in nodes:
        raise Http404(gettext("This workflow has no such step."))
    node = nodes[node_id]
    attempts = list(StepRun.objects.filter(run=execution, node_id=node_id).order_by("created_at"))
    rows = [
        {
            "step": step,
            "inputs": _pretty(step.inputs),
            "outputs": _pretty(step.outputs),
            "error": redact_text(step.error),
            "traceback": redact_text(step.traceback),
            "duration": human_ms(step.duration_ms),
        }
        for step in reversed(attempts)
    ]
    latest = next((s for s in reversed(attempts) if s.is_current), None)
    current = [s for s in sorted(attempts, key=lambda s: s.attempt) if s.is_current]
    # Only a stopped (or never run) step can be waiting for a worker again.
    queued = (latest is None or latest.status in _STOPPED) and OutboxJob.objects.filter(
        run=execution,
        node_id=node_id,
        status__in=(OutboxJob.Status.PENDING, OutboxJob.Status.CLAIMED),
    ).exists()
    note = step_note(
        [Attempt(status=s.status, error=s.error) for s in current],
        run_status=execution.status,
        run_error=execution.error,
        queued=queued,
        cancel=cancellation_of(execution),
    )
    payload = None
    raw_allowed = request.user.has_perm("automate.view_raw_payload")
    if node.get("type") == "trigger":
        event_payload = execution.event.payload
        payload = json.dumps(
            event_payload if raw_allowed else redact(event_payload),
            indent=2,
            ensure_ascii=False,
            default=str,
        )
    context = {
        "run": execution,
        "node": node,
        "label": node.get("label") or node_id,
        "icon": _node_icon(node),
        "rows": rows,
        "latest": latest,
        "payload": payload,
        "raw_allowed": raw_allowed,
        "can_retry": latest is not None
        and latest.status == StepRun.Status.FAILED
        and execution.status in (ExecutionRun.Status.FAILED, ExecutionRun.Status.RUNNING),
        "can_resume": node.get("type") != "trigger"
        and execution.status in (ExecutionRun.Status.FAILED, ExecutionRun.Status.SUCCEEDED),
        "note": note,
        **versions_of(execution),
    }
    return render(request, "studio/explorer/step_panel.html", context)


def _act(request: HttpRequest, execution: ExecutionRun, action: str) -> tuple[bool, str]:
    node_id = request.POST.get("node_id", "")
    user = acting_user(request)
    version = execution.workflow_version.version_num
    try:
        if action == "retry":
            retry_step(run=execution, node_id=node_id, actor=user)
            message = gettext("Retrying step %(node_id)r on v%(version)s.") % {
                "node_id": node_id,
                "version": version,
            }
        elif action == "resume":
            resume_run(run=execution, from_node=node_id, actor=user)
            message = gettext("Resuming the run from step %(node_id)r on v%(version)s.") % {
                "node_id": node_id,
                "version": version,
            }
        else:
            cancel_run(run=execution, actor=user)
            message = gettext("The run was cancelled.")
    except AutomateError as exc:
        return False, exc.message
    # These changes send no engine signal; tell the watchers ourselves.
    publish_run(execution.pk, reason=action)
    return True, message


def _action_view(action: str) -> Any:
    @studio_guard
    @studio_view
    @needs_permission(OPERATE_RUN)
    @require_POST
    def view(request: HttpRequest, run_id: uuid.UUID) -> HttpResponse:
        execution = run_or_404(request, run_id)
        ok, message = _act(request, execution, action)
        if getattr(request, "htmx", False):
            return render(
                request,
                "studio/explorer/action_result.html",
                {"ok": ok, "message": message},
            )
        (messages.success if ok else messages.error)(request, message)
        return redirect("studio:run", run_id=execution.pk)

    view.__name__ = view.__qualname__ = f"{action}_run"
    view.__doc__ = f"POST: {action} (the service writes the audit entry)."
    return view


retry = _action_view("retry")
resume = _action_view("resume")
cancel = _action_view("cancel")


@studio_guard
@studio_view
@needs_permission(OPERATE_RUN)
@require_POST
def rerun_live(request: HttpRequest, run_id: uuid.UUID) -> HttpResponse:
    """POST: run this run's event again on the live version (``rerun_on_live`` audits);
    the new run's page opens, or this one says why not."""
    execution = run_or_404(request, run_id)
    try:
        new_run = rerun_on_live(run=execution, actor=acting_user(request))
    except AutomateError as exc:
        messages.error(request, exc.message)
        target = reverse("studio:run", args=[execution.pk])
    else:
        messages.success(
            request,
            gettext("Re-running the event on v%(version)s (from the run on v%(old)s).")
            % {
                "version": new_run.workflow_version.version_num,
                "old": execution.workflow_version.version_num,
            },
        )
        target = reverse("studio:run", args=[new_run.pk])
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(target)
    return redirect(target)
