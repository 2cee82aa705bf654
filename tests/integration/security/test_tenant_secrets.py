"""Secrets belong to a tenant: tenant B's users and workflows never get tenant A's secret
(runs, "Test this step", the secret picker, webhook verification), A's own secret still
resolves for A, and no page, audit row or stored step shows a secret in any derived form.
"""

import base64
import html
import json

import pytest
from django.test import Client

from automate.events.models import Event
from automate.execution.models import ExecutionRun
from automate.governance.models import AuditLogEntry
from automate.governance.secret_store import create_secret
from automate.runtime import emit_event
from automate.triggers.models import WebhookEndpoint
from automate.webhooks import stripe_signature_header
from automate.workflows.models import Workflow
from tests.factories import make_published, make_studio_user, make_tenant, make_workflow
from tests.integration.governance.helpers import canary_value, dump_every_row, new_key
from tests.integration.governance.helpers import use_db_backend as _use_db_backend

pytestmark = pytest.mark.django_db


def derived_forms(value):
    """Every spelling of ``value`` that must never reach a user: the issue's list."""
    forms = {
        value,
        value.upper(),
        value.lower(),
        value[::-1],
        value.title(),
        base64.b64encode(value.encode()).decode(),
        base64.urlsafe_b64encode(value.encode()).decode(),
        " ".join(value),
        str(list(value)),
        value[:9],
        value[9:],
    }
    for user in ("u", "us", "use", "admin"):
        forms.add(base64.b64encode(f"{user}:{value}".encode()).decode())
    return forms


def leaked(text, value):
    return sorted(form for form in derived_forms(value) if form in text)


@pytest.fixture
def site(monkeypatch, settings):
    """Two tenants with stored secrets (the db backend), each with a studio-only user."""
    _use_db_backend(monkeypatch, settings, new_key())
    alpha, beta = make_tenant("alpha"), make_tenant("beta")
    values = {
        "alpha_token": canary_value("alpha-token"),
        "alpha_only": canary_value("alpha-only"),
        "alpha_hook": canary_value("alpha-hook"),
        "beta_token": canary_value("beta-token"),
        "beta_hook": canary_value("beta-hook"),
    }
    create_secret("API_TOKEN", values["alpha_token"], tenant=alpha)
    create_secret("ALPHA_ONLY", values["alpha_only"], tenant=alpha)
    create_secret("HOOK_SECRET", values["alpha_hook"], tenant=alpha)
    create_secret("API_TOKEN", values["beta_token"], tenant=beta)
    create_secret("BETA_ONLY", values["beta_token"] + "-b", tenant="beta")
    users = {}
    for tenant in (alpha, beta):
        user = make_studio_user(f"{tenant.slug}-editor")
        tenant.members.add(user)
        client = Client()
        client.force_login(user)
        users[tenant.slug] = client
    return {"alpha": alpha, "beta": beta, "values": values, "clients": users}


def step_test(client, workflow, node_id, payload="{}"):
    response = client.post(
        f"/studio/workflows/{workflow.pk}/nodes/{node_id}/test/",
        {"payload": payload},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def transform_workflow(tenant, inputs, slug="probe"):
    graph = {
        "nodes": [
            {"id": "trigger", "type": "trigger"},
            {"id": "probe", "type": "transform", "inputs": inputs},
        ],
        "edges": [{"source": "trigger", "target": "probe"}],
    }
    # Saving, publishing and importing refuse a transformed secret (tests/unit/templates);
    # written straight to the draft, as a draft stored before those checks would be, the
    # template must still not reveal anything when it runs.
    workflow = make_workflow(slug=slug, tenant=tenant)
    Workflow.objects.filter(pk=workflow.pk).update(draft_graph=graph)
    workflow.refresh_from_db()
    return workflow


def audit_text():
    return json.dumps(list(AuditLogEntry.objects.values("action", "details")))


# The transformations of the issue, each applied to another tenant's secret.
ATTACKS = [
    "{{ secrets.ALPHA_ONLY }}",
    "{{ secrets.ALPHA_ONLY|reverse }}",
    "{{ secrets.ALPHA_ONLY|upper }}",
    "{{ secrets.ALPHA_ONLY|b64encode }}",
    "{{ secrets.ALPHA_ONLY|list }}",
    "{{ secrets.ALPHA_ONLY|join(' ') }}",
    "{{ secrets.ALPHA_ONLY[:9] }}",
    "{{ secrets.ALPHA_ONLY[9:] }}",
    "{{ secrets['ALPHA_ONLY'] }}",
    "{{ secrets.HOOK_SECRET }}",
    "{{ secrets.API_TOKEN and secrets['ALPHA' ~ event.payload.n] }}",
    {"$secret": "ALPHA_ONLY"},
    "$secret:HOOK_SECRET",
]


@pytest.mark.parametrize("attack", ATTACKS, ids=[str(a) for a in ATTACKS])
def test_tenant_b_cannot_test_a_step_that_reads_tenant_a_secret(site, attack):
    workflow = transform_workflow(site["beta"], {"out": attack})
    page = step_test(site["clients"]["beta"], workflow, "probe", '{"n": "_ONLY"}')
    assert "Failed" in page
    for value in ("alpha_token", "alpha_only", "alpha_hook"):
        assert leaked(page, site["values"][value]) == []
        assert leaked(audit_text(), site["values"][value]) == []
    entry = AuditLogEntry.objects.get(action="studio.test_step")
    assert entry.details["ok"] is False


def test_the_refusal_says_the_tenant_has_no_such_secret(site):
    workflow = transform_workflow(site["beta"], {"out": "{{ secrets.ALPHA_ONLY }}"})
    page = step_test(site["clients"]["beta"], workflow, "probe")
    assert 'Tenant "beta" has no stored secret of this name' in page


@pytest.mark.parametrize(
    "template",
    [
        "{{ secrets.API_TOKEN }}",
        "{{ secrets.API_TOKEN|reverse }}",
        "{{ secrets.API_TOKEN|upper }}",
        "{{ secrets.API_TOKEN|lower }}",
        "{{ secrets.API_TOKEN|b64encode }}",
        "{{ secrets.API_TOKEN|list }}",
        "{{ secrets.API_TOKEN|join(' ') }}",
        "{{ secrets.API_TOKEN[:9] }}",
        "{{ secrets.API_TOKEN[9:] }}",
        {"$secret": "API_TOKEN"},
    ],
    ids=str,
)
def test_a_tenant_never_reads_its_own_secret_back_from_a_step_test(site, template):
    """Whether the template is refused or rendered, no form of the value reaches the page
    or the audit log: the step test masks exactly as a real run does."""
    workflow = transform_workflow(site["alpha"], {"out": template, "plain": "visible"})
    page = step_test(site["clients"]["alpha"], workflow, "probe")
    assert leaked(page, site["values"]["alpha_token"]) == []
    assert leaked(audit_text(), site["values"]["alpha_token"]) == []
    assert leaked(page, site["values"]["beta_token"]) == []


@pytest.mark.django_db(transaction=True)  # runs start on commit
def test_each_tenant_resolves_its_own_secret_of_the_same_name(site, monkeypatch):
    for slug in ("alpha", "beta"):
        make_published(
            slug=f"echo-{slug}",
            tenant=site[slug],
            rule_spec={},
            trigger_spec={"event_type": "probe.run"},
            graph={
                "nodes": [
                    {"id": "trigger", "type": "trigger"},
                    {
                        "id": "call",
                        "type": "action",
                        "connector": "testkit",
                        "action": "echo",
                        "inputs": {"token": {"$secret": "API_TOKEN"}},
                    },
                ],
                "edges": [{"source": "trigger", "target": "call"}],
            },
        )
    from tests.support import connectors

    captured = []
    original = connectors.TestKitConnector.execute

    def spy(self, action, params, context):
        captured.append((context.tenant, params["token"], dict(context.secrets)))
        return original(self, action, params, context)

    monkeypatch.setattr(connectors.TestKitConnector, "execute", spy)
    for slug in ("alpha", "beta"):
        emit_event("probe.run", {}, tenant=site[slug])
    seen = {tenant: token for tenant, token, _ in captured}
    assert seen == {
        "alpha": site["values"]["alpha_token"],
        "beta": site["values"]["beta_token"],
    }
    assert {run.status for run in ExecutionRun.objects.all()} == {"succeeded"}
    dump = dump_every_row()
    for value in site["values"].values():
        assert leaked(dump, value) == []


@pytest.mark.django_db(transaction=True)
def test_a_run_of_tenant_b_cannot_resolve_tenant_a_secret(site, monkeypatch):
    # Publish now refuses such a step (tests/integration/workflows/test_publish_secrets.py);
    # this is a version published while the secret was still there, run after it went.
    monkeypatch.setattr(
        "automate.workflows.services.unresolvable_secret_problems", lambda **kwargs: []
    )
    make_published(
        slug="steal",
        tenant=site["beta"],
        rule_spec={},
        trigger_spec={"event_type": "probe.run"},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {
                    "id": "call",
                    "type": "action",
                    "connector": "testkit",
                    "action": "echo",
                    "retry": {"max_retries": 0},
                    "inputs": {"a": {"$secret": "ALPHA_ONLY"}, "b": "{{ secrets.HOOK_SECRET }}"},
                },
            ],
            "edges": [{"source": "trigger", "target": "call"}],
        },
    )
    emit_event("probe.run", {}, tenant=site["beta"])
    run = ExecutionRun.objects.get()
    step = run.steps.get(node_id="call")
    assert run.status == "failed"
    assert step.status == "failed"
    assert "ALPHA_ONLY" in step.error or "HOOK_SECRET" in step.error
    dump = dump_every_row()
    for value in ("alpha_only", "alpha_hook"):
        assert leaked(dump, site["values"][value]) == []


def test_the_secret_picker_lists_only_the_tenant_own_names(site):
    pages = {}
    for slug in ("alpha", "beta"):
        graph = {
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {
                    "id": "slack",
                    "type": "action",
                    "connector": "slack",
                    "action": "post_message",
                    "inputs": {"token": {"$secret": "API_TOKEN"}, "channel": "#x", "text": "t"},
                },
            ],
            "edges": [{"source": "trigger", "target": "slack"}],
        }
        workflow = make_workflow(slug=f"pick-{slug}", tenant=site[slug], graph=graph)
        response = site["clients"][slug].get(
            f"/studio/workflows/{workflow.pk}/nodes/slack/panel/", HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 200
        pages[slug] = response.content.decode()
    assert '<option value="ALPHA_ONLY"' in pages["alpha"]
    assert '<option value="HOOK_SECRET"' in pages["alpha"]
    assert '<option value="API_TOKEN"' in pages["alpha"]
    assert '<option value="BETA_ONLY"' not in pages["alpha"]
    assert '<option value="BETA_ONLY"' in pages["beta"]
    assert '<option value="API_TOKEN"' in pages["beta"]
    assert "ALPHA_ONLY" not in pages["beta"]
    assert "HOOK_SECRET" not in pages["beta"]


def test_a_webhook_endpoint_verifies_with_its_own_tenant_secret_only(site, client):
    for tenant, slug in ((site["alpha"], "alpha-hook"), (site["beta"], "beta-hook")):
        WebhookEndpoint.objects.create(
            tenant=tenant,
            slug=slug,
            name=slug,
            scheme="stripe",
            secret_name="HOOK_SECRET",
            source="stripe",
        )
    body = json.dumps({"id": "evt_1", "type": "invoice.paid"}).encode()

    def post(slug, secret):
        return client.post(
            f"/hooks/{slug}/",
            body,
            content_type="application/json",
            headers={"Stripe-Signature": stripe_signature_header(secret, body)},
        )

    alpha_secret = site["values"]["alpha_hook"]
    # Beta has no HOOK_SECRET of its own: alpha's never verifies beta's endpoint.
    refused = post("beta-hook", alpha_secret)
    assert refused.status_code in (401, 404, 503)
    assert not Event.objects.filter(tenant=site["beta"]).exists()
    assert leaked(refused.content.decode(), alpha_secret) == []
    # Once beta has its own, alpha's value still forges nothing.
    create_secret("HOOK_SECRET", site["values"]["beta_hook"], tenant=site["beta"])
    assert post("beta-hook", alpha_secret).status_code == 401
    assert post("beta-hook", site["values"]["beta_hook"]).status_code == 202
    assert post("alpha-hook", site["values"]["beta_hook"]).status_code == 401
    accepted = post("alpha-hook", alpha_secret)
    assert accepted.status_code in (200, 202)
    assert Event.objects.filter(tenant=site["alpha"]).count() == 1


def test_saving_a_panel_of_tenant_b_does_not_unlock_tenant_a_secret(site):
    workflow = transform_workflow(site["beta"], {"out": "x"})
    client = site["clients"]["beta"]
    client.post(
        f"/studio/workflows/{workflow.pk}/nodes/probe/panel/",
        {"mapping": json.dumps({"out": "{{ secrets.ALPHA_ONLY }}"})},
        HTTP_HX_REQUEST="true",
    )
    workflow = Workflow.objects.get(pk=workflow.pk)
    page = step_test(client, workflow, "probe")
    assert "Failed" in page
    assert leaked(page, site["values"]["alpha_only"]) == []
