from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from automate.events.models import Event
from automate.management.commands.automate_demo import demo_login
from automate.workflows.models import Workflow

pytestmark = pytest.mark.django_db


def test_migrations_match_the_models():
    call_command("makemigrations", "automate", "--check", "--dry-run", stdout=StringIO())


@override_settings(DEBUG=True)
def test_demo_creates_a_working_login_a_live_workflow_and_sample_events(
    tmp_path, settings, monkeypatch
):
    settings.VAR_DIR = tmp_path
    # DJANGO_DEBUG=1 sets it in the site's settings; publishing checks the secret exists.
    monkeypatch.setenv("AUTOMATE_SLACK_TOKEN", "xoxb-demo-sandbox-not-a-real-token")
    out = StringIO()
    call_command("automate_demo", stdout=out)
    password = (tmp_path / "demo_credentials").read_text().strip()
    login = demo_login(get_user_model())  # "demo", or "demo@example.com" for an email user
    assert f"{login} / {password}" in out.getvalue()
    assert len(password) >= 12
    assert authenticate(username=login, password=password) is not None

    workflow = Workflow.objects.get(slug="invoice-paid-to-slack")
    assert workflow.live_version.version_num == 1
    assert workflow.live_version.compiled_rule.evaluate({"data": {"object": {"amount_paid": 2500}}})
    assert Event.objects.filter(type="invoice.paid", source="stripe").count() == 5

    # Running it again keeps the same password and adds nothing.
    call_command("automate_demo", stdout=StringIO())
    assert authenticate(username=login, password=password) is not None
    assert Event.objects.count() == 5
    assert Workflow.objects.count() == 1


@override_settings(DEBUG=False)
def test_demo_refuses_to_run_in_production():
    with pytest.raises(CommandError, match="for development"):
        call_command("automate_demo")


def test_raw_bodies_are_not_stored_by_default():
    from automate.events.services import record_event

    event, _ = record_event(type="x", payload={"a": 1}, raw_body=b'{"a": 1}')
    event.refresh_from_db()
    assert event.raw_body is None
