"""An update through the django_model connector moves the model's ``auto_now`` columns.

``save(update_fields=…)`` writes an ``auto_now`` field only when it is named; the
connector names it, so "last modified" orderings (the demo's customer list) stay right.
"""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from automate.connectors import ExecutionContext
from automate.connectors.builtins.django_model import DjangoModelConnector
from automate.workflows.models import Workflow
from demo_crm.models import Customer
from tests.factories import make_tenant, make_workflow

pytestmark = pytest.mark.django_db

ALLOWED = override_settings(
    DJANGO_AUTOMATE={
        "CONNECTOR_OPTIONS": {
            "django_model": {
                "models": [
                    {"model": "demo_crm.Customer", "tenant_field": "tenant"},
                    {"model": "automate.Workflow", "tenant_field": "tenant"},
                ]
            }
        }
    }
)
LONG_AGO = timezone.now() - timedelta(days=30)


def run(tenant, action, params):
    ctx = ExecutionContext(run_id="run-1", node_id="save", tenant=tenant.slug)
    return DjangoModelConnector().run(action, params, ctx)


def aged(queryset):
    """Rows last modified a month ago (``update()`` skips ``auto_now``, as a migration would)."""
    queryset.update(updated_at=LONG_AGO)


@ALLOWED
@pytest.mark.parametrize("action", ["update", "update_or_create"])
def test_updating_a_customer_moves_it_to_the_top_of_the_list(action):
    tenant = make_tenant("acme")
    old = Customer.objects.create(tenant=tenant, stripe_id="cus_old", email="old@example.com")
    Customer.objects.create(tenant=tenant, stripe_id="cus_new", email="new@example.com")
    aged(Customer.objects.filter(pk=old.pk))
    before = timezone.now()

    output = run(
        tenant,
        action,
        {
            "model": "demo_crm.Customer",
            "lookup": {"stripe_id": "cus_old"},
            "fields": {"last_invoice": "in_2"},
        },
    )

    old.refresh_from_db()
    assert old.updated_at >= before
    assert output["fields"]["updated_at"] == old.updated_at.isoformat()
    assert list(Customer.objects.values_list("stripe_id", flat=True)) == ["cus_old", "cus_new"]
    assert old.last_invoice == "in_2"


@ALLOWED
def test_an_update_without_fields_still_marks_the_row_modified():
    tenant = make_tenant("acme")
    workflow = make_workflow(tenant=tenant, slug="orders")
    aged(Workflow.objects.filter(pk=workflow.pk))
    before = timezone.now()

    run(
        tenant, "update", {"model": "automate.Workflow", "lookup": {"slug": "orders"}, "fields": {}}
    )

    workflow.refresh_from_db()
    assert workflow.updated_at >= before


@ALLOWED
def test_an_update_writes_only_the_named_fields_and_the_modified_time():
    tenant = make_tenant("acme")
    workflow = make_workflow(tenant=tenant, slug="orders", name="Orders")
    aged(Workflow.objects.filter(pk=workflow.pk))
    # Changed behind the connector's back after it loaded the row: must survive.
    stale = Workflow.objects.get(pk=workflow.pk)
    Workflow.objects.filter(pk=workflow.pk).update(name="Renamed elsewhere")
    created_at = stale.created_at

    run(
        tenant,
        "update",
        {
            "model": "automate.Workflow",
            "lookup": {"slug": "orders"},
            "fields": {"description": "x"},
        },
    )

    workflow.refresh_from_db()
    assert workflow.description == "x"
    assert workflow.name == "Renamed elsewhere"
    assert workflow.created_at == created_at
    assert workflow.updated_at > LONG_AGO


@ALLOWED
def test_finding_an_existing_row_does_not_mark_it_modified():
    tenant = make_tenant("acme")
    found = Customer.objects.create(tenant=tenant, stripe_id="cus_1")
    aged(Customer.objects.filter(pk=found.pk))

    run(
        tenant,
        "get_or_create",
        {"model": "demo_crm.Customer", "lookup": {"stripe_id": "cus_1"}, "fields": {}},
    )

    found.refresh_from_db()
    assert found.updated_at == LONG_AGO
