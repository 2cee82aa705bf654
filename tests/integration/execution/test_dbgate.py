"""The database gate: many step threads share a few connections, one thread at a time each."""

import threading
import time

import pytest
from django.db import connection, connections
from django.test import override_settings

from automate.execution.dbgate import DbGate
from automate.execution.models import ExecutionRun, OutboxJob
from automate.execution.worker import Worker
from automate.runtime import emit_event
from tests.factories import make_published

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_at_most_slots_threads_and_connections_at_once():
    gate = DbGate(2)
    inside = 0
    most = 0
    seen: set[int] = set()
    lock = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        for _ in range(5):
            with gate.phase():
                with lock:
                    inside += 1
                    most = max(most, inside)
                with gate.phase():  # re-entrant
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT 1")
                    seen.add(id(connection.connection))
                time.sleep(0.001)
                with lock:
                    inside -= 1
        connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    gate.close()
    assert most <= 2
    assert len(seen) <= 2


@override_settings(
    DJANGO_AUTOMATE={
        "WORKER_MODE": "process",
        "CONNECTORS": ["tests.support.connectors.TestKitConnector"],
        "EXECUTION": {"poll_interval_seconds": 0.05},
    }
)
def test_a_worker_with_many_threads_drains_through_the_gate():
    make_published(
        slug="one-step",
        rule_spec={},
        trigger_spec={"event_type": "thing.happened"},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {
                    "id": "wait",
                    "type": "action",
                    "connector": "testkit",
                    "action": "sleep",
                    "inputs": {"seconds": 0.05},
                },
            ],
            "edges": [{"source": "trigger", "target": "wait"}],
        },
    )
    for i in range(30):
        emit_event("thing.happened", {"i": i})
    worker = Worker(worker_id="many", concurrency=24, batch_size=10, fire_schedules=False)
    assert worker.gate is not None

    def target() -> None:
        try:
            worker.run(once=True)
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    assert not thread.is_alive()
    assert ExecutionRun.objects.filter(status="succeeded").count() == 30
    assert not OutboxJob.objects.exclude(status="COMPLETED").exists()
