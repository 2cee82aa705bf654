"""Prometheus metrics (``prometheus-client``): what the engine counts, and what a scrape reads.

Two kinds of series:

- **Counted by the process that saw it** (module-level ``Counter``/``Histogram`` objects
  below): runs and steps finished by status, step duration per connector, retries, dead
  letters, webhook deliveries by result, LLM spend, worker heartbeats, and the claim-to-start
  latency of step jobs. With several processes on one machine, set
  ``PROMETHEUS_MULTIPROC_DIR`` (an empty directory shared by every daphne and worker
  process, emptied when they all start) and ``/metrics`` adds them all up
  (``prometheus_client.multiprocess``); a worker on another machine serves its own with
  ``automate_worker --metrics-port``.
- **Read from the database at scrape time** (``DatabaseCollector``, ``/metrics`` only, so a
  fleet of workers does not report them twice): outbox depth by status and kind, the age of
  the oldest pending job per kind, live workers and each one's heartbeat age, and each
  tenant's LLM spend today. Each comes from a small partial index or a small table.

``/metrics`` is off unless ``DJANGO_AUTOMATE["METRICS_EXPORT"]`` (404 otherwise), and
answers only to addresses in ``METRICS.allowed_networks`` or to the bearer token
``METRICS.token`` (403 ``forbidden`` in the error shape otherwise).
Metric names follow Prometheus conventions: ``automate_`` prefix, base units (seconds,
dollars), ``_total`` for counters.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from automate.guard.http import guarded

#: Step and claim latencies: from a no-op step (ms) to a slow HTTP call (minutes).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

RUNS_FINISHED = Counter(
    "automate_runs_finished_total", "Runs that reached a final state, by status.", ["status"]
)
STEPS_FINISHED = Counter(
    "automate_steps_finished_total",
    "Step attempts that ended, by status (succeeded, failed, retrying) and connector.",
    ["status", "connector"],
)
STEP_DURATION = Histogram(
    "automate_step_duration_seconds",
    "Time a step's connector call took, per connector.",
    ["connector"],
    buckets=DURATION_BUCKETS,
)
STEP_RETRIES = Counter(
    "automate_step_retries_total", "Step attempts that failed and were retried.", ["connector"]
)
DEAD_LETTERS = Counter(
    "automate_dead_letters_total", "Jobs given up after their retries, by kind.", ["kind"]
)
CLAIM_TO_START = Histogram(
    "automate_claim_to_start_seconds",
    "From a worker claiming jobs to one of its threads starting to run them (the wait "
    "inside the worker), by job kind.",
    ["kind"],
    buckets=DURATION_BUCKETS,
)
WEBHOOK_DELIVERIES = Counter(
    "automate_webhook_deliveries_total",
    "Inbound webhook deliveries by result (accepted, bad_signature, rate_limited, ...).",
    ["result"],
)
LLM_SPEND = Counter(
    "automate_llm_spend_dollars_total", "Recorded LLM spend in US dollars.", ["provider", "model"]
)
CELERY_HANDOFFS_EXPIRED = Counter(
    "automate_celery_handoffs_expired_total",
    "Jobs a Celery relay gave back because no Celery worker took them over after its last "
    "send (no worker consumes the queue, or the task is not registered).",
)
WORKER_HEARTBEATS = Counter(
    "automate_worker_heartbeats_total", "Heartbeats written by this process's workers."
)


class DatabaseCollector(Collector):
    """Series read from the database at each scrape (see the module docstring)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.db.models import Count

        from automate.execution.liveness import alive_condition
        from automate.execution.models import OutboxJob, WorkerProcess
        from automate.governance.budget import today as budget_today
        from automate.governance.models import LLMBudgetDay

        depth = GaugeMetricFamily(
            "automate_outbox_jobs",
            "Outbox jobs not yet completed, by status and kind.",
            labels=["status", "kind"],
        )
        oldest = GaugeMetricFamily(
            "automate_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending job, by kind (0 when none is pending).",
            labels=["kind"],
        )
        unfinished = [s for s in OutboxJob.Status.values if s != OutboxJob.Status.COMPLETED]
        counts: dict[tuple[str, str], int] = {}
        # One query per partial index of the table (PENDING, CLAIMED, FAILED + DEAD): the
        # COMPLETED majority is never read, however big the table grows.
        for statuses in (["PENDING"], ["CLAIMED"], ["FAILED", "DEAD"]):
            rows = (
                OutboxJob.objects.filter(status__in=statuses)
                .values("status", "kind")
                .annotate(n=Count("id"))
                .order_by()
            )
            counts.update({(row["status"], row["kind"]): row["n"] for row in rows})
        now = time.time()
        for kind in OutboxJob.Kind.values:
            for status in unfinished:
                depth.add_metric([status, kind], counts.get((status, kind), 0))
            first = (
                OutboxJob.objects.filter(status=OutboxJob.Status.PENDING, kind=kind)
                .order_by("id")
                .values_list("created_at", flat=True)
                .first()
            )
            oldest.add_metric([kind], max(0.0, now - first.timestamp()) if first else 0.0)
        yield depth
        yield oldest

        alive = GaugeMetricFamily("automate_workers_alive", "Workers whose heartbeat is fresh.")
        age = GaugeMetricFamily(
            "automate_worker_heartbeat_age_seconds",
            "Seconds since each known worker's last heartbeat.",
            labels=["worker", "hostname"],
        )
        alive.add_metric([], WorkerProcess.objects.filter(alive_condition()).count())
        for worker_id, hostname, beat in WorkerProcess.objects.values_list(
            "worker_id", "hostname", "last_heartbeat_at"
        )[:200]:
            age.add_metric([worker_id, hostname], max(0.0, now - beat.timestamp()))
        yield alive
        yield age

        spend = GaugeMetricFamily(
            "automate_llm_spend_today_dollars",
            "Each tenant's LLM spend today (UTC), reservations included.",
            labels=["tenant"],
        )
        today = LLMBudgetDay.objects.filter(day=budget_today()).values_list(
            "tenant__slug", "spent_usd"
        )
        for slug, spent in today:
            spend.add_metric([slug], float(spent))
        yield spend


def process_registry() -> CollectorRegistry:
    """This process's series, or every process's with ``PROMETHEUS_MULTIPROC_DIR``."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return merged
    return REGISTRY


def database_registry() -> CollectorRegistry:
    """The database's series (``DatabaseCollector``), read afresh at each scrape."""
    database = CollectorRegistry()
    database.register(DatabaseCollector())
    return database


def render() -> tuple[bytes, str]:
    """The exposition text ``/metrics`` answers, and its content type."""
    text = generate_latest(process_registry()) + generate_latest(database_registry())
    return text, CONTENT_TYPE_LATEST


def allowed(remote_addr: str, authorization: str) -> bool:
    """Whether a scrape from ``remote_addr`` with this ``Authorization`` header may read.

    True when the address is inside one of ``METRICS.allowed_networks`` (CIDR), or
    ``METRICS.token`` is set and the header is ``Bearer <token>`` (compared in constant
    time). An address that does not parse simply does not match.
    """
    from automate import conf

    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        address = None
    if address is not None:
        for network in conf.get("METRICS", "allowed_networks"):
            if address in ipaddress.ip_network(network, strict=False):
                return True
    token = str(conf.get("METRICS", "token"))
    if not token or not authorization.startswith("Bearer "):
        return False
    given = authorization.removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), token.encode())


@guarded("json")
@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET /metrics``: the Prometheus text format; 404 unless ``METRICS_EXPORT``, 403
    ``forbidden`` for a scraper outside ``METRICS.allowed_networks`` without the token."""
    from automate import conf
    from automate.api.errors import json_error

    if not conf.get("METRICS_EXPORT"):
        return json_error(request, 404, "not_found", "Metrics are not exported on this site.")
    if not allowed(request.META.get("REMOTE_ADDR", ""), request.headers.get("Authorization", "")):
        return json_error(
            request,
            403,
            "forbidden",
            "This address may not read the metrics: scrape from METRICS.allowed_networks "
            "or send the bearer token METRICS.token.",
        )
    body, content_type = render()
    return HttpResponse(body, content_type=content_type)


# --- where the engine counts (each after its transaction commits) ---------------------------


def count_run_finished(status: str) -> None:
    """Count a run that reached ``status`` once the transaction that set it commits."""
    from django.db import transaction

    transaction.on_commit(lambda: RUNS_FINISHED.labels(status).inc())


def count_step_attempt(connector: str, status: str, seconds: float | None = None) -> None:
    """Count one step attempt's outcome (``succeeded``/``failed``) and, for a connector call
    that returned, its duration in seconds. Called where the call ends, in any thread."""
    STEPS_FINISHED.labels(status, connector).inc()
    if seconds is not None:
        STEP_DURATION.labels(connector).observe(seconds)


def count_step_given_up_or_retried(connector: str, *, will_retry: bool) -> None:
    """After commit: a retry scheduled, or a dead letter left (retries out, or permanent)."""
    from django.db import transaction

    if will_retry:
        transaction.on_commit(lambda: STEP_RETRIES.labels(connector).inc())
    else:
        transaction.on_commit(lambda: DEAD_LETTERS.labels("step").inc())


def count_claim_to_start(kinds: list[str], seconds: float) -> None:
    """Observe, once per claimed job, the ``seconds`` between its claim and its thread
    starting (``automate.execution.worker``)."""
    for kind in kinds:
        CLAIM_TO_START.labels(kind).observe(seconds)
