import pytest

from automate.workflows.models import Workflow
from tests.factories import (
    PASSWORD,
    login_for,
    make_published,
    make_studio_user,
    make_tenant,
    make_user,
)

pytestmark = pytest.mark.django_db


def test_anonymous_users_are_sent_to_the_studio_login(client):
    response = client.get("/studio/")
    assert response.status_code == 302
    assert response["Location"].startswith("/studio/login/?next=/studio/")
    assert client.get("/").headers["Location"] == "/studio/"


def test_users_without_the_studio_permission_are_refused(client):
    client.force_login(make_user())
    assert client.get("/studio/").status_code == 403
    client.force_login(make_user(perms=["automate.use_studio"]))
    assert client.get("/studio/").status_code == 200


def test_login_page_logs_in_and_reports_bad_passwords(client):
    make_studio_user("ana")
    page = client.get("/studio/login/")
    assert b"Log in to the studio" in page.content
    bad = client.post("/studio/login/", {"username": login_for("ana"), "password": "nope"})
    assert b"didn't match" in bad.content
    ok = client.post("/studio/login/", {"username": login_for("ana"), "password": PASSWORD})
    assert ok.headers["Location"] == "/studio/"


def test_dashboard_lists_only_the_users_tenants_workflows(client):
    mine, theirs = make_tenant("mine"), make_tenant("theirs")
    user = make_studio_user()
    mine.members.add(user)
    make_published(slug="visible", name="Visible flow", tenant=mine)
    make_published(slug="hidden", name="Hidden flow", tenant=theirs)
    client.force_login(user)
    page = client.get("/studio/").content.decode()
    assert "Visible flow" in page
    assert "published v1" in page
    assert "Hidden flow" not in page


def test_wizard_creates_a_workflow_with_a_unique_slug(client):
    client.force_login(make_studio_user())
    assert client.get("/studio/wizard/").status_code == 200
    for _ in range(2):
        response = client.post(
            "/studio/wizard/", {"name": "Big invoices", "event_type": "invoice.paid"}
        )
        assert response.status_code == 302
    slugs = sorted(Workflow.objects.values_list("slug", flat=True))
    assert slugs == ["big-invoices", "big-invoices-2"]
    workflow = Workflow.objects.get(slug="big-invoices")
    assert workflow.draft_trigger_spec == {"event_type": "invoice.paid"}
    assert workflow.draft_graph["nodes"][0]["type"] == "trigger"
    assert workflow.live_version is None


def test_writes_need_csrf(client):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(make_studio_user())
    assert csrf_client.post("/studio/wizard/", {"name": "x"}).status_code == 403
    assert Workflow.objects.count() == 0


def test_dashboard_shows_a_workflow_without_an_event_type(client):
    client.force_login(make_studio_user())
    client.post("/studio/wizard/", {"name": "No trigger yet", "event_type": ""})
    page = client.get("/studio/")
    assert page.status_code == 200
    assert "No trigger yet" in page.content.decode()
    assert "draft" in page.content.decode()
