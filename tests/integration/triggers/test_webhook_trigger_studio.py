"""The studio's webhook trigger: the endpoint made on save and publish, its signing secret
(shown once), the signed test command, and the delivery log."""

import json
import logging
import shlex

import pytest
from django.test import Client

from automate.events.models import Event
from automate.execution.models import ExecutionRun
from automate.governance.models import AuditLogEntry, StoredSecret
from automate.triggers.models import MAX_DELIVERIES_KEPT, WebhookDelivery, WebhookEndpoint
from automate.workflows.exceptions import WorkflowValidationError
from automate.workflows.models import Workflow
from automate.workflows.services import publish_version
from tests.factories import make_studio_user, make_tenant, make_user, make_workflow
from tests.integration.governance.helpers import dump_every_row, new_key, use_db_backend

pytestmark = pytest.mark.django_db(transaction=True)

GRAPH = {
    "nodes": [
        {"id": "trigger", "type": "trigger", "label": "Order", "trigger_kind": "webhook"},
        {"id": "log", "type": "action", "connector": "testkit", "action": "echo"},
    ],
    "edges": [{"source": "trigger", "target": "log"}],
}


@pytest.fixture
def db_secrets(monkeypatch, settings):
    use_db_backend(monkeypatch, settings, new_key())


@pytest.fixture
def tenant():
    return make_tenant("acme")


@pytest.fixture
def editor(tenant):
    user = make_studio_user("ed")
    tenant.members.add(user)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def workflow(tenant):
    return make_workflow(slug="orders", tenant=tenant, graph=GRAPH, rule_spec={})


def panel_url(workflow):
    return f"/studio/workflows/{workflow.pk}/nodes/trigger/panel/"


def hook_url(workflow, tail=""):
    return f"/studio/workflows/{workflow.pk}/trigger/webhook/{tail}"


def save_trigger(client, workflow, *, slug="shop-orders", scheme="generic", json_answer=False):
    workflow.refresh_from_db()
    data = {
        "label": "Order",
        "slug": slug,
        "scheme": scheme,
        "event_type": "",
        "revision": workflow.draft_revision,
    }
    if json_answer:
        return client.post(panel_url(workflow), data, headers={"Accept": "application/json"})
    return client.post(panel_url(workflow), data, headers={"HX-Request": "true"})


def create_secret(client, workflow):
    response = client.post(hook_url(workflow, "secret/"), headers={"HX-Request": "true"})
    assert response.status_code == 200, response.content
    text = response.content.decode()
    start = text.index('id="webhook-secret-value">') + len('id="webhook-secret-value">')
    return text[start : text.index("</code>", start)]


def command_of(client, workflow):
    """The test command the panel shows, taken apart: (url path, headers, body)."""
    text = client.get(hook_url(workflow), headers={"HX-Request": "true"}).content.decode()
    start = text.index('id="webhook-curl">') + len('id="webhook-curl">')
    import html

    words = shlex.split(html.unescape(text[start : text.index("</pre>", start)]))
    assert words[:4] == ["curl", "-sS", "-X", "POST"]
    url = words[4]
    headers = dict(words[i + 1].split(": ", 1) for i in range(5, len(words)) if words[i] == "-H")
    body = words[words.index("--data-binary") + 1].encode()
    return url, headers, body


def send(client, url, headers, body):
    path = "/" + url.split("/", 3)[3]
    extra = {k: v for k, v in headers.items() if k != "Content-Type"}
    return client.post(path, body, content_type="application/json", headers=extra)


def test_saving_a_webhook_trigger_creates_and_updates_its_endpoint(editor, workflow, tenant):
    response = save_trigger(editor, workflow)
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get(workflow=workflow)
    assert (endpoint.tenant, endpoint.slug, endpoint.scheme) == (tenant, "shop-orders", "generic")
    assert endpoint.secret_name == "WEBHOOK_SHOP_ORDERS"
    spec = Workflow.objects.get(pk=workflow.pk).draft_trigger_spec
    assert spec["webhook"] == {
        "slug": "shop-orders",
        "scheme": "generic",
        "secret_name": "WEBHOOK_SHOP_ORDERS",
    }
    assert (spec["source"], spec["event_type"]) == ("shop-orders", "*")

    assert save_trigger(editor, workflow, slug="shop", scheme="stripe").status_code == 200
    endpoint.refresh_from_db()
    assert (endpoint.slug, endpoint.scheme) == ("shop", "stripe")
    assert endpoint.secret_name == "WEBHOOK_SHOP_ORDERS"  # the secret keeps its name
    assert WebhookEndpoint.objects.count() == 1
    assert AuditLogEntry.objects.filter(action="webhook.endpoint.update").exists()


def test_a_taken_slug_is_refused_with_a_4xx_and_nothing_is_saved(editor, workflow):
    other = make_tenant("globex")
    WebhookEndpoint.objects.create(
        tenant=other, slug="shop-orders", name="Theirs", secret_name="THEIRS"
    )
    before = Workflow.objects.get(pk=workflow.pk)

    response = save_trigger(editor, workflow, json_answer=True)

    assert response.status_code == 400
    body = response.json()
    assert set(body) >= {"code", "message", "details", "trace_id"}
    assert "already used" in body["details"]["fields"]["slug"][0]
    after = Workflow.objects.get(pk=workflow.pk)
    assert after.draft_revision == before.draft_revision
    assert after.draft_trigger_spec == before.draft_trigger_spec
    assert not WebhookEndpoint.objects.filter(workflow=workflow).exists()
    # The HTML form says it on the field too.
    page = save_trigger(editor, workflow).content.decode()
    assert "already used by another endpoint" in page


def test_a_bad_slug_or_scheme_is_refused(editor, workflow):
    response = save_trigger(editor, workflow, slug="no spaces/here", json_answer=True)
    assert response.status_code == 400
    assert "slug" in response.json()["details"]["fields"]
    response = save_trigger(editor, workflow, scheme="paypal", json_answer=True)
    assert response.status_code == 400
    assert "scheme" in response.json()["details"]["fields"]
    assert not WebhookEndpoint.objects.exists()


def test_publishing_creates_the_endpoint_and_a_delivery_starts_a_run(
    editor, workflow, tenant, db_secrets
):
    Workflow.objects.filter(pk=workflow.pk).update(
        draft_trigger_spec={
            "event_type": "*",
            "source": "shop",
            "webhook": {"slug": "shop", "scheme": "generic", "secret_name": "WEBHOOK_SHOP"},
        }
    )
    assert not WebhookEndpoint.objects.exists()
    version = publish_version(workflow=Workflow.objects.get(pk=workflow.pk))
    endpoint = WebhookEndpoint.objects.get(workflow=workflow)
    assert (endpoint.slug, endpoint.tenant) == ("shop", tenant)

    create_secret(editor, workflow)
    url, headers, body = command_of(editor, workflow)
    assert url == "http://testserver/hooks/shop/"
    assert {"X-Signature", "X-Delivery-Id"} <= set(headers)  # what the verifier expects
    response = send(editor, url, headers, body)

    assert response.status_code == 202, response.content
    event = Event.objects.get(pk=response.json()["id"])
    assert (event.source, event.type) == ("shop", "webhook.received")
    run = ExecutionRun.objects.get(event=event)
    assert run.workflow_version == version
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status_code, delivery.result, delivery.verified) == (202, "verified", True)
    assert str(delivery.event_id) == str(event.pk)


def test_publishing_a_taken_slug_is_refused(workflow):
    WebhookEndpoint.objects.create(
        tenant=make_tenant("globex"), slug="shop", name="Theirs", secret_name="THEIRS"
    )
    Workflow.objects.filter(pk=workflow.pk).update(
        draft_trigger_spec={
            "event_type": "*",
            "webhook": {"slug": "shop", "scheme": "generic", "secret_name": "WEBHOOK_SHOP"},
        }
    )
    with pytest.raises(WorkflowValidationError) as caught:
        publish_version(workflow=Workflow.objects.get(pk=workflow.pk))
    assert any(p["field"] == "trigger_spec.webhook.slug" for p in caught.value.problems)
    assert Workflow.objects.get(pk=workflow.pk).live_version is None


@pytest.mark.parametrize("scheme", ["generic", "stripe", "github"])
def test_the_test_command_is_correctly_signed_for_each_scheme(editor, workflow, db_secrets, scheme):
    save_trigger(editor, workflow, scheme=scheme)
    create_secret(editor, workflow)
    url, headers, body = command_of(editor, workflow)
    response = send(editor, url, headers, body)
    assert response.status_code == 202, response.content
    # A tampered body is refused and logged as such.
    assert send(editor, url, headers, body.replace(b"}", b',"x":1}', 1)).status_code == 401
    results = list(WebhookDelivery.objects.order_by("id").values_list("result", flat=True))
    assert results == ["verified", "invalid_signature"]


def test_the_secret_is_shown_once_and_never_again(editor, workflow, db_secrets, caplog):
    caplog.set_level(logging.DEBUG)
    save_trigger(editor, workflow)
    value = create_secret(editor, workflow)
    assert value.startswith("whsec_")
    assert len(value) > 40
    stored = StoredSecret.objects.get(name="WEBHOOK_SHOP_ORDERS")
    assert stored.tenant.slug == "acme"

    later = [
        editor.get(hook_url(workflow), headers={"HX-Request": "true"}),
        editor.get(hook_url(workflow)),
        editor.get(hook_url(workflow, "deliveries/"), headers={"HX-Request": "true"}),
        editor.get(panel_url(workflow), headers={"HX-Request": "true"}),
        editor.get(f"/studio/workflows/{workflow.pk}/draft.json"),
        editor.get(f"/studio/workflows/{workflow.pk}/"),
    ]
    for response in later:
        assert response.status_code == 200
        assert value not in response.content.decode()
    assert "Set, as the tenant secret" in later[0].content.decode()
    audit = AuditLogEntry.objects.filter(action="secret.create").get()
    assert audit.details["name"] == "WEBHOOK_SHOP_ORDERS"
    assert value not in json.dumps(audit.details)
    dump = dump_every_row()
    assert value not in dump  # not in the definition, the audit log or anywhere else
    assert value not in caplog.text

    rotated = create_secret(editor, workflow)
    assert rotated != value
    assert AuditLogEntry.objects.filter(action="secret.rotate").get().details == {
        "name": "WEBHOOK_SHOP_ORDERS"
    }
    assert rotated not in dump_every_row()
    url, headers, body = command_of(editor, workflow)
    assert send(editor, url, headers, body).status_code == 202  # signed with the new one


def test_without_a_storing_backend_the_secret_cannot_be_made_here(editor, workflow):
    save_trigger(editor, workflow)
    response = editor.post(hook_url(workflow, "secret/"), headers={"HX-Request": "true"})
    assert response.status_code == 409
    assert response.json()["code"] == "secrets_backend_read_only"
    assert not StoredSecret.objects.exists()
    page = editor.get(hook_url(workflow), headers={"HX-Request": "true"}).content.decode()
    assert "cannot store secrets" in page
    assert "Create signing secret" not in page


def test_a_secret_before_the_endpoint_exists_is_refused(editor, workflow, db_secrets):
    response = editor.post(hook_url(workflow, "secret/"), headers={"HX-Request": "true"})
    assert response.status_code == 409
    assert response.json()["code"] == "webhook_not_saved"
    assert not StoredSecret.objects.exists()


def test_the_delivery_log_lists_outcomes_and_stays_bounded(editor, workflow, db_secrets):
    save_trigger(editor, workflow)
    create_secret(editor, workflow)
    url, headers, body = command_of(editor, workflow)
    canary = b'{"card":"canary-4242"}'
    assert send(editor, url, {**headers, "X-Signature": "t=1,v1=00"}, canary).status_code == 401
    assert send(editor, url, headers, body).status_code == 202
    assert send(editor, url, headers, body).status_code == 200  # the same delivery again
    page = editor.get(hook_url(workflow, "deliveries/"), headers={"HX-Request": "true"})
    text = page.content.decode()
    assert text.count("<tr class=") == 3
    for shown in ("invalid_signature", "verified", "duplicate", "not verified", "401", "202"):
        assert shown in text
    assert "canary-4242" not in dump_every_row()

    endpoint = WebhookEndpoint.objects.get()
    for _ in range(MAX_DELIVERIES_KEPT + 5):
        send(editor, url, {**headers, "X-Signature": "t=1,v1=00"}, body)
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == MAX_DELIVERIES_KEPT


def test_another_tenants_trigger_is_not_found_and_changes_need_the_permission(
    editor, workflow, db_secrets
):
    save_trigger(editor, workflow)
    stranger = make_studio_user("mallory")
    make_tenant("globex").members.add(stranger)
    other = Client()
    other.force_login(stranger)
    for url in (hook_url(workflow), hook_url(workflow, "deliveries/")):
        assert other.get(url).status_code == 404
    assert other.post(hook_url(workflow, "secret/")).status_code == 404
    preview = f"/studio/workflows/{workflow.pk}/trigger/schedule/preview/?cron=*+*+*+*+*"
    assert other.get(preview).status_code == 404

    viewer = make_user("vera", perms=["automate.use_studio"])
    Workflow.objects.get(pk=workflow.pk).tenant.members.add(viewer)
    read_only = Client()
    read_only.force_login(viewer)
    assert read_only.post(hook_url(workflow, "secret/")).status_code == 403
    page = read_only.get(hook_url(workflow), headers={"HX-Request": "true"}).content.decode()
    assert "webhook-curl" not in page  # a signed delivery is for editors only
    assert not StoredSecret.objects.exists()


def test_an_unknown_slug_records_nothing(client):
    response = client.post("/hooks/nobody/", b"{}", content_type="application/json")
    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists()
    assert json.loads(response.content)["code"] == "invalid_signature"


def test_a_webhook_trigger_replacing_an_event_trigger_listens_to_every_delivery(editor, workflow):
    # The workflow's old event trigger listened to invoice.paid; the new webhook trigger's
    # form starts empty, so saving it as shown listens to every delivery ("*").
    assert Workflow.objects.get(pk=workflow.pk).draft_trigger_spec["event_type"] == "invoice.paid"
    page = editor.get(panel_url(workflow), headers={"HX-Request": "true"}).content.decode()
    assert 'name="event_type" value=""' in page
    assert 'name="slug" value="orders"' in page  # the workflow's slug is suggested
    save_trigger(editor, workflow)
    assert Workflow.objects.get(pk=workflow.pk).draft_trigger_spec["event_type"] == "*"
