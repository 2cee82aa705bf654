"""What an operator sees of a real run: the log lines it wrote, parsed back as ECS, name its
run, step, workflow and tenant; and a scrape of /metrics afterwards counts it."""

import io
import json
import logging
import logging.config

import pytest
from prometheus_client.parser import text_string_to_metric_families

from automate.execution.models import ExecutionRun
from automate.runtime import emit_event
from tests.factories import make_published, make_tenant

pytestmark = pytest.mark.django_db(transaction=True)

GRAPH = {
    "nodes": [
        {"id": "trigger", "type": "trigger"},
        {
            "id": "note",
            "type": "action",
            "connector": "log",
            "action": "write",
            "inputs": {"message": "paid {{ event.payload.amount }}"},
        },
        {
            "id": "flaky",
            "type": "action",
            "connector": "testkit",
            "action": "fail",
            "inputs": {"retryable": False, "message": "partner said no"},
        },
    ],
    "edges": [{"source": "trigger", "target": "note"}, {"source": "note", "target": "flaky"}],
}


@pytest.fixture
def ecs_lines(settings):
    settings.DJANGO_AUTOMATE = {**settings.DJANGO_AUTOMATE, "LOGGING_SCHEMA": "ecs"}
    stream = io.StringIO()
    config = {
        **settings.LOGGING,
        "handlers": {"console": {**settings.LOGGING["handlers"]["console"], "stream": stream}},
        "root": {"handlers": ["console"], "level": "INFO"},
    }
    logging.config.dictConfig(config)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line]
    finally:
        logging.config.dictConfig(settings.LOGGING)


def scrape(client):
    text = client.get("/metrics").content.decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_runs_log_lines_and_metrics(client, settings, ecs_lines):
    settings.DJANGO_AUTOMATE = {
        **settings.DJANGO_AUTOMATE,
        "METRICS_EXPORT": True,
        "METRICS": {"allowed_networks": ["127.0.0.1/32"]},
    }
    tenant = make_tenant("acme")
    make_published(
        slug="billing",
        tenant=tenant,
        rule_spec={},
        trigger_spec={"event_type": "invoice.paid"},
        graph=GRAPH,
    )
    before = scrape(client)
    emit_event("invoice.paid", {"amount": 42}, tenant=tenant)
    run = ExecutionRun.objects.get()
    assert run.status == "failed"

    lines = ecs_lines()
    logged = [line for line in lines if line["message"] == "paid 42"]
    assert len(logged) == 1
    assert logged[0]["trace"]["id"] == run.trace_id
    assert logged[0]["automate"]["run"]["id"] == str(run.pk)
    assert logged[0]["automate"]["step"]["id"] == "note"
    assert logged[0]["automate"]["tenant"]["slug"] == "acme"
    failed = [line for line in lines if "partner said no" in line["message"]]
    assert failed, [line["message"] for line in lines]
    assert all(line["automate"]["run"]["id"] == str(run.pk) for line in failed)
    assert all(line["automate"]["step"]["id"] == "flaky" for line in failed)

    after = scrape(client)

    def grew(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("automate_runs_finished_total", status="failed") == 1
    assert grew("automate_steps_finished_total", status="succeeded", connector="log") == 1
    assert grew("automate_steps_finished_total", status="failed", connector="testkit") == 1
    assert grew("automate_step_duration_seconds_count", connector="log") == 1
    assert grew("automate_dead_letters_total", kind="step") == 1
