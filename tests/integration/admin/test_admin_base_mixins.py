"""``AuditMixin``/``AuditableModelAdmin``, ``SoftDeleteAdmin``, ``BulkActionsMixin``,
``SearchMixin``, ``FilterMixin`` and ``PermissionMixin`` on the test admin site, and the
product's own admins auditing what people change in them."""

import json

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from automate.admin_lists import TenantRelatedFilter
from automate.governance.models import AuditLogEntry
from automate.triggers.models import WebhookEndpoint
from tests.adminkit.admin import site
from tests.adminkit.models import Gadget, SearchGadget
from tests.factories import make_tenant, make_user
from tests.integration.admin.kit import BEARER, SECRET, kit_url

pytestmark = pytest.mark.django_db


def _action(client, model, action, *pks, **extra):
    return client.post(
        kit_url(model, "changelist") + extra.pop("query", ""),
        {"action": action, ACTION_CHECKBOX_NAME: list(pks), "index": 0, **extra},
    )


# -- audit ---------------------------------------------------------------------------------


def test_add_change_delete_are_audited_and_secrets_never_land_in_a_row(kit, superuser_client):
    add = superuser_client.post(
        kit_url("auditedgadget", "add"),
        {
            "tenant": kit.alpha.pk,
            "name": "audited",
            "notes": BEARER,
            "api_key": SECRET,
            "status": "draft",
            "settings": json.dumps({"token": SECRET}),
        },
    )
    assert add.status_code == 302
    gadget = Gadget.objects.get(name="audited")
    added = AuditLogEntry.objects.get(action="admin.add")
    assert (added.resource_type, added.resource_id) == ("adminkit.auditedgadget", str(gadget.pk))
    assert added.tenant == kit.alpha
    assert added.actor_repr
    assert {"name", "api_key", "notes", "settings"} <= set(added.details["fields"])
    assert added.details["values"]["name"] == "audited"
    assert "settings" not in added.details["values"]  # JSON fields are named, not copied

    superuser_client.post(
        kit_url("auditedgadget", "change", gadget.pk),
        {
            "tenant": kit.alpha.pk,
            "name": "audited",
            "notes": "plain",
            "api_key": SECRET + "2",
            "status": "live",
            "settings": "{}",
        },
    )
    changed = AuditLogEntry.objects.get(action="admin.change")
    assert set(changed.details["fields"]) == {"notes", "api_key", "status", "settings"}
    assert changed.details["values"]["status"] == "live"

    superuser_client.post(kit_url("auditedgadget", "delete", gadget.pk), {"post": "yes"})
    deleted = AuditLogEntry.objects.get(action="admin.delete")
    assert deleted.resource_id == str(gadget.pk)
    assert deleted.tenant == kit.alpha

    for entry in AuditLogEntry.objects.all():
        text = json.dumps(entry.details)
        assert SECRET not in text, entry.action
        assert "eyJzdWIiOiIxIn0" not in text, entry.action


def test_bulk_delete_writes_one_audit_row_per_object(kit, superuser_client):
    response = _action(
        superuser_client, "auditedgadget", "delete_selected", kit.mine.pk, kit.theirs.pk, post="yes"
    )
    assert response.status_code == 302
    rows = AuditLogEntry.objects.filter(action="admin.delete")
    assert sorted(rows.values_list("resource_id", flat=True)) == sorted(
        [str(kit.mine.pk), str(kit.theirs.pk)]
    )


def test_product_admins_audit_what_people_change(client, db):
    alpha = make_tenant("alpha")
    client.force_login(make_user(superuser=True))
    client.post(
        reverse("admin:automate_webhookendpoint_add"),
        {
            "tenant": alpha.pk,
            "slug": "orders",
            "name": "Orders",
            "scheme": "generic",
            "secret_name": "ORDERS_HOOK",
            "signature_header": "X-Signature",
            "is_active": "on",
        },
    )
    endpoint = WebhookEndpoint.objects.get(slug="orders")
    entry = AuditLogEntry.objects.get(action="admin.add", resource_type="automate.webhookendpoint")
    assert entry.resource_id == str(endpoint.pk)
    assert entry.tenant == alpha
    client.post(
        reverse("admin:automate_tenant_change", args=[alpha.pk]),
        {"slug": "alpha", "name": "Alpha Inc"},
    )
    assert AuditLogEntry.objects.filter(
        action="admin.change", resource_type="automate.tenant"
    ).exists()


# -- soft delete -----------------------------------------------------------------------------


def test_soft_delete_hides_the_row_and_restore_brings_it_back(kit, superuser_client):
    response = superuser_client.post(kit_url("softgadget", "delete", kit.mine.pk), {"post": "yes"})
    assert response.status_code == 302
    kit.mine.refresh_from_db()
    assert kit.mine.deleted_at is not None  # still in the table

    listed = superuser_client.get(kit_url("softgadget", "changelist")).context["cl"].result_list
    assert [g.name for g in listed] == ["beta-one"]
    deleted = superuser_client.get(kit_url("softgadget", "changelist"), {"deleted": "yes"})
    assert [g.name for g in deleted.context["cl"].result_list] == ["alpha-one"]
    every = superuser_client.get(kit_url("softgadget", "changelist"), {"deleted": "all"})
    assert len(every.context["cl"].result_list) == 2

    _action(superuser_client, "softgadget", "restore_selected", kit.mine.pk, query="?deleted=yes")
    kit.mine.refresh_from_db()
    assert kit.mine.deleted_at is None
    actions = list(AuditLogEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["admin.delete", "admin.restore"]


def test_bulk_soft_delete_keeps_the_rows(kit, superuser_client):
    _action(
        superuser_client, "softgadget", "delete_selected", kit.mine.pk, kit.theirs.pk, post="yes"
    )
    assert Gadget.objects.filter(deleted_at__isnull=False).count() == 2
    assert AuditLogEntry.objects.filter(action="admin.delete").count() == 2


# -- bulk actions ------------------------------------------------------------------------------


def test_enable_disable_and_status_actions(kit, client):
    kit.staff(client, "scopedgadget", "view", "change")
    page = client.get(kit_url("scopedgadget", "changelist")).content.decode()
    for name in (
        "bulk_enable",
        "bulk_disable",
        "bulk_status_draft",
        "bulk_status_live",
        "bulk_status_retired",
    ):
        assert f'value="{name}"' in page
    assert "Disable selected scoped gadgets" in page
    assert "Set status to \u201cRetired\u201d" in page
    german = client.get(kit_url("scopedgadget", "changelist"), HTTP_ACCEPT_LANGUAGE="de")
    assert "Ausgewählte scoped gadgets deaktivieren" in german.content.decode()
    assert "Status auf \u201eRetired\u201c setzen" in german.content.decode()

    _action(client, "scopedgadget", "bulk_disable", kit.mine.pk, kit.theirs.pk)
    _action(client, "scopedgadget", "bulk_status_retired", kit.mine.pk, kit.theirs.pk)
    kit.mine.refresh_from_db(), kit.theirs.refresh_from_db()
    assert (kit.mine.is_active, kit.mine.status) == (False, "retired")
    assert (kit.theirs.is_active, kit.theirs.status) == (True, "live")  # another tenant's
    bulk = AuditLogEntry.objects.filter(action="admin.bulk").order_by("id")
    assert [entry.details["values"] for entry in bulk] == [
        {"is_active": False},
        {"status": "retired"},
    ]

    _action(client, "scopedgadget", "bulk_enable", kit.mine.pk)
    kit.mine.refresh_from_db()
    assert kit.mine.is_active is True


# -- search and filters ----------------------------------------------------------------------


def test_search_lookups_and_text(kit, client):
    kit.staff(client, "searchgadget", "view")
    Gadget.objects.create(tenant=kit.alpha, name="alpha-two", status="live")
    url = kit_url("searchgadget", "changelist")

    def found(term):
        return sorted(g.name for g in client.get(url, {"q": term}).context["cl"].result_list)

    assert found("status:live") == ["alpha-two"]
    assert found("status:LIVE two") == ["alpha-two"]
    assert found("one") == ["alpha-one"]  # beta-one is another tenant's
    assert found("tenant:beta") == []
    assert found("colour:red") == []  # not a lookup: searched as text


def test_filters_are_generated_and_tenant_scoped(kit, client):
    kit.staff(client, "searchgadget", "view")
    admin = site._registry[SearchGadget]
    request = client.get(kit_url("searchgadget", "changelist")).wsgi_request
    filters = admin.get_list_filter(request)
    names = [item[0] if isinstance(item, tuple) else item for item in filters]
    assert names == [
        "tenant",
        "workflow",
        "status",
        "is_active",
        "deleted_at",
        "created_at",
        "updated_at",
    ]
    assert (
        dict(item for item in filters if isinstance(item, tuple))["tenant"] is TenantRelatedFilter
    )
    page = client.get(kit_url("searchgadget", "changelist")).content.decode()
    side = page.split('id="changelist-filter"')[1]
    # Only alpha's workflow is offered (a tenant filter of one choice is not shown at all).
    assert "By workflow" in side
    assert kit.alpha_flow.name in side
    assert kit.beta_flow.name not in side
    assert "Beta" not in side
    assert (
        client.get(kit_url("searchgadget", "changelist"), {"status__exact": "draft"}).status_code
        == 200
    )


# -- object permissions ------------------------------------------------------------------------


def test_owners_change_and_delete_their_own_objects_only(kit, client):
    user = kit.staff(client, "ownedgadget", "view", "change", "delete")
    other = make_user()
    Gadget.objects.filter(pk=kit.mine.pk).update(owner=user)
    Gadget.objects.filter(pk=kit.theirs.pk).update(owner=other)
    mine = client.get(kit_url("ownedgadget", "change", kit.mine.pk))
    assert mine.context["has_change_permission"] is True
    theirs = client.get(kit_url("ownedgadget", "change", kit.theirs.pk))
    assert theirs.status_code == 200
    assert theirs.context["has_change_permission"] is False
    refused = client.post(kit_url("ownedgadget", "change", kit.theirs.pk), {"name": "mine now"})
    assert refused.status_code == 403
    assert client.get(kit_url("ownedgadget", "delete", kit.theirs.pk)).status_code == 403
    bulk = _action(client, "ownedgadget", "delete_selected", kit.mine.pk, kit.theirs.pk, post="yes")
    assert bulk.status_code == 403
    assert Gadget.objects.count() == 2
    assert (
        client.post(kit_url("ownedgadget", "delete", kit.mine.pk), {"post": "yes"}).status_code
        == 302
    )
    assert not Gadget.objects.filter(pk=kit.mine.pk).exists()


def test_object_permission_backends_decide_per_object(kit, client, settings, monkeypatch):
    from tests.adminkit.models import OwnedGadget

    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "tests.adminkit.backends.SharedGadgetBackend",
    ]
    owned_admin = site._registry[OwnedGadget]
    monkeypatch.setattr(owned_admin, "owner_field", None)
    monkeypatch.setattr(owned_admin, "object_permission_backends", True)
    kit.staff(client, "ownedgadget", "view", "change")
    shared = Gadget.objects.create(tenant=kit.alpha, name="shared-one")
    page = client.get(kit_url("ownedgadget", "change", shared.pk))
    assert page.status_code == 200
    assert page.context["has_change_permission"] is True
    # The backend grants nothing on this one, not even a view: the page is refused.
    assert client.get(kit_url("ownedgadget", "change", kit.mine.pk)).status_code == 403
