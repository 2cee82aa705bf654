"""A worker keeps the live versions it read, yet every change is seen by the next event.

Each test matches events in this process one after another (synchronous mode), so the
versions kept from the first event are what the next one would wrongly reuse.
"""

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from automate.execution import live_versions
from automate.execution.models import ExecutionRun, StepRun
from automate.execution.worker import Worker
from automate.runtime import emit_event
from automate.workflows.services import publish_version
from tests.factories import make_published, make_tenant

pytestmark = pytest.mark.django_db(transaction=True)

TRIGGER = {"event_type": "order.placed"}


def graph(label):
    return {
        "nodes": [
            {"id": "trigger", "type": "trigger"},
            {
                "id": "note",
                "type": "transform",
                "inputs": {"label": label, "name": "{{ execution.name }}"},
            },
        ],
        "edges": [{"source": "trigger", "target": "note"}],
    }


def publish_first(label="v1", **kwargs):
    return make_published(
        slug="orders", trigger_spec=TRIGGER, rule_spec={}, graph=graph(label), **kwargs
    )


def last_note():
    run = ExecutionRun.objects.order_by("started_at").last()
    assert run is not None
    return StepRun.objects.get(run=run, node_id="note").outputs


def test_a_publish_takes_effect_for_the_very_next_event():
    first = publish_first()
    emit_event("order.placed", {})
    assert last_note()["label"] == "v1"
    workflow = first.workflow
    workflow.draft_graph = graph("v2")
    workflow.save()
    second = publish_version(workflow=workflow)
    emit_event("order.placed", {})
    assert last_note()["label"] == "v2"
    assert list(
        ExecutionRun.objects.order_by("started_at").values_list("workflow_version", flat=True)
    ) == [first.pk, second.pk]


def test_a_rollback_to_an_older_version_takes_effect_for_the_very_next_event():
    first = publish_first()
    workflow = first.workflow
    workflow.draft_graph = graph("v2")
    workflow.save()
    publish_version(workflow=workflow)
    emit_event("order.placed", {})
    assert last_note()["label"] == "v2"
    workflow.refresh_from_db()
    workflow.live_version = first
    workflow.save(update_fields=["live_version", "updated_at"])
    emit_event("order.placed", {})
    assert last_note()["label"] == "v1"


def test_deactivating_and_reactivating_takes_effect_for_the_very_next_event():
    first = publish_first()
    emit_event("order.placed", {})
    workflow = first.workflow
    workflow.is_active = False
    workflow.save()
    emit_event("order.placed", {})
    assert ExecutionRun.objects.count() == 1
    workflow.is_active = True
    workflow.save()
    emit_event("order.placed", {})
    assert ExecutionRun.objects.count() == 2


def test_renaming_the_workflow_shows_in_the_next_runs_context():
    # Process mode and one hop: the first step runs on the run matching started (with the
    # version and workflow matching read), not on a run read again.
    with override_settings(
        DJANGO_AUTOMATE={
            "WORKER_MODE": "process",
            "CONNECTORS": ["tests.support.connectors.TestKitConnector"],
        }
    ):
        first = publish_first()
        worker = Worker(worker_id="w1", concurrency=1, batch_size=10)
        emit_event("order.placed", {})
        worker.process_claimed(worker.store.claim_batch("w1", 10))
        assert last_note()["name"] == first.workflow.name
        workflow = first.workflow
        workflow.name = "Orders, renamed"
        workflow.save()
        emit_event("order.placed", {})
        worker.process_claimed(worker.store.claim_batch("w1", 10))
    assert last_note()["name"] == "Orders, renamed"


def test_each_tenant_matches_only_its_own_live_versions():
    acme, globex = make_tenant("acme"), make_tenant("globex")
    mine = publish_first("acme", tenant=acme)
    publish_first("globex", tenant=globex)
    emit_event("order.placed", {}, tenant=acme)
    emit_event("order.placed", {}, tenant=acme)
    assert set(ExecutionRun.objects.values_list("workflow_version", flat=True)) == {mine.pk}


def test_a_kept_version_is_not_read_again():
    publish_first()
    emit_event("order.placed", {})
    with CaptureQueriesContext(connection) as queries:
        emit_event("order.placed", {})
    assert ExecutionRun.objects.count() == 2
    # Matching reads only the marks (no definition); the run's step reads its run (and
    # its version, for the step's context) as usual.
    matching_reads = live_versions._VERSIONS_SQL.split("WHERE")[0]
    definitions = [q["sql"] for q in queries.captured_queries if matching_reads in q["sql"]]
    assert definitions == []
