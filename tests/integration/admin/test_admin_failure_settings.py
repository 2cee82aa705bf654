"""The workflow admin edits the failure settings with the studio's rules: error workflow
choices of the user's tenants, the same tenant and not itself, audited."""

import json

import pytest
from django.contrib import admin
from django.test import RequestFactory

from automate.governance.models import AuditLogEntry
from automate.workflows.models import Workflow
from tests.factories import make_tenant, make_user, make_workflow

pytestmark = pytest.mark.django_db


def form_for(user, workflow, **changes):
    request = RequestFactory().post("/")
    request.user = user
    model_admin = admin.site._registry[Workflow]
    form_class = model_admin.get_form(request, workflow, change=True)
    data = {
        "tenant": workflow.tenant_id,
        "slug": workflow.slug,
        "name": workflow.name,
        "description": "",
        "draft_trigger_spec": json.dumps(workflow.draft_trigger_spec),
        "draft_rule_spec": json.dumps(workflow.draft_rule_spec),
        "draft_graph": json.dumps(workflow.draft_graph),
        "error_workflow": "",
        "notify_slack_channel": "",
        "notify_slack_token_secret": "",
        "notify_email_to": "",
        "notify_quiet_minutes": "0",
        **changes,
    }
    return request, model_admin, form_class(data, instance=workflow)


@pytest.fixture
def world():
    alpha, bravo = make_tenant("alpha"), make_tenant("bravo")
    ours = make_workflow(slug="ours", tenant=alpha)
    handler = make_workflow(slug="handler", tenant=alpha)
    theirs = make_workflow(slug="theirs", tenant=bravo)
    staff = make_user(staff=True, perms=["automate.view_workflow", "automate.change_workflow"])
    alpha.members.add(staff)
    return ours, handler, theirs, staff


def test_choices_are_the_users_tenants_workflows(world):
    ours, _, _, staff = world
    _, _, form = form_for(staff, ours)
    choices = set(form.fields["error_workflow"].queryset.values_list("slug", flat=True))
    assert "handler" in choices
    assert "theirs" not in choices


def test_a_valid_change_is_saved_and_audited(world):
    ours, handler, _, staff = world
    request, model_admin, form = form_for(
        staff, ours, error_workflow=str(handler.pk), notify_email_to="ops@example.com"
    )
    assert form.is_valid(), form.errors
    model_admin.save_model(request, form.save(commit=False), form, change=True)
    ours.refresh_from_db()
    assert ours.error_workflow_id == handler.pk
    entry = AuditLogEntry.objects.get(action="workflow.failure_settings")
    assert entry.details["changed"]["error_workflow"] == {"old": None, "new": handler.pk}
    assert entry.details["changed"]["notify_email_to"]["new"] == "ops@example.com"


def test_another_tenants_workflow_or_itself_is_refused(world):
    ours, _, theirs, _ = world
    superuser = make_user(superuser=True, staff=True)
    _, _, form = form_for(superuser, ours, error_workflow=str(theirs.pk))
    assert not form.is_valid()
    assert "same tenant" in str(form.errors["error_workflow"])
    _, _, form = form_for(superuser, ours, error_workflow=str(ours.pk))
    assert not form.is_valid()
    assert "its own error workflow" in str(form.errors["error_workflow"])


def test_bad_notification_values_are_refused(world):
    ours, _, _, staff = world
    _, _, form = form_for(staff, ours, notify_slack_channel="#ops", notify_email_to="nope")
    assert not form.is_valid()
    assert "bot token" in str(form.errors["notify_slack_channel"])
    assert "not an email address" in str(form.errors["notify_email_to"])
