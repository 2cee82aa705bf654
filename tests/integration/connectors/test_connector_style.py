"""The ``Connector`` style (``actions()`` / ``triggers()`` / ``execute_action``) through the
one registry: registered, in the catalog and the studio, run in a workflow, its trigger
verifying deliveries, its secret fields held to references at publish."""

import hashlib
import hmac
import json
from types import SimpleNamespace

import pytest
from django.test import Client

from automate.connectors import (
    ActionSpec,
    Connector,
    ConnectorAdapter,
    ConnectorRegistrationError,
    TriggerSpec,
    connector_registry,
    find_trigger,
    get_connector,
    load_connectors,
    override,
    registry,
)
from automate.connectors.triggers import scheme_names
from automate.events.models import Event
from automate.execution.models import ExecutionRun, StepRun
from automate.execution.worker import Worker
from automate.triggers.webhook_spec import webhook_problems
from automate.workflows.exceptions import WorkflowValidationError
from automate.workflows.models import Workflow
from automate.workflows.services import publish_version
from tests.factories import make_studio_user, make_tenant, make_workflow

SECRET = "inv-signing-secret-0123"


class Inventory(Connector):
    """Stock levels, in the style of the product docs' extension points."""

    key = "inventory"
    display_name = "Inventory"
    description = "Reserve stock."
    icon = "package"

    @classmethod
    def actions(cls):
        return [
            ActionSpec(
                name="reserve",
                inputs={
                    "sku": {"type": "string", "required": True},
                    "quantity": {"type": "integer", "minimum": 1, "default": 1},
                    "token": {"type": "string", "format": "secret"},
                },
                idempotent=True,
            ),
            ActionSpec(name="count", inputs={}, side_effects=False),
        ]

    @classmethod
    def triggers(cls):
        return [
            TriggerSpec(
                name="stock_low",
                verification_method="hmac",
                event_type="inventory.stock_low",
                sample_payload={"sku": "A-1", "left": 2},
            )
        ]

    def execute_action(self, action, input_data):
        if action == "count":
            return 7  # not a dict: returned as {"result": 7}
        return {
            "reserved": input_data["quantity"],
            "sku": input_data["sku"],
            "key": self.context.idempotency_key,
        }

    def verify_webhook(self, headers, raw_body):
        expected = hmac.new(self.signing_secret.encode(), raw_body, hashlib.sha256).hexdigest()
        given = headers.get("X-Inventory-Signature", "")
        return self.trigger == "stock_low" and hmac.compare_digest(expected, given)


@pytest.fixture
def inventory():
    with override(Inventory):
        yield get_connector("inventory")


def test_a_connector_class_is_registered_as_an_adapter(inventory):
    assert isinstance(inventory, ConnectorAdapter)
    assert (inventory.code, inventory.name, repr(inventory)) == (
        "inventory",
        "Inventory",
        "<Inventory code='inventory'>",
    )
    described = inventory.describe()
    assert [a["name"] for a in described["actions"]] == ["count", "reserve"]
    assert described["actions"][1]["secret_fields"] == ["token"]
    [trigger] = described["triggers"]
    assert trigger["scheme"] == "inventory.stock_low"
    assert trigger["event_type"] == "inventory.stock_low"
    assert trigger["sample_payload"] == {"sku": "A-1", "left": 2}
    # Registering the same class again changes nothing.
    assert connector_registry.register(Inventory) is inventory


def test_it_is_in_the_catalogs_and_its_trigger_is_a_scheme(inventory):
    from automate.copilot.catalog import _action_entries as copilot_actions
    from studio.views.editor import _action_entries as palette

    [group] = [g for g in palette() if g["code"] == "inventory"]
    assert [a["kind"] for a in group["actions"]] == ["inventory.count", "inventory.reserve"]
    assert {(e.connector, e.action) for e in copilot_actions()} >= {("inventory", "reserve")}
    assert "inventory.stock_low" in scheme_names()
    good = {"slug": "stock", "scheme": "inventory.stock_low", "secret_name": "S"}
    assert webhook_problems(good, scheme_names()) == []
    assert webhook_problems(good) != []  # the built-in schemes alone do not have it
    # The trigger-only built-ins stay out of the palette.
    assert not {"stripe", "github"} & {g["code"] for g in palette()}


def test_it_runs_as_the_orchestrator_runs_any_connector(inventory):
    from automate.testing import run_context

    context = run_context(run_id="r1", node_id="n1")
    assert registry.run_action("inventory", "reserve", {"sku": "B-2"}, context) == {
        "reserved": 1,
        "sku": "B-2",
        "key": "r1:n1",
    }
    assert registry.run_action("inventory", "count", {}, context) == {"result": 7}
    assert inventory.has_side_effects("count", {}) is False


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        (lambda cls: ["nope"], "must return ActionSpecs"),
        (lambda cls: [ActionSpec(inputs={})], "needs a name"),
        (lambda cls: [ActionSpec(name="a", inputs={}), ActionSpec(name="a", inputs={})], "twice"),
        (lambda cls: 1 / 0, "failed: division by zero"),
    ],
)
def test_bad_definitions_are_refused_naming_the_class(actions, message):
    bad = type("Bad", (Connector,), {"key": "bad_one", "actions": classmethod(actions)})
    with pytest.raises(ConnectorRegistrationError, match=message) as caught:
        connector_registry.register(bad)
    assert "Bad.actions()" in caught.value.message


def test_an_entry_point_may_load_a_connector_class(monkeypatch):
    entry = SimpleNamespace(name="inventory", value="x:Inventory", load=lambda: Inventory)
    monkeypatch.setattr(registry, "entry_points", lambda group: [entry])
    with override():
        codes = {adapter.code for adapter in load_connectors()}
        assert "inventory" in codes


@pytest.mark.django_db(transaction=True)
def test_a_delivery_on_its_trigger_runs_a_workflow_with_its_action(inventory, monkeypatch):
    monkeypatch.setenv("AUTOMATE_INV_SECRET", SECRET)
    tenant = make_tenant("acme")
    workflow = make_workflow(
        slug="restock",
        tenant=tenant,
        trigger_spec={
            "event_type": "inventory.stock_low",
            "source": "stock",
            "webhook": {
                "slug": "stock",
                "scheme": "inventory.stock_low",
                "secret_name": "INV_SECRET",
            },
        },
        rule_spec={},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger", "trigger_kind": "webhook"},
                {
                    "id": "reserve",
                    "type": "action",
                    "connector": "inventory",
                    "action": "reserve",
                    "inputs": {"sku": "{{ event.payload.sku }}", "quantity": 3},
                },
            ],
            "edges": [{"source": "trigger", "target": "reserve"}],
        },
    )
    publish_version(workflow=workflow)
    body = json.dumps({"sku": "A-1", "left": 2}).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    client = Client()
    forged = client.post(
        "/hooks/stock/",
        body,
        content_type="application/json",
        headers={"X-Inventory-Signature": "0" * 64},
    )
    assert forged.status_code == 401
    response = client.post(
        "/hooks/stock/",
        body,
        content_type="application/json",
        headers={"X-Inventory-Signature": signature},
    )
    assert response.status_code == 202, response.content
    event = Event.objects.get(pk=response.json()["id"])
    assert event.type == "inventory.stock_low"
    Worker(worker_id="style", concurrency=1).run_until_idle()
    run = ExecutionRun.objects.get(event=event)
    assert run.status == "succeeded"
    step = StepRun.objects.get(run=run, node_id="reserve")
    assert (step.outputs["reserved"], step.outputs["sku"]) == (3, "A-1")


@pytest.mark.django_db(transaction=True)
def test_its_secret_fields_must_be_references_at_publish(inventory):
    workflow = make_workflow(
        tenant=make_tenant("acme"),
        trigger_spec={"event_type": "x"},
        rule_spec={},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {
                    "id": "reserve",
                    "type": "action",
                    "connector": "inventory",
                    "action": "reserve",
                    "inputs": {"sku": "A", "token": "literal-token"},
                },
            ],
            "edges": [{"source": "trigger", "target": "reserve"}],
        },
    )
    with pytest.raises(WorkflowValidationError) as caught:
        publish_version(workflow=workflow)
    assert any("token" in p["field"] for p in caught.value.problems)


@pytest.mark.django_db(transaction=True)
def test_the_studio_lists_its_trigger_and_pins_its_sample(inventory):
    tenant = make_tenant("acme")
    user = make_studio_user("ed")
    tenant.members.add(user)
    client = Client()
    client.force_login(user)
    workflow = make_workflow(
        slug="restock",
        tenant=tenant,
        trigger_spec={
            "event_type": "*",
            "webhook": {"slug": "stock", "scheme": "inventory.stock_low", "secret_name": "S"},
        },
        rule_spec={},
        graph={
            "nodes": [{"id": "trigger", "type": "trigger", "trigger_kind": "webhook"}],
            "edges": [],
        },
    )
    base = f"/studio/workflows/{workflow.pk}/nodes/trigger"
    page = client.get(f"{base}/panel/", HTTP_HX_REQUEST="true").content.decode()
    for scheme in ("generic", "stripe", "github", "slack", "inventory.stock_low"):
        assert f'<option value="{scheme}"' in page
    assert 'value="inventory.stock_low" selected' in page
    assert "Inventory: Stock low (hmac)" in page
    assert 'id="btn-pin-sample"' in page
    revision = Workflow.objects.get(pk=workflow.pk).draft_revision
    answer = client.post(
        f"{base}/pin/", {"revision": revision, "source": "sample"}, HTTP_ACCEPT="application/json"
    )
    assert answer.status_code == 200, answer.content
    from automate.workflows.pins import pins_of

    assert pins_of(Workflow.objects.get(pk=workflow.pk))["trigger"].data == {
        "sku": "A-1",
        "left": 2,
    }
    assert find_trigger("inventory.stock_low").adapter is inventory


class Crashing(Inventory):
    key = "crashing"

    def verify_webhook(self, headers, raw_body):
        raise ValueError(f"cannot use {self.signing_secret}")


@pytest.mark.django_db(transaction=True)
def test_a_verification_that_raises_refuses_and_logs_no_secret(monkeypatch, caplog):
    from automate.triggers.models import WebhookEndpoint

    monkeypatch.setenv("AUTOMATE_INV_SECRET", SECRET)
    WebhookEndpoint.objects.create(
        tenant=make_tenant("acme"),
        slug="crash",
        name="crash",
        scheme="crashing.stock_low",
        secret_name="INV_SECRET",
    )
    with override(Crashing):
        response = Client().post("/hooks/crash/", b"{}", content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (401, "invalid_signature")
    assert "verification raised ValueError" in caplog.text
    assert SECRET not in caplog.text
