import pytest
from django.urls import reverse

from automate.execution.models import ExecutionRun, OutboxJob
from automate.governance import audit
from automate.runtime import emit_event, run_workflow
from tests.factories import make_published, make_user

pytestmark = pytest.mark.django_db

STRIPE_KEY = "sk_live_51HqLyjWDarjtT1zdp7dcXYZabc"


@pytest.fixture
def admin_client(client):
    client.force_login(make_user(superuser=True))
    return client


@pytest.mark.parametrize(
    "model",
    [
        "tenant",
        "event",
        "workflow",
        "workflowversion",
        "outboxjob",
        "executionrun",
        "auditlogentry",
    ],
)
def test_every_changelist_and_change_page_renders(admin_client, model):
    version = make_published(slug="wf")
    run_workflow("wf", {"amount": 5})
    emit_event("invoice.paid", {"amount": 5})  # its job waits: on_commit never fires here
    audit.record(action="test", resource_type="thing")
    assert version.pk

    changelist = admin_client.get(reverse(f"admin:automate_{model}_changelist"))
    assert changelist.status_code == 200
    obj = changelist.context["cl"].result_list[0]
    change = admin_client.get(reverse(f"admin:automate_{model}_change", args=[obj.pk]))
    assert change.status_code == 200


def test_outbox_jobs_show_lost_claims_beside_attempts(admin_client):
    make_published(slug="wf")
    emit_event("invoice.paid", {"amount": 5})  # its job waits: on_commit never fires here
    job = OutboxJob.objects.get()
    OutboxJob.objects.filter(pk=job.pk).update(attempts=1, lost_claims=3)
    changelist = admin_client.get(reverse("admin:automate_outboxjob_changelist"))
    assert b"column-lost_claims" in changelist.content
    assert b'<td class="field-lost_claims">3</td>' in changelist.content
    change = admin_client.get(reverse("admin:automate_outboxjob_change", args=[job.pk]))
    assert b"They do not count as attempts" in change.content


def test_event_payload_is_redacted_without_the_raw_permission(client):
    event_id = emit_event("charge.created", {"api_key": STRIPE_KEY, "amount": 3})
    staff = make_user(staff=True, perms=["automate.view_event"])
    client.force_login(staff)
    page = client.get(reverse("admin:automate_event_change", args=[event_id])).content.decode()
    assert STRIPE_KEY not in page
    assert "********" in page
    assert "&quot;amount&quot;: 3" in page


def test_event_payload_is_raw_with_the_permission(client):
    event_id = emit_event("charge.created", {"api_key": STRIPE_KEY})
    client.force_login(
        make_user(staff=True, perms=["automate.view_event", "automate.view_raw_payload"])
    )
    page = client.get(reverse("admin:automate_event_change", args=[event_id])).content.decode()
    assert STRIPE_KEY in page


def test_immutable_records_have_no_add_or_edit(admin_client):
    make_published(slug="wf")
    run = run_workflow("wf", {})
    assert admin_client.get(reverse("admin:automate_event_add")).status_code == 403
    assert admin_client.get(reverse("admin:automate_auditlogentry_add")).status_code == 403
    page = admin_client.get(reverse("admin:automate_executionrun_change", args=[run.pk]))
    assert b'name="_save"' not in page.content
    assert ExecutionRun.objects.count() == 1
