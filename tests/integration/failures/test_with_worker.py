"""The error workflow under the real worker loop (threads, batches, the claim hop), on the
tier's database: SQLite here, PostgreSQL with SKIP LOCKED in the postgres tier."""

from collections import Counter

import pytest
from django.test import override_settings

from automate.execution.models import ExecutionRun, OutboxJob
from automate.execution.worker import Worker
from automate.failures.hook import run_failed
from automate.failures.models import RunFailure
from automate.runtime import emit_event

from .test_error_workflow import failing, handler, name_error_workflow

pytestmark = [pytest.mark.django_db(transaction=True)]

EVENTS = 12


@pytest.fixture(autouse=True)
def process_mode():
    with override_settings(
        DJANGO_AUTOMATE={
            "WORKER_MODE": "process",
            "CONNECTORS": ["tests.support.connectors.TestKitConnector"],
        }
    ):
        yield


def test_each_failed_run_starts_exactly_one_error_run_under_the_worker():
    billing, on_failure = failing(), handler()
    name_error_workflow(billing, on_failure)
    for i in range(EVENTS):
        emit_event("invoice.paid", {"id": f"in_{i}"})

    Worker(worker_id="w1", concurrency=3, batch_size=5).run(once=True)

    failed = ExecutionRun.objects.filter(workflow_version__workflow=billing)
    assert sorted(failed.values_list("status", flat=True)) == ["failed"] * EVENTS
    error_runs = ExecutionRun.objects.filter(workflow_version__workflow=on_failure)
    assert sorted(error_runs.values_list("status", flat=True)) == ["succeeded"] * EVENTS
    handled = Counter(run.event.payload["run"]["id"] for run in error_runs)
    assert handled == Counter({str(run.pk): 1 for run in failed})
    assert RunFailure.objects.filter(error_run__isnull=False).count() == EVENTS
    assert not OutboxJob.objects.filter(status__in=["PENDING", "CLAIMED"]).exists()

    # A redone finalization (a worker that wrote it again) adds nothing.
    for run in failed:
        assert run_failed(run) is None
    assert error_runs.count() == EVENTS


def test_a_worker_that_lost_its_lease_while_failing_the_run_writes_nothing(monkeypatch):
    """The failed state, the error event and the error run commit together: a worker whose
    lease was taken over rolls all of them back, and the worker that runs the step again
    starts the one error run."""
    from automate.execution.store import OutboxStore
    from automate.outbox import OutboxReaper

    billing, on_failure = failing(), handler()
    name_error_workflow(billing, on_failure)
    emit_event("invoice.paid", {"id": "in_1"})
    with monkeypatch.context() as patch:
        # Another worker took the job over: writing this one's outcome finds no lease.
        patch.setattr(OutboxStore, "mark_failed", lambda *args, **kwargs: False)
        Worker(worker_id="stalled", concurrency=1).run_until_idle()
    failed = ExecutionRun.objects.get(workflow_version__workflow=billing)
    assert failed.status == "running"  # rolled back with everything else
    assert not ExecutionRun.objects.filter(workflow_version__workflow=on_failure).exists()
    assert not RunFailure.objects.exists()

    OutboxJob.objects.filter(status="CLAIMED").update(lease_expires_at="2000-01-01T00:00:00Z")
    OutboxReaper().reap_stale_items()
    Worker(worker_id="takeover", concurrency=1).run_until_idle()
    failed.refresh_from_db()
    assert failed.status == "failed"
    error_run = ExecutionRun.objects.get(workflow_version__workflow=on_failure)
    assert error_run.status == "succeeded"
    assert RunFailure.objects.get().error_run_id == error_run.pk
