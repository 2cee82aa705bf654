"""Insights: runs over time by outcome, failure rate, durations, the slowest and most-failing
steps and dead letters over time, for a tenant's (or one workflow's) runs in a time window.

Every query is bounded, whatever the number of runs (docs/discussions/0006-scale.md):

* the counts per bucket and status cover the newest ``COUNT_RUNS`` runs of the window
  (exact below that): one ``GROUP BY`` over a walk of at most that many entries of the
  ``(tenant, created_at, id)`` or ``(workflow_version, created_at, id)`` index;
* the duration percentiles cover the newest ``SAMPLE_RUNS`` finished runs of the window
  (``percentile_cont`` in PostgreSQL; the same interpolation in Python on other databases);
* the step figures cover the steps of the newest ``STEP_SAMPLE_RUNS`` finished runs and of
  the newest ``STEP_SAMPLE_RUNS`` failed runs of the window (found through the unique
  ``(run, node_id, attempt)`` index), computed in Python;
* dead letters are counted through the partial dead-letter index on ``(updated_at, id)``.

The caller scopes the runs and jobs (a user's tenants, one workflow's versions).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Count, DurationField, ExpressionWrapper, F, QuerySet
from django.db.models.functions import Trunc
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from automate.compat import UTC
from automate.execution.models import ExecutionRun, OutboxJob, StepRun
from automate.execution.services import DEAD_LETTER
from automate.guard.parse import InputRejected
from automate.workflows.models import WorkflowVersion

#: The ranges the picker offers, and how far back each reaches.
RANGES: dict[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
DEFAULT_RANGE = "7d"
#: The longest custom window: a day per bucket keeps a chart readable up to here.
MAX_SPAN = timedelta(days=92)
#: Windows up to this long are bucketed by hour, longer ones by day.
HOURLY_UP_TO = timedelta(hours=48)
#: The run counts cover at most this many of the window's newest runs: about 0.1 s of
#: counting in PostgreSQL on this project's 2-core test machine (0006-scale.md#insights).
COUNT_RUNS = 30_000
#: The duration percentiles cover at most this many of the window's newest finished runs.
SAMPLE_RUNS = 2000
#: The step figures cover the steps of at most this many finished and as many failed runs.
STEP_SAMPLE_RUNS = 500
#: How many steps each of the two step lists shows.
TOP_STEPS = 5
#: The outcomes the chart stacks, bottom up (the run statuses).
OUTCOMES = [s.value for s in ExecutionRun.Status]
FINISHED = [ExecutionRun.Status.SUCCEEDED, ExecutionRun.Status.FAILED]


@dataclass(frozen=True)
class Window:
    """The time window ``[start, end)`` of an insights request and its bucket size."""

    key: str
    start: datetime
    end: datetime
    bucket: Literal["hour", "day"]

    def buckets(self) -> list[datetime]:
        """Every bucket's start, oldest first, the first one holding ``start``."""
        step = timedelta(hours=1) if self.bucket == "hour" else timedelta(days=1)
        first = self.start.replace(minute=0, second=0, microsecond=0)
        if self.bucket == "day":
            first = first.replace(hour=0)
        out = []
        while first < self.end:
            out.append(first)
            first += step
        return out


def parse_window(range_key: str, *, start: str = "", end: str = "", now: datetime) -> Window:
    """The window a request names: ``24h``, ``7d``, ``30d`` (ending ``now``) or ``custom``
    with ``start`` and ``end`` (ISO dates, ``end`` inclusive, or ISO date-times).
    Anything else raises ``InputRejected`` (400, code ``invalid_range``)."""
    key = range_key or DEFAULT_RANGE
    if key in RANGES:
        return _window(key, now - RANGES[key], now)
    if key != "custom":
        raise _bad_range(
            _("Unknown range “%(range)s”: use 24h, 7d, 30d or custom.") % {"range": key[:20]}
        )
    first = _parse_moment(start, "start", end_of_day=False)
    last = _parse_moment(end, "end", end_of_day=True)
    if first >= last:
        raise _bad_range(_("The range's start must be before its end."))
    if last - first > MAX_SPAN:
        raise _bad_range(_("A custom range spans at most %(days)s days.") % {"days": MAX_SPAN.days})
    return _window("custom", first, last)


def _window(key: str, start: datetime, end: datetime) -> Window:
    return Window(key, start, end, "hour" if end - start <= HOURLY_UP_TO else "day")


def _parse_moment(text: str, name: str, *, end_of_day: bool) -> datetime:
    text = text.strip()
    if not text:
        raise _bad_range(
            _("A custom range needs a start date.")
            if name == "start"
            else _("A custom range needs an end date.")
        )
    try:
        moment = parse_datetime(text) if "T" in text or " " in text else None
        day: date | None = None if moment else parse_date(text)
    except ValueError:
        moment, day = None, None
    if day is not None:
        # An end date includes its whole day.
        moment = datetime.combine(day + timedelta(days=end_of_day), time(), tzinfo=UTC)
    if moment is None:
        raise _bad_range(_("“%(text)s” is not a date (YYYY-MM-DD).") % {"text": text[:40]})
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _bad_range(message: str) -> InputRejected:
    return InputRejected(message, code="invalid_range")


def insights(
    runs: QuerySet[ExecutionRun], jobs: QuerySet[OutboxJob], window: Window
) -> dict[str, Any]:
    """Every figure of the insights panel for ``runs`` and ``jobs`` (already scoped) in
    ``window``, as JSON-ready values: seven queries, whatever the number of runs."""
    in_window = runs.filter(created_at__gte=window.start, created_at__lt=window.end)
    buckets = window.buckets()
    series, counted_from = _runs_per_bucket(in_window, window, buckets)
    totals = {status: sum(counts) for status, counts in series.items()}
    finished = totals["succeeded"] + totals["failed"]
    durations = _durations(in_window)
    dead = _dead_letters_per_bucket(jobs, window, buckets)
    slowest, failing, step_runs = _step_figures(in_window)
    return {
        "range": window.key,
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
        "bucket": window.bucket,
        "labels": [b.isoformat() for b in buckets],
        "series": series,
        # Set when the COUNT_RUNS cap cut the counts short: the buckets before it are empty.
        "counted_from": counted_from.isoformat() if counted_from else None,
        "totals": totals,
        "total": sum(totals.values()),
        "failure_rate": round(100 * totals["failed"] / finished, 1) if finished else None,
        "durations": durations,
        "slowest_steps": slowest,
        "failing_steps": failing,
        "step_sample_runs": step_runs,
        "dead_letters": dead,
        "dead_total": sum(dead),
    }


def _bucket_of(when: datetime, window: Window) -> datetime:
    when = when.astimezone(UTC)
    when = when.replace(minute=0, second=0, microsecond=0)
    return when.replace(hour=0) if window.bucket == "day" else when


def _runs_per_bucket(
    in_window: QuerySet[ExecutionRun], window: Window, buckets: list[datetime]
) -> tuple[dict[str, list[int]], datetime | None]:
    """Runs per bucket and status among the newest COUNT_RUNS runs of the window; and,
    when that cap cut the window short, the start of the oldest bucket counted (the
    buckets before it are not counted, the one holding it only in part)."""
    index = {b: i for i, b in enumerate(buckets)}
    series = {status: [0] * len(buckets) for status in OUTCOMES}
    newest = (
        in_window.order_by("-created_at", "-id")
        .annotate(bucket=Trunc("created_at", window.bucket, tzinfo=UTC))
        .values_list("bucket", "status")[:COUNT_RUNS]
    )
    try:
        sql, params = newest.query.get_compiler(using=newest.db).as_sql()
    except EmptyResultSet:  # a filter that matches nothing (a workflow never published)
        rows = []
    else:
        with connections[newest.db].cursor() as cursor:
            # Django's own compiled SQL, its values passed as parameters.
            cursor.execute(f"{_COUNT_PER_BUCKET} FROM ({sql}) s GROUP BY 1, 2", params)
            rows = cursor.fetchall()
    counted = 0
    oldest: datetime | None = None
    for bucket, status, n in rows:
        start = _bucket_of(_as_datetime(bucket), window)
        counted += n
        oldest = start if oldest is None or start < oldest else oldest
        slot = index.get(start)
        if slot is not None and status in series:
            series[status][slot] += n
    return series, oldest if counted >= COUNT_RUNS else None


_COUNT_PER_BUCKET = "SELECT s.bucket, s.status, count(*)"


def _as_datetime(value: datetime | str) -> datetime:
    """A bucket read through a raw cursor: SQLite gives text, PostgreSQL a naive UTC time."""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _dead_letters_per_bucket(
    jobs: QuerySet[OutboxJob], window: Window, buckets: list[datetime]
) -> list[int]:
    index = {b: i for i, b in enumerate(buckets)}
    counts = [0] * len(buckets)
    rows = (
        jobs.filter(status__in=DEAD_LETTER, updated_at__gte=window.start, updated_at__lt=window.end)
        .annotate(bucket=Trunc("updated_at", window.bucket, tzinfo=UTC))
        .values_list("bucket")
        .annotate(n=Count("*"))
        .order_by()
    )
    for bucket, n in rows:
        slot = index.get(_bucket_of(bucket, window))
        if slot is not None:
            counts[slot] += n
    return counts


def _durations(in_window: QuerySet[ExecutionRun]) -> dict[str, Any]:
    """p50 and p95 run duration (ms) of the newest SAMPLE_RUNS finished runs."""
    sample = (
        in_window.filter(status__in=FINISHED, started_at__isnull=False, finished_at__isnull=False)
        .order_by("-created_at", "-id")
        .annotate(
            took=ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
        )
        .values_list("took")[:SAMPLE_RUNS]
    )
    connection = connections[sample.db]
    if connection.vendor == "postgresql":
        try:
            sql, params = sample.query.get_compiler(using=sample.db).as_sql()
        except EmptyResultSet:  # a filter that matches nothing (a workflow never published)
            return {"p50_ms": None, "p95_ms": None, "sample": 0, "capped": False}
        with connection.cursor() as cursor:
            # Django's own compiled SQL, its values passed as parameters.
            cursor.execute(f"{_RUN_PERCENTILES} FROM ({sql}) s", params)
            n, p50, p95 = cursor.fetchone()
        p50_ms = None if p50 is None else round(float(p50) * 1000)
        p95_ms = None if p95 is None else round(float(p95) * 1000)
    else:
        took = sorted(d.total_seconds() * 1000 for (d,) in sample if d is not None)
        n = len(took)
        p50_ms = _rounded(percentile(took, 0.5))
        p95_ms = _rounded(percentile(took, 0.95))
    return {"p50_ms": p50_ms, "p95_ms": p95_ms, "sample": n, "capped": n >= SAMPLE_RUNS}


_RUN_PERCENTILES = (
    "SELECT count(*), "
    "percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM s.took)), "
    "percentile_cont(0.95) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM s.took))"
)


def _rounded(value: float | None) -> int | None:
    return None if value is None else round(value)


def percentile(ordered: Sequence[float], p: float) -> float | None:
    """``percentile_cont(p)`` of PostgreSQL (linear interpolation) of sorted values."""
    if not ordered:
        return None
    position = p * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _step_figures(
    in_window: QuerySet[ExecutionRun],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """The TOP_STEPS slowest steps (by p95) and most-failing steps (failed attempts) among
    the steps of the newest finished and failed runs; and how many runs they cover."""
    newest = in_window.order_by("-created_at", "-id").values_list("id", "workflow_version_id")
    finished = newest.filter(status__in=FINISHED)[:STEP_SAMPLE_RUNS]
    failed = newest.filter(status=ExecutionRun.Status.FAILED)[:STEP_SAMPLE_RUNS]
    if connections[in_window.db].vendor == "postgresql":
        rows, sampled = _step_rows_in_sql(finished, failed)
    else:
        rows, sampled = _step_rows_in_python(finished, failed, in_window.db)
    names = _node_names({row[2] for row in rows}, in_window.db)
    labels = _labels(names)
    slowest = sorted(
        (
            {**labels(workflow_id, node_id), "p95_ms": p95, "p50_ms": p50, "attempts": n}
            for workflow_id, node_id, _, n, _, p50, p95 in rows
            if n
        ),
        key=lambda row: -(row["p95_ms"] or 0),
    )[:TOP_STEPS]
    failing = sorted(
        (
            {**labels(workflow_id, node_id), "failures": failures}
            for workflow_id, node_id, _, _, failures, _, _ in rows
            if failures
        ),
        key=lambda row: -row["failures"],
    )[:TOP_STEPS]
    return slowest, failing, sampled


#: One step row: workflow id, node id, newest version id that ran it, steps with a
#: duration, failed attempts, p50 and p95 duration (ms).
StepRow = tuple[int, str, int, int, int, int | None, int | None]


def _step_rows_in_sql(finished: QuerySet[Any], failed: QuerySet[Any]) -> tuple[list[StepRow], int]:
    """PostgreSQL: one query joins the two samples to their steps (through the unique
    ``(run, node_id, attempt)`` index) and aggregates them, percentiles included."""
    db = finished.db
    try:
        finished_sql, finished_params = finished.query.get_compiler(using=db).as_sql()
        failed_sql, failed_params = failed.query.get_compiler(using=db).as_sql()
    except EmptyResultSet:  # a filter that matches nothing (a workflow never published)
        return [], 0
    # Django's compiled SQL and model table names; every value is a parameter.
    sample = f"WITH sample AS (({finished_sql}) UNION ({failed_sql}))"
    sql = f"""{sample}
        SELECT v.workflow_id, s.node_id, max(v.id), count(s.duration_ms),
               count(*) FILTER (WHERE s.status = %s),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY s.duration_ms),
               percentile_cont(0.95) WITHIN GROUP (ORDER BY s.duration_ms),
               (SELECT count(*) FROM sample)
        FROM sample
        JOIN {StepRun._meta.db_table} s ON s.run_id = sample.id
        JOIN {WorkflowVersion._meta.db_table} v ON v.id = sample.workflow_version_id
        GROUP BY v.workflow_id, s.node_id
    """  # noqa: S608
    with connections[db].cursor() as cursor:
        cursor.execute(sql, [*finished_params, *failed_params, StepRun.Status.FAILED])
        fetched = cursor.fetchall()
    rows: list[StepRow] = [
        (wf, node, version, n, failures, _rounded(p50), _rounded(p95))
        for wf, node, version, n, failures, p50, p95, _ in fetched
    ]
    return rows, fetched[0][7] if fetched else 0


def _step_rows_in_python(
    finished: QuerySet[Any], failed: QuerySet[Any], db: str
) -> tuple[list[StepRow], int]:
    """Other databases: the samples' ids, then their steps, aggregated here."""
    version_of: dict[Any, int] = dict(finished)
    version_of.update(failed)
    if not version_of:
        return [], 0
    workflow_of = dict(
        WorkflowVersion.objects.using(db)
        .filter(pk__in=set(version_of.values()))
        .values_list("pk", "workflow_id")
    )
    took: dict[tuple[int, str], list[float]] = defaultdict(list)
    failures: dict[tuple[int, str], int] = defaultdict(int)
    newest: dict[tuple[int, str], int] = {}
    steps = StepRun.objects.using(db).filter(run_id__in=list(version_of))
    for run_id, node_id, status, duration_ms in steps.values_list(
        "run_id", "node_id", "status", "duration_ms"
    ):
        version = version_of[run_id]
        key = (workflow_of[version], node_id)
        newest[key] = max(newest.get(key, version), version)
        if duration_ms is not None:
            took[key].append(duration_ms)
        if status == StepRun.Status.FAILED:
            failures[key] += 1
    rows: list[StepRow] = []
    for key, version in newest.items():
        ordered = sorted(took[key])
        rows.append(
            (
                *key,
                version,
                len(ordered),
                failures[key],
                _rounded(percentile(ordered, 0.5)),
                _rounded(percentile(ordered, 0.95)),
            )
        )
    return rows, len(version_of)


def _node_names(versions: Iterable[int], db: str) -> dict[int, tuple[int, str, dict[str, str]]]:
    """Per version id: its workflow's id and name and its nodes' labels."""
    out: dict[int, tuple[int, str, dict[str, str]]] = {}
    rows = WorkflowVersion.objects.using(db).filter(pk__in=list(versions))
    for pk, workflow_id, name, graph in rows.values_list(
        "pk", "workflow_id", "workflow__name", "graph"
    ):
        nodes = graph.get("nodes", []) if isinstance(graph, dict) else []
        node_labels = {
            str(n.get("id")): str(n.get("label") or n.get("id"))
            for n in nodes
            if isinstance(n, dict)
        }
        out[pk] = (workflow_id, name, node_labels)
    return out


def _labels(names: dict[int, tuple[int, str, dict[str, str]]]) -> Any:
    """A function giving a step row's workflow name and node label (the newest label seen)."""
    by_workflow: dict[int, tuple[str, dict[str, str]]] = {}
    for version in sorted(names):
        workflow_id, name, node_labels = names[version]
        known = by_workflow.get(workflow_id, (name, {}))[1]
        by_workflow[workflow_id] = (name, {**known, **node_labels})

    def label(workflow_id: int, node_id: str) -> dict[str, Any]:
        name, node_labels = by_workflow.get(workflow_id, ("", {}))
        return {
            "workflow_id": workflow_id,
            "workflow": name,
            "node_id": node_id,
            "node": node_labels.get(node_id, node_id),
        }

    return label
