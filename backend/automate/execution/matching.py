"""Matching an event to the tenant's live workflows, one workflow at a time.

One event job matches every live workflow of the event's tenant. A version that cannot be
loaded, matched or started (a definition written before today's limits, one that makes
the rule compiler recurse too deep, a database refusing its data) must not stop the
others: what writes for one version (starting its run) runs in a savepoint of its own,
what only checks (its trigger and rule) needs none, and a failure is recorded instead of
failing the job:

- a log line (``automate.execution``, level ERROR) every time;
- an audit entry ``workflow.broken`` (resource ``workflow_version``) once per version,
  which the studio reads to mark the workflow as broken on the dashboard and in the
  editor (:func:`broken_versions`);

and the event still starts every other matching workflow. Only errors that say the
database connection itself is unusable fail the whole job (it is retried; runs are keyed
per event and version, so a retry never starts a run twice).

The live versions are read once per process and checked for every event
(``automate.execution.live_versions``): a publish, a rollback, a (de)activation or an edit
of the workflow is seen by the very next event.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import InterfaceError, OperationalError, transaction

from automate.events.models import Event
from automate.execution import live_versions
from automate.execution.exceptions import LeaseLostError
from automate.execution.live_versions import LiveMark
from automate.execution.models import ExecutionRun, OutboxJob
from automate.execution.store import OutboxStore
from automate.governance import audit
from automate.governance.models import AuditLogEntry
from automate.governance.redaction import redact_text
from automate.workflows.models import WorkflowVersion
from automate.workflows.specs import trigger_matches

logger = logging.getLogger("automate.execution")

BROKEN_ACTION = "workflow.broken"
BROKEN_RESOURCE = "workflow_version"
_MAX_ERROR = 500
#: The connection is gone or the database is unavailable: retry the whole job later.
_TRANSIENT = (OperationalError, InterfaceError, LeaseLostError)


@dataclass
class _Candidate:
    mark: LiveMark
    #: None: not read yet (reading it with the others failed); ``_match`` reads it alone.
    version: WorkflowVersion | None

    @property
    def version_id(self) -> int:
        return self.mark[0]

    @property
    def workflow_id(self) -> int:
        return self.mark[1]


def match_event(job: OutboxJob, *, store: OutboxStore, worker_id: str) -> list[ExecutionRun]:
    """Start a run of every live workflow whose trigger and rule match the job's event;
    a workflow that fails to load, match or start is recorded as broken and skipped.

    The workflows are first matched together without a savepoint each; when one fails,
    that transaction is rolled back and they are matched again, each isolated. Versions
    that failed before in this process are matched isolated at once."""
    from automate.execution.run_state import claimed_so_far

    assert job.event_id is not None, "event jobs always name their event"
    event, marks = live_versions.event_with_marks(job.event_id)
    if event is None:
        raise Event.DoesNotExist(f"Event job {job.pk} names no existing event.")
    candidates = _candidates(event, marks)
    if not _suspect(candidates):
        claimed = claimed_so_far()
        before = len(claimed) if claimed is not None else 0
        try:
            return _match_and_complete(job, event, candidates, store, worker_id, isolated=False)
        except _TRANSIENT:
            raise
        except Exception:  # one workflow failed: match again, each isolated
            if claimed is not None:
                del claimed[before:]  # the jobs the rolled-back transaction had written
    return _match_and_complete(job, event, candidates, store, worker_id, isolated=True)


def _match_and_complete(
    job: OutboxJob,
    event: Event,
    candidates: list[_Candidate],
    store: OutboxStore,
    worker_id: str,
    *,
    isolated: bool,
) -> list[ExecutionRun]:
    with transaction.atomic():
        started = _match(event, candidates, isolated=isolated)
        # The fenced many-jobs mark: one precompiled statement (no ORM compilation).
        if not store.mark_success_many([job], worker_id):
            raise LeaseLostError(f"Lost the lease on event job {job.pk}.")
    return started


def match_events(
    jobs: list[OutboxJob], *, store: OutboxStore, worker_id: str
) -> list[ExecutionRun]:
    """``match_event`` for several event jobs in one transaction: one query loads the
    events, the live versions are read once per tenant, the jobs are completed with one
    fenced statement, and it all commits once.

    Raises (rolling everything back) on a database error, when any of the jobs' leases
    was lost, or when a workflow not known to be broken fails; the caller then matches
    each job alone, which handles all three per job.
    """
    events = live_versions.events_with_tenants(
        [job.event_id for job in jobs if job.event_id is not None]
    )
    started: list[ExecutionRun] = []
    live: dict[Any, list[_Candidate]] = {}
    with transaction.atomic():
        for job in jobs:
            event = events.get(job.event_id)
            if event is None:
                raise LookupError(f"Event job {job.pk} names no existing event.")
            if event.tenant_id not in live:
                marks = live_versions.live_marks(event.tenant_id)
                live[event.tenant_id] = _candidates(event, marks)
            candidates = live[event.tenant_id]
            started += _match(event, candidates, isolated=_suspect(candidates))
        fenced = store.mark_success_many(jobs, worker_id)
        if len(fenced) != len(jobs):
            raise LeaseLostError("Lost the lease on some event jobs of the batch.")
    return started


def _match(event: Event, candidates: list[_Candidate], *, isolated: bool) -> list[ExecutionRun]:
    """Start the runs of ``event`` (inside the caller's transaction).

    ``isolated``: starting each run (what writes) and reading a version alone (the
    fallback load) run in a savepoint of their own, and a failure is recorded and the
    others carry on; checking the trigger and the rule writes nothing and needs no
    savepoint. Not ``isolated``: no savepoint, and the first failure is raised (the
    caller rolls back and matches again, isolated)."""
    from automate.execution.run_state import claimed_so_far, rule_of
    from automate.execution.services import start_run

    started = []
    claimed = claimed_so_far()
    for candidate in candidates:
        stage = "load"
        mark = len(claimed) if claimed is not None else 0
        try:
            version = candidate.version
            if version is None:
                with transaction.atomic():  # a savepoint: a failed read undoes only itself
                    version = _read_alone(candidate.version_id)
            stage = "match"
            if not trigger_matches(
                version.trigger_spec, event_type=event.type, source=event.source
            ):
                continue
            if not rule_of(version).evaluate(event.payload):
                continue
            stage = "start"
            with transaction.atomic(savepoint=isolated):  # a failure undoes this run only
                run, created = start_run(event=event, version=version)
        except _TRANSIENT:
            raise
        except Exception as exc:  # any failure of one workflow is isolated
            if not isolated:
                raise
            if claimed is not None:
                del claimed[mark:]  # the jobs the rolled-back savepoint had written
            live_versions.note_broken(candidate.mark)
            record_broken(
                version_id=candidate.version_id,
                workflow_id=candidate.workflow_id,
                event=event,
                stage=stage,
                error=exc,
            )
            continue
        if created:
            started.append(run)
    return started


def _suspect(candidates: list[_Candidate]) -> bool:
    """Whether to match isolated at once: a version could not be read with the others,
    or failed on an earlier event in this process."""
    return any(
        candidate.version is None or live_versions.known_broken(candidate.mark)
        for candidate in candidates
    )


def _candidates(event: Event, marks: list[LiveMark]) -> list[_Candidate]:
    """The tenant's live versions under ``marks``: the versions not kept from earlier
    events read in one query (or, when one of them cannot even be read, e.g. JSON too
    deep to decode, left for ``_match`` to read alone, so only that one fails)."""
    fresh: dict[int, WorkflowVersion] = {}
    missing = [mark[0] for mark in marks if live_versions.kept(mark) is None]
    if missing:
        try:
            with transaction.atomic():
                fresh = live_versions.read_versions(missing)
        except _TRANSIENT:
            raise
        except Exception:  # fall back to reading them one by one
            logger.warning(
                "Loading the live workflows of tenant %s at once failed; loading them one by one",
                event.tenant_id,
                extra={"trace_id": event.trace_id, "event_id": str(event.pk)},
            )
    return [_Candidate(mark, fresh.get(mark[0]) or live_versions.kept(mark)) for mark in marks]


def _read_alone(version_id: int) -> WorkflowVersion:
    version = WorkflowVersion.objects.select_related("workflow").get(pk=version_id)
    live_versions.keep(version)
    return version


def record_broken(
    *, version_id: int, workflow_id: int, event: Event, stage: str, error: BaseException
) -> None:
    """Log the failure of one workflow version on one event, and audit it (once per
    version) so the studio can show the workflow as broken."""
    reason = redact_text(f"{type(error).__name__}: {error}")[:_MAX_ERROR]
    logger.error(
        "Workflow %s (version id %s) is broken: it failed to %s on event %s (%s); the "
        "tenant's other workflows were matched as usual",
        workflow_id,
        version_id,
        stage,
        event.pk,
        reason,
        extra={"trace_id": event.trace_id, "event_id": str(event.pk)},
    )
    seen = AuditLogEntry.objects.filter(
        action=BROKEN_ACTION, resource_type=BROKEN_RESOURCE, resource_id=str(version_id)
    ).exists()
    if seen:
        return
    audit.record(
        action=BROKEN_ACTION,
        resource_type=BROKEN_RESOURCE,
        resource_id=version_id,
        tenant=event.tenant,
        details={
            "workflow": workflow_id,
            "stage": stage,
            "error": reason,
            "event": str(event.pk),
        },
        trace_id=event.trace_id,
    )


def broken_versions(version_ids: Iterable[int | None]) -> dict[int, dict[str, Any]]:
    """For each of ``version_ids`` recorded as broken: its stage, error and when."""
    ids = [str(pk) for pk in version_ids if pk is not None]
    if not ids:
        return {}
    found: dict[int, dict[str, Any]] = {}
    entries = AuditLogEntry.objects.filter(
        action=BROKEN_ACTION, resource_type=BROKEN_RESOURCE, resource_id__in=ids
    ).order_by("created_at")
    for entry in entries:
        details = entry.details if isinstance(entry.details, dict) else {}
        found[int(entry.resource_id)] = {
            "stage": str(details.get("stage", "")),
            "error": str(details.get("error", "")),
            "at": entry.created_at,
        }
    return found
