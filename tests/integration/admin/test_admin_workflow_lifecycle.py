"""The workflow admin switches workflows on/off and archives/restores them through the
audited services (with the publish permission); archived ones are listed on request."""

import pytest
from django.test import Client

from automate.governance.models import AuditLogEntry
from automate.workflows.models import Workflow
from tests.factories import make_tenant, make_user, make_workflow

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/automate/workflow/"


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(make_user("root", superuser=True))
    return client


def act(client, action, workflow, query=""):
    return client.post(
        CHANGELIST + query, {"action": action, "_selected_action": [workflow.pk]}, follow=True
    )


def test_switch_off_archive_and_restore_from_the_admin(admin_client):
    workflow = make_workflow(slug="flow", name="Flow", tenant=make_tenant("acme"))
    act(admin_client, "deactivate_workflows", workflow)
    assert not Workflow.objects.get(pk=workflow.pk).is_active
    page = act(admin_client, "archive_workflows", workflow).content.decode()
    assert "Archived 1 workflow(s)." in page
    assert Workflow.objects.get(pk=workflow.pk).archived_at is not None
    # Hidden from the default list, shown under "Archived".
    assert 'href="/admin/automate/workflow/' + str(workflow.pk) not in admin_client.get(
        CHANGELIST
    ).content.decode().replace("/change/", "/")
    assert "Flow" in admin_client.get(CHANGELIST + "?archived=yes").content.decode()
    page = act(admin_client, "activate_workflows", workflow, "?archived=yes").content.decode()
    assert "restore it before switching it on" in page
    assert not Workflow.objects.get(pk=workflow.pk).is_active
    act(admin_client, "restore_workflows", workflow, "?archived=yes")
    assert Workflow.objects.get(pk=workflow.pk).archived_at is None
    assert list(
        AuditLogEntry.objects.filter(resource_type="workflow")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["workflow.deactivate", "workflow.archive", "workflow.restore"]


def test_the_change_form_does_not_switch_workflows_unaudited(admin_client):
    workflow = make_workflow(slug="flow", tenant=make_tenant("acme"))
    page = admin_client.get(f"{CHANGELIST}{workflow.pk}/change/").content.decode()
    assert 'name="is_active"' not in page
