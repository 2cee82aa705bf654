"""Where people manage or pick secrets, the page says which backend workflows read: a
secret stored in the admin while the env backend is active is otherwise a mystery."""

import pytest
from django.urls import reverse

from automate.workflows.services import create_workflow
from tests.factories import make_studio_user, make_tenant, make_user
from tests.integration.governance.helpers import new_key, use_db_backend

pytestmark = pytest.mark.django_db

CHANGELIST_URL = reverse("admin:automate_storedsecret_changelist")
ADD_URL = reverse("admin:automate_storedsecret_add")
ENV_NOTICE = "Secrets backend: &quot;env&quot; (environment variables AUTOMATE_&lt;NAME&gt;)"
DB_NOTICE = "Secrets backend: &quot;db&quot; (stored secrets, encrypted in the database)"


@pytest.fixture
def admin_client(client):
    client.force_login(make_user(superuser=True))
    return client


def test_the_admin_says_stored_secrets_are_unused_with_the_env_backend(admin_client):
    for url in (CHANGELIST_URL, ADD_URL):
        page = admin_client.get(url).content.decode()
        assert ENV_NOTICE in page
        assert "Stored secrets are used only with" in page


def test_the_admin_says_workflows_use_them_with_the_db_backend(admin_client, monkeypatch, settings):
    use_db_backend(monkeypatch, settings, new_key())
    page = admin_client.get(CHANGELIST_URL).content.decode()
    assert DB_NOTICE in page
    assert "used only with" not in page


def test_the_studio_secret_picker_names_the_active_backend(client, monkeypatch, settings):
    tenant = make_tenant("acme")
    user = make_studio_user()
    tenant.members.add(user)
    client.force_login(user)
    graph = {
        "nodes": [
            {"id": "trigger", "type": "trigger"},
            {"id": "post", "type": "action", "connector": "slack", "action": "post_message"},
        ],
        "edges": [{"source": "trigger", "target": "post"}],
    }
    workflow = create_workflow(name="Alerts", slug="alerts", tenant=tenant, graph=graph)
    url = f"/studio/workflows/{workflow.pk}/nodes/post/panel/"

    page = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert ENV_NOTICE in page

    use_db_backend(monkeypatch, settings, new_key())
    page = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert DB_NOTICE in page
