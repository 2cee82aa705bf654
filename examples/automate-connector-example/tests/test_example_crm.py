"""The example connector's own tests, written with the connector kit (``automate.testing``).

They need the package installed (``pip install -e examples/automate-connector-example``):
the connector must come in through its entry point, as it would in a host project.
"""

from __future__ import annotations

import json
import time
from importlib.metadata import entry_points

import pytest
from django.test import Client

from automate.connectors import (
    ENTRY_POINT_GROUP,
    ConnectorError,
    all_connectors,
    find_trigger,
    get_connector,
)
from automate.testing import (
    RecordingServer,
    assert_no_secret_leak,
    assert_verifies,
    run_action,
    run_context,
)
from automate_connector_example import ExampleCRMConnector, signature_headers

API_KEY = "crm-key-0123456789"
SIGNING_SECRET = "crm-signing-secret-abcdef"
SCHEME = "example_crm.contact_created"


def test_the_entry_point_registers_the_connector_at_start_up():
    [entry] = [e for e in entry_points(group=ENTRY_POINT_GROUP) if e.name == "example_crm"]
    assert entry.load() is ExampleCRMConnector
    adapter = get_connector("example_crm")
    described = adapter.describe()
    assert described["name"] == "Example CRM"
    assert [a["name"] for a in described["actions"]] == ["create_contact"]
    assert described["actions"][0]["secret_fields"] == ["api_key"]
    assert [t["scheme"] for t in described["triggers"]] == [SCHEME]
    assert "example_crm" in [c.code for c in all_connectors()]
    assert find_trigger(SCHEME).spec.sample_payload["contact"]["email"] == "ada@example.com"


def test_create_contact_posts_to_the_crm_with_the_key():
    with RecordingServer() as crm:
        crm.reply(201, {"id": 42})
        with crm.allowed(), crm.as_base_url("example_crm"):
            output = run_action(
                ExampleCRMConnector,
                "create_contact",
                {"api_key": API_KEY, "email": "ada@example.com", "name": "Ada"},
            )
    assert output == {"id": "42", "email": "ada@example.com"}
    [request] = crm.requests
    assert (request.method, request.path) == ("POST", "/contacts")
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.json() == {"email": "ada@example.com", "name": "Ada"}
    assert_no_secret_leak([API_KEY], output)


def test_a_crm_failure_is_retryable_and_never_shows_the_key():
    with RecordingServer() as crm:
        crm.reply(503, {"error": "down"})
        with crm.allowed(), crm.as_base_url("example_crm"), pytest.raises(ConnectorError) as caught:
            run_action(
                ExampleCRMConnector,
                "create_contact",
                {"api_key": API_KEY, "email": "ada@example.com"},
                context=run_context(run_id="r1", node_id="crm"),
            )
    assert caught.value.retryable is True
    assert "503" in caught.value.message
    assert_no_secret_leak({"CRM_API_KEY": API_KEY}, caught.value)


def test_bad_inputs_are_refused_before_any_request():
    with RecordingServer() as crm, crm.allowed(), crm.as_base_url("example_crm"):
        with pytest.raises(ConnectorError) as caught:
            run_action(ExampleCRMConnector, "create_contact", {"api_key": API_KEY})
        assert crm.requests == []
    assert caught.value.code == "invalid_inputs"
    assert_no_secret_leak([API_KEY], caught.value)


def test_the_trigger_verifies_good_deliveries_only():
    body = b'{"id":"evt_1","type":"contact.created"}'
    now = time.time()
    good = signature_headers(SIGNING_SECRET, body, timestamp=int(now))
    kwargs = {"secret": SIGNING_SECRET, "now": now}
    assert_verifies(ExampleCRMConnector, "contact_created", good, body, **kwargs)
    forged = signature_headers("not-the-secret", body, timestamp=int(now))
    assert_verifies(ExampleCRMConnector, "contact_created", forged, body, expected=False, **kwargs)
    tampered = body.replace(b"evt_1", b"evt_2")
    assert_verifies(
        ExampleCRMConnector, "contact_created", good, tampered, expected=False, **kwargs
    )
    old = signature_headers(SIGNING_SECRET, body, timestamp=int(now) - 301)
    assert_verifies(ExampleCRMConnector, "contact_created", old, body, expected=False, **kwargs)


@pytest.mark.django_db(transaction=True)
def test_a_signed_delivery_runs_a_workflow_that_creates_the_contact(monkeypatch):
    """End to end: webhook endpoint on the connector's trigger, a published workflow with
    its action, a worker: the CRM receives the contact of the delivered event."""
    from automate.events.models import Event
    from automate.execution.models import ExecutionRun
    from automate.execution.worker import Worker
    from automate.tenants.models import Tenant
    from automate.workflows.services import create_workflow, publish_version

    monkeypatch.setenv("AUTOMATE_CRM_API_KEY", API_KEY)
    monkeypatch.setenv("AUTOMATE_CRM_SIGNING_SECRET", SIGNING_SECRET)
    tenant = Tenant.objects.create(slug="acme", name="Acme")
    workflow = create_workflow(
        name="New CRM contacts",
        slug="crm-contacts",
        tenant=tenant,
        trigger_spec={
            "event_type": SCHEME,
            "source": "crm",
            "webhook": {"slug": "crm", "scheme": SCHEME, "secret_name": "CRM_SIGNING_SECRET"},
        },
        rule_spec={},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger", "trigger_kind": "webhook"},
                {
                    "id": "copy",
                    "type": "action",
                    "connector": "example_crm",
                    "action": "create_contact",
                    "inputs": {
                        "api_key": {"$secret": "CRM_API_KEY"},
                        "email": "{{ event.payload.contact.email }}",
                    },
                },
            ],
            "edges": [{"source": "trigger", "target": "copy"}],
        },
    )
    publish_version(workflow=workflow)
    body = json.dumps(ExampleCRMConnector.triggers()[0].sample_payload).encode()
    headers = signature_headers(SIGNING_SECRET, body)

    with RecordingServer() as crm, crm.allowed(), crm.as_base_url("example_crm"):
        crm.reply(201, {"id": "c_900"})
        response = Client().post(
            "/hooks/crm/", body, content_type="application/json", headers=headers
        )
        assert response.status_code == 202, response.content
        event = Event.objects.get(pk=response.json()["id"])
        assert event.type == SCHEME
        Worker(worker_id="example", concurrency=1).run_until_idle()
        replay = Client().post(
            "/hooks/crm/", body, content_type="application/json", headers=headers
        )

    run = ExecutionRun.objects.get(event=event)
    assert run.status == "succeeded", run.error if hasattr(run, "error") else run
    [request] = crm.requests
    assert request.json()["email"] == "ada@example.com"
    assert (replay.status_code, replay.json()["duplicate"]) == (200, True)
