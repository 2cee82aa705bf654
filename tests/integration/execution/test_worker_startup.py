"""A worker process claims a due job within 1.5 s of being spawned (issue 12, target 7).

``manage.py automate_worker`` is started as a real process against the test database with
one due job waiting; the time from ``Popen`` to the job being claimed is printed (run with
``-s`` to see it). The bound asserted is 3 s so a busy CI machine does not fail the suite;
on a quiet machine the figure is well under 1.5 s (docs/discussions/0004).
"""

from __future__ import annotations

import signal
import statistics
import time
from pathlib import Path

import pytest
from django.test import override_settings

from automate.execution.models import OutboxJob, WorkerProcess
from automate.runtime import emit_event
from tests.integration.execution.test_liveness_processes import Workers

pytestmark = pytest.mark.django_db(transaction=True)

BOUND = 3.0  # seconds; the target is 1.5 s on a quiet machine


@pytest.fixture
def workers(transactional_db: None, tmp_path: Path):
    with override_settings(
        DJANGO_AUTOMATE={
            "WORKER_MODE": "process",
            "CONNECTORS": ["tests.support.connectors.TestKitConnector"],
        }
    ):
        group = Workers(tmp_path, {})
        yield group
        group.stop_all()


def spawn_until_claimed(workers: Workers, worker_id: str) -> tuple[float, float]:
    """Seconds from spawn to the worker's row, and to its first claim of the due job."""
    event_id = emit_event("nothing.listens", {})
    job = OutboxJob.objects.get(event_id=event_id)
    started = time.monotonic()
    process = workers.start(worker_id, "--poll-interval", "0.2")
    registered = None
    while True:
        elapsed = time.monotonic() - started
        if registered is None and WorkerProcess.objects.filter(pk=worker_id).exists():
            registered = elapsed
        if OutboxJob.objects.filter(pk=job.pk).exclude(status="PENDING").exists():
            break
        assert process.poll() is None, workers.log(worker_id)
        assert elapsed < 30, f"nothing claimed in 30 s\n{workers.log(worker_id)}"
        time.sleep(0.005)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    return registered if registered is not None else elapsed, elapsed


def test_a_worker_process_claims_within_a_second_and_a_half_of_its_start(workers):
    figures = [spawn_until_claimed(workers, f"starter-{i}") for i in range(3)]
    claims = [claim for _, claim in figures]
    print(
        "\nspawn → registered / first claim (s): "
        + ", ".join(f"{row:.2f} / {claim:.2f}" for row, claim in figures)
        + f"; median claim {statistics.median(claims):.2f} s"
    )
    assert statistics.median(claims) <= BOUND


def test_the_worker_runs_every_system_check_but_the_url_ones():
    from django.core.checks import Tags, register
    from django.core.checks.registry import registry

    from automate.management.commands.automate_worker import Command

    seen: list[str] = []

    def url_check(**kwargs):
        seen.append("urls")
        return []

    def other_check(**kwargs):
        seen.append("other")
        return []

    register(url_check, Tags.urls)
    register(other_check)
    try:
        Command().check()
        assert seen == ["other"], "URL checks are the web server's"
        assert {url_check, other_check} <= registry.registered_checks, "all restored"
    finally:
        registry.registered_checks -= {url_check, other_check}
