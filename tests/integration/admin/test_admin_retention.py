"""A workflow's own retention is set in the admin, checked and audited."""

import json

import pytest
from django.urls import reverse

from automate.governance.models import AuditLogEntry
from automate.workflows.models import Workflow
from tests.factories import make_user, make_workflow

pytestmark = pytest.mark.django_db


def change(client, workflow, retention_days):
    return client.post(
        reverse("admin:automate_workflow_change", args=[workflow.pk]),
        {
            "tenant": workflow.tenant_id,
            "slug": workflow.slug,
            "name": workflow.name,
            "description": "",
            "draft_trigger_spec": json.dumps(workflow.draft_trigger_spec),
            "draft_rule_spec": json.dumps(workflow.draft_rule_spec),
            "draft_graph": json.dumps(workflow.draft_graph),
            "retention_days": retention_days,
            "notify_quiet_minutes": "0",
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
        },
    )


def test_retention_days_are_edited_in_the_admin_and_audited(client):
    admin = make_user("boss", superuser=True)
    client.force_login(admin)
    workflow = make_workflow(slug="sync")

    page = client.get(reverse("admin:automate_workflow_change", args=[workflow.pk]))
    assert 'name="retention_days"' in page.content.decode()

    assert change(client, workflow, "7").status_code == 302
    workflow.refresh_from_db()
    assert workflow.retention_days == 7
    entry = AuditLogEntry.objects.get(action="workflow.retention")
    assert entry.resource_id == str(workflow.pk)
    assert entry.details == {"slug": "sync", "from_days": None, "to_days": 7}
    assert entry.actor_id == admin.pk

    # Emptied: back to the site's RETENTION["runs_days"], audited too.
    assert change(client, workflow, "").status_code == 302
    assert Workflow.objects.get(pk=workflow.pk).retention_days is None
    assert AuditLogEntry.objects.filter(action="workflow.retention").count() == 2

    # Saving without changing it records nothing more.
    assert change(client, workflow, "").status_code == 302
    assert AuditLogEntry.objects.filter(action="workflow.retention").count() == 2


@pytest.mark.parametrize("bad", ["0", "-3", "soon"])
def test_bad_retention_days_are_refused(client, bad):
    client.force_login(make_user("boss", superuser=True))
    workflow = make_workflow(slug="sync")
    page = change(client, workflow, bad)
    assert page.status_code == 200
    assert "errorlist" in page.content.decode()
    assert Workflow.objects.get(pk=workflow.pk).retention_days is None
    assert not AuditLogEntry.objects.filter(action="workflow.retention").exists()
