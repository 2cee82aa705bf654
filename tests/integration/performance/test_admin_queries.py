"""Every admin change list of the app, its searches and filters, and the change forms of the
big models run the same number of queries with 3 rows as with 30, and that number is
pinned. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from django.urls import reverse

from automate.execution.models import OutboxJob
from tests.factories import make_user
from tests.integration.performance.conftest import assert_flat

pytestmark = pytest.mark.django_db

MODELS = [
    "tenant",
    "event",
    "workflow",
    "workflowversion",
    "outboxjob",
    "executionrun",
    "auditlogentry",
    "storedsecret",
    "webhookendpoint",
    "schedulestate",
    "llmusage",
    "llmbudgetday",
]


@pytest.fixture
def staff(client, world):
    """A tenant's staff member who may view every model of the app."""
    user = make_user(staff=True, perms=[f"automate.view_{model}" for model in MODELS])
    world.tenant.members.add(user)
    client.force_login(user)
    return client


def changelist(model: str, query: str = "") -> str:
    return reverse(f"admin:automate_{model}_changelist") + query


# (name, url built from the world)
LISTS = [
    ("tenant", lambda w: changelist("tenant")),
    ("event", lambda w: changelist("event")),
    ("workflow", lambda w: changelist("workflow")),
    ("workflowversion", lambda w: changelist("workflowversion")),
    ("outboxjob", lambda w: changelist("outboxjob")),
    ("executionrun", lambda w: changelist("executionrun")),
    ("auditlogentry", lambda w: changelist("auditlogentry")),
    ("storedsecret", lambda w: changelist("storedsecret")),
    ("webhookendpoint", lambda w: changelist("webhookendpoint")),
    ("schedulestate", lambda w: changelist("schedulestate")),
    ("llmusage", lambda w: changelist("llmusage")),
    ("llmbudgetday", lambda w: changelist("llmbudgetday")),
    ("runs by trace id", lambda w: changelist("executionrun", f"?q={w.run.trace_id}")),
    ("runs by status", lambda w: changelist("executionrun", "?status__exact=failed")),
    (
        "runs by workflow",
        lambda w: changelist("executionrun", f"?workflow={w.workflow.pk}"),
    ),
    ("events by id", lambda w: changelist("event", f"?q={w.event.pk}")),
    ("dead jobs", lambda w: changelist("outboxjob", "?status__exact=DEAD")),
]


def change(model: str, pk: object) -> str:
    return reverse(f"admin:automate_{model}_change", args=[pk])


FORMS = [
    ("tenant form", lambda w: change("tenant", w.tenant.pk)),
    ("event form", lambda w: change("event", w.event.pk)),
    ("workflow (versions inline)", lambda w: change("workflow", w.workflow.pk)),
    ("workflowversion form", lambda w: change("workflowversion", w.version.pk)),
    ("outboxjob form", lambda w: change("outboxjob", OutboxJob.objects.order_by("pk").first().pk)),
    ("executionrun (steps inline)", lambda w: change("executionrun", w.run.pk)),
]

PAGES = LISTS + FORMS
IDS = [page[0] for page in PAGES]

#: Queries per page: (for a superuser, for a tenant's staff member). A request starts with
#: 2 (session, user); staff add 2 (their permissions) and 1 (their tenants, read once).
EXPECTED = {
    "tenant": (4, 7),
    "event": (5, 8),
    "workflow": (5, 8),
    "workflowversion": (5, 8),
    "outboxjob": (4, 7),
    "executionrun": (5, 8),
    "auditlogentry": (6, 9),
    "storedsecret": (7, 10),
    "webhookendpoint": (5, 8),
    "schedulestate": (4, 7),
    "llmusage": (6, 9),
    "llmbudgetday": (7, 10),
    "runs by trace id": (5, 8),
    "runs by status": (5, 8),
    "runs by workflow": (6, 9),
    "events by id": (5, 8),
    "dead jobs": (4, 7),
    "tenant form": (5, 7),
    "event form": (4, 7),
    # (+1: the error workflow select lists the tenant's workflows, JSON columns deferred)
    "workflow (versions inline)": (8, 10),
    "workflowversion form": (4, 7),
    "outboxjob form": (5, 8),
    "executionrun (steps inline)": (8, 10),
}


@pytest.mark.parametrize(("name", "url"), PAGES, ids=IDS)
def test_admin_page_queries_of_a_superuser_do_not_grow_with_rows(world, superuser, name, url):
    assert_flat(world, superuser, lambda: url(world), EXPECTED[name][0])


@pytest.mark.parametrize(("name", "url"), PAGES, ids=IDS)
def test_admin_page_queries_of_tenant_staff_do_not_grow_with_rows(world, staff, name, url):
    assert_flat(world, staff, lambda: url(world), EXPECTED[name][1])
