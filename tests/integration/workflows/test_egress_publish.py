"""Literal URLs are checked against the egress allowlist when a workflow is published, and
the node panel shows the policy under every URL field."""

import html

import pytest
from django.conf import settings
from django.test import Client, override_settings

from automate.workflows.exceptions import WorkflowValidationError
from automate.workflows.models import WorkflowVersion
from automate.workflows.services import publish_version
from tests.factories import make_studio_user, make_tenant, make_workflow

pytestmark = pytest.mark.django_db


def egress(site, tenants=None):
    policy = {"egress_allowlist": site}
    if tenants is not None:
        policy["tenant_egress_allowlists"] = tenants
    return override_settings(DJANGO_AUTOMATE={**settings.DJANGO_AUTOMATE, "POLICY": policy})


def graph_calling(url, *, connector="http", action="request", **inputs):
    base = {"url": url}
    if connector == "webhook":
        base.update(payload={"a": 1}, secret={"$secret": "HOOK"})
    return {
        "nodes": [
            {"id": "trigger", "type": "trigger"},
            {
                "id": "call",
                "type": "action",
                "connector": connector,
                "action": action,
                "inputs": {**base, **inputs},
            },
        ],
        "edges": [{"source": "trigger", "target": "call"}],
    }


def publish(url, *, tenant=None, **kwargs):
    workflow = make_workflow(tenant=tenant or make_tenant(), graph=graph_calling(url, **kwargs))
    return publish_version(workflow=workflow)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/collect",
        "https://EVIL.example./collect",
        "https://stripe.com/v1",  # the apex is not *.stripe.com
        "https://api.stripe.com.evil.example/v1",
        "https://evil.example/{{ event.payload.path }}",  # literal host, templated path
        "http://user:pw@evil.example:8080/?q={{ event.id }}",
    ],
)
def test_a_literal_url_off_the_list_is_refused_at_publish(url):
    with egress(["*.stripe.com"]), pytest.raises(WorkflowValidationError) as caught:
        publish(url)
    [problem] = caught.value.problems
    assert problem["node_id"] == "call"
    assert problem["field"] == "inputs.url"
    assert "POLICY.egress_allowlist" in problem["message"]
    assert "*.stripe.com" in problem["message"]
    assert "pw" not in problem["message"]
    assert WorkflowVersion.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    [
        "https://api.stripe.com/v1/charges",
        "https://API.stripe.com/v1/{{ event.payload.id }}",
        "{{ event.payload.callback_url }}",  # the host is decided at run time: checked then
        "https://{{ event.payload.host }}/x",
    ],
)
def test_allowed_or_templated_hosts_publish(url):
    with egress(["*.stripe.com"]):
        assert publish(url).version_num == 1


def test_the_webhook_connector_url_is_checked_too():
    with egress(["hooks.partner.example"]), pytest.raises(WorkflowValidationError) as caught:
        publish("https://evil.example/hook", connector="webhook", action="post")
    assert "evil.example" in caught.value.problems[0]["message"]


def test_per_tenant_narrowing_at_publish():
    acme, globex = make_tenant("acme"), make_tenant("globex")
    with egress(["*.stripe.com", "hooks.slack.com"], {"acme": ["hooks.slack.com"]}):
        assert publish("https://api.stripe.com/v1", tenant=globex).version_num == 1
        with pytest.raises(WorkflowValidationError) as caught:
            publish("https://api.stripe.com/v1", tenant=acme)
    assert "POLICY.tenant_egress_allowlists['acme']" in caught.value.problems[0]["message"]


def test_without_a_policy_any_url_publishes():
    assert publish("https://anything.example/").version_num == 1


# --- the node panel ---------------------------------------------------------------------------


@pytest.fixture
def studio():
    tenant = make_tenant("acme")
    user = make_studio_user("ana")
    tenant.members.add(user)
    client = Client()
    client.force_login(user)
    workflow = make_workflow(tenant=tenant, graph=graph_calling("https://api.stripe.com/v1"))
    return client, workflow


def panel(client, workflow):
    response = client.get(
        f"/studio/workflows/{workflow.pk}/nodes/call/panel/", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_the_panel_shows_the_policy_under_the_url_field(studio):
    client, workflow = studio
    with egress(["*.stripe.com"]):
        page = panel(client, workflow)
    assert "Allowed hosts: *.stripe.com" in page
    assert page.count("Allowed hosts:") == 1  # under the URL field only
    url_field = page.index('name="input.url"')
    assert (
        url_field < page.index("Allowed hosts: *.stripe.com") < page.index('name="input.headers"')
    )


def test_the_panel_shows_the_tenants_narrowed_policy(studio):
    client, workflow = studio
    with egress(["*"], {"acme": ["api.stripe.com", "hooks.slack.com"]}):
        assert "Allowed hosts: api.stripe.com, hooks.slack.com" in panel(client, workflow)
    with egress(["*.stripe.com", "hooks.slack.com"], {"acme": ["hooks.slack.com"]}):
        page = panel(client, workflow)
    assert "Allowed hosts: hooks.slack.com (and only within *.stripe.com, hooks.slack.com)" in page


def test_no_policy_no_line(studio):
    client, workflow = studio
    assert "Allowed hosts" not in panel(client, workflow)
