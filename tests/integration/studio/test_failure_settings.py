"""The editor's "When a run fails" panel and the explorer's links between a failed run and
its error workflow's run (tenant-scoped, permission-checked, audited)."""

import html

import pytest
from django.test import Client

from automate.execution.models import ExecutionRun
from automate.governance.models import AuditLogEntry
from automate.runtime import emit_event
from automate.workflows.models import Workflow
from tests.factories import make_studio_user, make_tenant, make_user
from tests.integration.failures.test_error_workflow import failing, handler

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tenant():
    return make_tenant("acme")


@pytest.fixture
def client(tenant):
    user = make_studio_user("ana")
    tenant.members.add(user)
    client = Client()
    client.force_login(user)
    return client


def page(response):
    return html.unescape(response.content.decode())


def url(workflow):
    return f"/studio/workflows/{workflow.pk}/failure-settings/"


def test_the_panel_offers_the_tenants_other_workflows_only(client, tenant):
    billing, on_failure = failing(tenant=tenant), handler(tenant=tenant)
    handler(slug="elsewhere", tenant=make_tenant("other"))
    editor = page(client.get(f"/studio/workflows/{billing.pk}/"))
    assert 'id="open-failure-settings"' in editor
    assert url(billing) in editor
    panel = page(client.get(url(billing), HTTP_HX_REQUEST="true"))
    assert "When a run fails" in panel
    assert f'<option value="{on_failure.pk}">{on_failure.name}</option>' in panel
    assert f'<option value="{billing.pk}"' not in panel  # not itself
    assert "elsewhere" not in panel.lower()


def test_saving_sets_the_error_workflow_and_audits_it(client, tenant):
    billing, on_failure = failing(tenant=tenant), handler(tenant=tenant)
    response = client.post(
        url(billing),
        {"error_workflow": on_failure.pk, "notify_email_to": "ops@example.com"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Saved." in page(response)
    billing.refresh_from_db()
    assert billing.error_workflow_id == on_failure.pk
    assert billing.notify_email_to == "ops@example.com"
    entry = AuditLogEntry.objects.get(action="workflow.failure_settings")
    assert entry.actor_repr == "ana"


def test_another_tenants_workflow_is_refused_with_a_400_and_nothing_saved(client, tenant):
    billing = failing(tenant=tenant)
    elsewhere = handler(slug="elsewhere", tenant=make_tenant("other"))
    response = client.post(url(billing), {"error_workflow": elsewhere.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    body = page(response)
    assert "Nothing was saved" in body
    assert "No such workflow in this workflow's tenant." in body
    assert Workflow.objects.get(pk=billing.pk).error_workflow_id is None
    assert not AuditLogEntry.objects.filter(action="workflow.failure_settings").exists()


def test_bad_values_are_shown_next_to_their_fields(client, tenant):
    billing = failing(tenant=tenant)
    response = client.post(
        url(billing),
        {"notify_email_to": "nope", "notify_quiet_minutes": "soon", "error_workflow": "x"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    body = page(response)
    assert body.count("Enter a whole number.") == 2
    # The typed values stay in the form.
    assert 'value="nope"' in body


def test_another_tenants_workflow_panel_is_a_404(client):
    elsewhere = handler(slug="elsewhere", tenant=make_tenant("other"))
    assert client.get(url(elsewhere)).status_code == 404
    assert client.post(url(elsewhere), {}).status_code == 404


def test_saving_needs_the_publish_permission(tenant):
    billing, on_failure = failing(tenant=tenant), handler(tenant=tenant)
    viewer = make_user("vic", perms=["automate.use_studio", "automate.change_workflow"])
    tenant.members.add(viewer)
    client = Client()
    client.force_login(viewer)
    assert client.get(url(billing), HTTP_HX_REQUEST="true").status_code == 200
    response = client.post(url(billing), {"error_workflow": on_failure.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert Workflow.objects.get(pk=billing.pk).error_workflow_id is None


def test_the_failed_run_and_the_error_run_link_to_each_other(client, tenant):
    billing, on_failure = failing(tenant=tenant), handler(tenant=tenant)
    client.post(url(billing), {"error_workflow": on_failure.pk}, HTTP_HX_REQUEST="true")
    emit_event("invoice.paid", {"id": "in_1"}, tenant=tenant)
    failed = ExecutionRun.objects.get(workflow_version__workflow=billing)
    error_run = ExecutionRun.objects.get(workflow_version__workflow=on_failure)

    failed_page = page(client.get(f"/studio/runs/{failed.pk}/"))
    assert "Error workflow started:" in failed_page
    assert f'href="/studio/runs/{error_run.pk}/"' in failed_page
    error_page = page(client.get(f"/studio/runs/{error_run.pk}/"))
    assert "Started by the failure of" in error_page
    assert f'href="/studio/runs/{failed.pk}/"' in error_page
    # The panel lists the failure with its error run.
    panel = page(client.get(url(billing), HTTP_HX_REQUEST="true"))
    assert f"/studio/runs/{error_run.pk}/" in panel


def test_a_switched_off_error_workflow_is_explained_on_the_failed_run(client, tenant):
    billing, on_failure = failing(tenant=tenant), handler(tenant=tenant)
    client.post(url(billing), {"error_workflow": on_failure.pk}, HTTP_HX_REQUEST="true")
    client.post(f"/studio/workflows/{on_failure.pk}/deactivate/", HTTP_HX_REQUEST="true")
    emit_event("invoice.paid", {"id": "in_1"}, tenant=tenant)
    failed = ExecutionRun.objects.get(workflow_version__workflow=billing)
    failed_page = page(client.get(f"/studio/runs/{failed.pk}/"))
    assert f"Not started: the error workflow {on_failure.name} is switched off." in failed_page


def slow_workflow(tenant):
    from tests.factories import make_published

    return make_published(
        slug="slow",
        tenant=tenant,
        rule_spec={},
        trigger_spec={"event_type": "invoice.paid"},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {"id": "wait", "type": "delay", "seconds": 3600},
            ],
            "edges": [{"source": "trigger", "target": "wait"}],
        },
    ).workflow


def test_a_running_run_asks_for_its_failure_links_until_it_ends(client, tenant):
    from django.db import transaction

    from automate.execution.run_state import fail_run

    slow, on_failure = slow_workflow(tenant), handler(tenant=tenant)
    client.post(url(slow), {"error_workflow": on_failure.pk}, HTTP_HX_REQUEST="true")
    emit_event("invoice.paid", {"id": "in_1"}, tenant=tenant)
    run = ExecutionRun.objects.get(workflow_version__workflow=slow)
    assert run.status == "running"
    fragment_url = f"/studio/runs/{run.pk}/failure/"
    assert f'hx-get="{fragment_url}"' in page(client.get(f"/studio/runs/{run.pk}/"))
    assert 'hx-trigger="every 3s"' in page(client.get(fragment_url, HTTP_HX_REQUEST="true"))

    with transaction.atomic():
        fail_run(ExecutionRun.objects.select_for_update().get(pk=run.pk), "Given up.")
    fragment = page(client.get(fragment_url, HTTP_HX_REQUEST="true"))
    assert "Error workflow started:" in fragment
    assert "hx-trigger" not in fragment  # finished: it stops asking


def test_a_run_without_failure_settings_does_not_ask(client, tenant):
    slow = slow_workflow(tenant)
    emit_event("invoice.paid", {"id": "in_1"}, tenant=tenant)
    run = ExecutionRun.objects.get(workflow_version__workflow=slow)
    assert "/failure/" not in page(client.get(f"/studio/runs/{run.pk}/"))


def test_another_tenants_run_failure_fragment_is_a_404(client):
    other = make_tenant("other")
    slow_workflow(other)
    emit_event("invoice.paid", {"id": "in_1"}, tenant=other)
    run = ExecutionRun.objects.get()
    assert client.get(f"/studio/runs/{run.pk}/failure/").status_code == 404
