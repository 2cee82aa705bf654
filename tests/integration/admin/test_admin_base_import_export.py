"""``ExportMixin`` and ``ImportExportBaseAdmin``: CSV and JSON exports (redacted, scoped),
and a JSON import that validates every row, previews, and writes only when confirmed."""

import csv
import io
import json

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from automate.governance.models import AuditLogEntry
from automate.triggers.models import WebhookEndpoint
from demo_crm.models import Customer
from tests.adminkit.models import Gadget
from tests.factories import make_tenant, make_user
from tests.integration.admin.kit import BEARER, SECRET, import_errors, kit_url

pytestmark = pytest.mark.django_db


def _export(client, model, action, *pks):
    return client.post(
        kit_url(model, "changelist"),
        {"action": action, ACTION_CHECKBOX_NAME: list(pks), "index": 0},
    )


def test_csv_export_leaves_out_secret_fields_and_masks_secret_values(kit, superuser_client):
    Gadget.objects.filter(pk=kit.mine.pk).update(api_key=SECRET, notes=f"{BEARER}", status="live")
    Gadget.objects.filter(pk=kit.theirs.pk).update(notes="=HYPERLINK(1)")
    response = _export(
        superuser_client, "scopedgadget", "export_as_csv", kit.mine.pk, kit.theirs.pk
    )
    assert response["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="scopedgadget-' in response["Content-Disposition"]
    text = response.content.decode()
    assert SECRET not in text
    assert "eyJhbGciOiJIUzI1NiJ9" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert "api_key" not in rows[0]  # a field whose name says secret is not exported
    assert [row["name"] for row in rows] == ["alpha-one", "beta-one"]
    assert rows[0]["notes"].startswith("Bearer ")
    assert "********" in rows[0]["notes"]
    assert rows[0]["tenant"] == str(kit.alpha.pk)
    # A cell that a spreadsheet would run as a formula is neutralised.
    assert rows[1]["notes"] == "'=HYPERLINK(1)"


def test_json_export_has_typed_values(kit, superuser_client):
    response = _export(superuser_client, "scopedgadget", "export_as_json", kit.mine.pk)
    assert response["Content-Type"] == "application/json"
    [row] = json.loads(response.content)
    assert row["name"] == "alpha-one"
    assert row["is_active"] is True
    assert row["tenant"] == kit.alpha.pk
    assert row["settings"] == {}


def test_an_export_of_too_many_rows_is_refused_with_a_message(kit, superuser_client, monkeypatch):
    from tests.adminkit.admin import site
    from tests.adminkit.models import ScopedGadget

    monkeypatch.setattr(site._registry[ScopedGadget], "export_max_rows", 1)
    response = _export(
        superuser_client, "scopedgadget", "export_as_csv", kit.mine.pk, kit.theirs.pk
    )
    assert response.status_code == 302
    page = superuser_client.get(response["Location"]).content.decode()
    assert "More than 1 rows are selected: export at most 1 at once" in page


IMPORT = [
    {"tenant": None, "name": "imported-1", "notes": "first", "status": "live"},
    {"tenant": None, "name": "imported-2", "status": "draft", "is_active": False},
]


def _rows(kit, rows=IMPORT):
    return json.dumps([{**row, "tenant": kit.alpha.pk} for row in rows])


def test_import_preview_writes_nothing_until_confirmed(kit, client):
    kit.staff(client, "importgadget", "view", "add", "change")
    url = kit_url("importgadget", "import")
    assert client.get(url).status_code == 200
    before = Gadget.objects.count(), AuditLogEntry.objects.count()

    preview = client.post(url, {"data": _rows(kit)})
    page = preview.content.decode()
    assert preview.status_code == 200
    assert "2 import gadgets will be added. Nothing is saved until you confirm." in page
    assert "Confirm import" in page
    assert "imported-1" in page
    assert "imported-2" in page
    assert (Gadget.objects.count(), AuditLogEntry.objects.count()) == before

    done = client.post(url, {"data": preview.context["data"], "confirm": "Confirm import"})
    assert done.status_code == 302
    assert done["Location"].endswith(kit_url("importgadget", "changelist"))
    first = Gadget.objects.get(name="imported-1")
    assert (first.tenant, first.status, first.notes) == (kit.alpha, "live", "first")
    assert Gadget.objects.get(name="imported-2").is_active is False
    followed = client.get(done["Location"]).content.decode()
    assert "Imported 2 import gadgets." in followed


def test_import_from_an_uploaded_file(kit, client):
    kit.staff(client, "importgadget", "view", "add")
    upload = SimpleUploadedFile("gadgets.json", _rows(kit).encode(), "application/json")
    preview = client.post(kit_url("importgadget", "import"), {"file": upload})
    assert "Confirm import" in preview.content.decode()
    assert not Gadget.objects.filter(name__startswith="imported").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{not json", "The file is not valid JSON"),
        ('{"name": "x"}', "The file must hold a JSON list of objects."),
        ("[]", "The list is empty"),
        ("[1]", "Row 1: not a JSON object."),
        ('[{"name": "x", "colour": "red"}]', "Row 1: unknown field(s) colour"),
        ('[{"name": "", "status": "purple"}]', "Row 1, name: This field is required."),
        ('[{"name": "y", "status": "purple"}]', "Row 1, status: Select a valid choice."),
        (json.dumps([{"name": f"n{i}"} for i in range(6)]), "at most 5 can be imported"),
    ],
)
def test_invalid_imports_say_what_is_wrong_and_save_nothing(kit, client, data, message):
    kit.staff(client, "importgadget", "view", "add")
    response = client.post(kit_url("importgadget", "import"), {"data": data, "confirm": "1"})
    assert response.status_code == 400
    page = response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')
    assert "nothing was saved" in page
    assert message in page
    assert Gadget.objects.count() == 2


def test_import_of_another_tenants_rows_is_refused(kit, client):
    kit.staff(client, "importgadget", "view", "add")
    rows = json.dumps([{"tenant": kit.beta.pk, "name": "sneaky"}])
    response = client.post(kit_url("importgadget", "import"), {"data": rows, "confirm": "1"})
    assert response.status_code == 400
    assert "Row 1, tenant: Select a valid choice" in response.content.decode()
    rows = json.dumps([{"tenant": kit.alpha.pk, "name": "sneaky", "workflow": kit.beta_flow.pk}])
    response = client.post(kit_url("importgadget", "import"), {"data": rows, "confirm": "1"})
    assert "Row 1, workflow: Select a valid choice" in response.content.decode()
    assert not Gadget.objects.filter(name="sneaky").exists()


def test_a_rule_over_several_fields_is_named_with_its_row(client, db):
    alpha = make_tenant("alpha")
    Customer.objects.create(tenant=alpha, stripe_id="cus_1")
    client.force_login(make_user(superuser=True))
    rows = json.dumps([{"tenant": alpha.pk, "stripe_id": "cus_1"}])
    response = client.post(reverse("admin:demo_crm_customer_import"), {"data": rows})
    assert response.status_code == 400
    [error] = import_errors(response)
    assert error.startswith("Row 1: ")
    assert "already exists" in error


def test_a_failing_row_at_confirm_time_saves_none(kit, client):
    kit.staff(client, "importgadget", "view", "add")
    twice = json.dumps([{"tenant": kit.alpha.pk, "name": "same"}] * 2)
    response = client.post(kit_url("importgadget", "import"), {"data": twice, "confirm": "1"})
    assert response.status_code == 400
    assert "Nothing was imported" in response.content.decode(), import_errors(response)
    assert not Gadget.objects.filter(name="same").exists()


def test_import_needs_the_add_permission(kit, client):
    kit.staff(client, "importgadget", "view")
    assert client.get(kit_url("importgadget", "import")).status_code == 403
    page = client.get(kit_url("importgadget", "changelist")).content.decode()
    assert "Import JSON" not in page


def test_changelist_offers_import_and_export(kit, client):
    kit.staff(client, "importgadget", "view", "add", "change")
    page = client.get(kit_url("importgadget", "changelist")).content.decode()
    assert kit_url("importgadget", "import") in page
    assert "Export selected as CSV" in page
    assert "Export selected as JSON" in page


def test_imported_rows_are_audited_with_secrets_masked(kit, superuser_client):
    rows = json.dumps([{"tenant": kit.alpha.pk, "name": "keyed", "api_key": SECRET}])
    url = kit_url("auditedimportgadget", "import")
    preview = superuser_client.post(url, {"data": rows})
    assert SECRET not in preview.content.decode().split('name="data"')[0]  # the table masks it
    superuser_client.post(url, {"data": rows, "confirm": "1"})
    gadget = Gadget.objects.get(name="keyed")
    entry = AuditLogEntry.objects.get(action="admin.add", resource_id=str(gadget.pk))
    assert entry.tenant == kit.alpha
    assert SECRET not in json.dumps(entry.details)


# -- the product's own admins ------------------------------------------------------------


def test_webhook_endpoints_export_only_the_users_tenants(client, db):
    alpha, beta = make_tenant("alpha"), make_tenant("beta")
    mine = WebhookEndpoint.objects.create(tenant=alpha, slug="a-hook", name="A", secret_name="S")
    theirs = WebhookEndpoint.objects.create(tenant=beta, slug="b-hook", name="B", secret_name="S")
    user = make_user(
        staff=True, perms=["automate.view_webhookendpoint", "automate.change_webhookendpoint"]
    )
    alpha.members.add(user)
    client.force_login(user)
    response = client.post(
        reverse("admin:automate_webhookendpoint_changelist"),
        {
            "action": "export_as_csv",
            ACTION_CHECKBOX_NAME: [mine.pk, theirs.pk],
            "select_across": "1",
            "index": 0,
        },
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["slug"] for row in rows] == ["a-hook"]
    assert "secret_name" not in rows[0]


def test_demo_customers_import_through_the_site_admin(client, db):
    alpha = make_tenant("alpha")
    client.force_login(make_user(superuser=True))
    url = reverse("admin:demo_crm_customer_import")
    rows = json.dumps([{"tenant": alpha.pk, "stripe_id": "cus_1", "email": "a@example.com"}])
    preview = client.post(url, {"data": rows})
    assert "Confirm import" in preview.content.decode(), import_errors(preview)
    assert not Customer.objects.exists()
    client.post(url, {"data": rows, "confirm": "1"})
    assert Customer.objects.get().email == "a@example.com"
    assert AuditLogEntry.objects.filter(
        action="admin.add", resource_type="demo_crm.customer"
    ).exists()
