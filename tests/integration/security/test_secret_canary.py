"""Canary: a secret used by a running workflow appears in no log line, database row,
HTTP response or exception text, whether the step succeeds or fails."""

import logging

import pytest
from django.apps import apps
from django.core import serializers
from django.urls import reverse

from automate.execution.models import ExecutionRun
from automate.runtime import emit_event
from automate.workflows.exceptions import WorkflowValidationError
from tests.factories import make_published, make_user

pytestmark = pytest.mark.django_db(transaction=True)

CANARY = "canary-7f3a9c2e5b1d4e8f"  # matches no redaction pattern: only known-value masking
#                                      can catch it


def every_row_as_text():
    dumped = []
    for model in apps.get_models():
        dumped.append(serializers.serialize("json", model.objects.all()))
    return "\n".join(dumped)


def test_a_secret_used_by_a_run_leaks_nowhere(client, monkeypatch, caplog):
    monkeypatch.setenv("AUTOMATE_CANARY_TOKEN", CANARY)
    caplog.set_level(logging.DEBUG)
    nodes = [
        {"id": "trigger", "type": "trigger"},
        # Uses the secret in a field with an innocent name, and in a template.
        {
            "id": "ok",
            "type": "action",
            "connector": "testkit",
            "action": "echo",
            "inputs": {
                "channel": {"$secret": "CANARY_TOKEN"},
                "text": "auth {{ secrets.CANARY_TOKEN }}",
            },
        },
        # Fails with the secret inside the error message the connector raises.
        {
            "id": "boom",
            "type": "action",
            "connector": "testkit",
            "action": "fail",
            "retry": {"max_retries": 0},
            "inputs": {
                "retryable": False,
                "message": "upstream refused token {{ secrets.CANARY_TOKEN }}",
            },
        },
        {
            "id": "log",
            "type": "action",
            "connector": "log",
            "action": "write",
            "inputs": {
                "message": "using {{ secrets.CANARY_TOKEN }}",
                "data": {"t": "$secret:CANARY_TOKEN"},
            },
        },
    ]
    edges = [
        {"source": "trigger", "target": "ok"},
        {"source": "trigger", "target": "log"},
        {"source": "log", "target": "boom"},
    ]
    make_published(
        slug="canary",
        rule_spec={},
        trigger_spec={"event_type": "canary.test"},
        graph={"nodes": nodes, "edges": edges},
    )

    emit_event("canary.test", {"hello": "world"})

    run = ExecutionRun.objects.get()
    assert run.status == "failed"
    steps = {s.node_id: s for s in run.steps.all()}
    assert steps["ok"].status == "succeeded"
    assert steps["log"].status == "succeeded"
    assert steps["boom"].status == "failed"
    assert "upstream refused token" in steps["boom"].error, "the error is still useful"

    # Database: every row of every model.
    assert CANARY not in every_row_as_text()
    # Exceptions as stored (message and stack) and the run's error.
    assert CANARY not in steps["boom"].error + steps["boom"].traceback + run.error
    # Logs: every record the run produced, formatted.
    assert caplog.records, "the run logged something"
    from automate.observability.logging import RedactingFilter

    redacting = RedactingFilter()
    for record in caplog.records:
        redacting.filter(record)
        assert CANARY not in record.getMessage()
        assert CANARY not in str(record.__dict__)
    # HTTP responses: the admin pages showing the run, its steps and the event.
    client.force_login(make_user(superuser=True))
    for url in [
        reverse("admin:automate_executionrun_change", args=[run.pk]),
        reverse("admin:automate_executionrun_changelist"),
        reverse("admin:automate_event_change", args=[run.event_id]),
        reverse("admin:automate_outboxjob_changelist"),
    ]:
        response = client.get(url)
        assert response.status_code == 200
        assert CANARY not in response.content.decode(), url


def test_transformed_secrets_are_refused_before_anything_is_stored(monkeypatch):
    # A secret can only be placed whole; slicing or filtering it is refused when the
    # workflow is saved, so no transformed value can ever reach a step's inputs.
    monkeypatch.setenv("AUTOMATE_SHORT_TOKEN", "tok_live_ABCDEFGHIJKLMNOP")
    node = {
        "id": "a",
        "type": "action",
        "connector": "testkit",
        "action": "echo",
        "inputs": {
            "slice": "{{ secrets.SHORT_TOKEN[:12] }}",
            "upper": "{{ secrets.SHORT_TOKEN | upper }}",
            "nested": {"ref": {"$secret": "SHORT_TOKEN"}},
            "plain": "hello",
        },
    }
    with pytest.raises(WorkflowValidationError) as info:
        make_published(
            slug="transformed",
            rule_spec={},
            trigger_spec={"event_type": "canary.test"},
            graph={
                "nodes": [{"id": "trigger", "type": "trigger"}, node],
                "edges": [{"source": "trigger", "target": "a"}],
            },
        )
    fields = {problem["field"] for problem in info.value.problems}
    assert fields == {"inputs.slice", "inputs.upper"}
    assert "ABCDEFGH" not in str(info.value)
    emit_event("canary.test", {})
    assert not ExecutionRun.objects.exists()
    assert "ABCDEFGH" not in every_row_as_text()
