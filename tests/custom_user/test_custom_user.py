"""The app under a custom user model: email is the login, there is no ``username``.

Collected only by the custom-user tier (``--ds=tests.custom_user.settings``), with the
studio, admin, API, command and audit tests it runs under the same model."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.core.management import call_command
from django.test import Client, override_settings

from automate.governance.models import AuditLogEntry
from automate.workflows.models import WorkflowVersion
from tests.factories import PASSWORD, STUDIO_PERMS, make_tenant, make_user, make_workflow

pytestmark = pytest.mark.django_db


def test_the_tier_runs_with_the_email_user_model():
    User = get_user_model()
    assert User._meta.label == "custom_user.EmailUser"
    with pytest.raises(FieldDoesNotExist):
        User._meta.get_field("username")
    assert make_user("ana").get_username() == "ana@example.com"


def test_an_email_user_signs_in_publishes_and_is_named_in_history_and_audit():
    tenant = make_tenant("acme")
    author = make_user("ana", perms=STUDIO_PERMS)
    tenant.members.add(author)
    workflow = make_workflow(slug="flow", tenant=tenant)
    client = Client()
    signed_in = client.post(
        "/studio/login/", {"username": "ana@example.com", "password": PASSWORD}, follow=True
    )
    page = signed_in.content.decode()
    assert "ana@example.com" in page  # the header names the user by get_username()
    login_page = Client().get("/studio/login/").content.decode()
    assert "Email address" in login_page  # the login field is labelled for the model

    published = client.post(f"/studio/workflows/{workflow.pk}/publish/", HTTP_HX_REQUEST="true")
    assert published.status_code == 200
    version = WorkflowVersion.objects.get(workflow=workflow)
    assert version.published_by == author
    entry = AuditLogEntry.objects.get(action="workflow.publish")
    assert entry.actor == author
    assert entry.actor_repr == "ana@example.com"
    history = client.get(f"/studio/workflows/{workflow.pk}/history/").content.decode()
    assert "ana@example.com" in history


@override_settings(DEBUG=True)
def test_the_demo_user_is_created_with_an_email_login(tmp_path, settings, monkeypatch):
    settings.VAR_DIR = tmp_path
    # As in test_commands: publishing the demo checks that its Slack secret exists.
    monkeypatch.setenv("AUTOMATE_SLACK_TOKEN", "xoxb-demo-sandbox-not-a-real-token")
    out = StringIO()
    call_command("automate_demo", stdout=out)
    password = (tmp_path / "demo_credentials").read_text().strip()
    assert f"demo@example.com / {password}" in out.getvalue()
    client = Client()
    assert client.login(username="demo@example.com", password=password)
    assert client.get("/studio/").status_code == 200
    assert client.get("/admin/automate/workflow/").status_code == 200
