"""``BaseModelAdmin``, ``TenantScopedAdmin`` and the inline bases on the test admin site:
a user of tenant alpha never sees, opens, picks, saves into or exports beta's rows."""

import json

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from automate.admin_lists import BoundedCountPaginator
from tests.adminkit.admin import site
from tests.adminkit.models import Gadget, Part, PlainGadget, ScopedGadget
from tests.integration.admin.kit import kit_url

pytestmark = pytest.mark.django_db


def test_base_admin_lists_str_and_timestamps_and_locks_timestamps(kit, superuser_client):
    admin = site._registry[PlainGadget]
    request = RequestFactory().get("/")
    request.user = type("U", (), {"is_superuser": True})()
    assert admin.get_list_display(request) == ["__str__", "created_at", "updated_at"]
    assert "created_at" not in admin.get_readonly_fields(request, None)
    assert {"created_at", "updated_at"} <= set(admin.get_readonly_fields(request, kit.mine))

    page = superuser_client.get(kit_url("plaingadget", "changelist"))
    assert page.status_code == 200
    assert isinstance(page.context["cl"].paginator, BoundedCountPaginator)
    assert "column-created_at" in page.content.decode()
    change = superuser_client.get(kit_url("plaingadget", "change", kit.mine.pk)).content.decode()
    # Shown, not editable: no input named created_at.
    assert "field-created_at" in change
    assert 'name="created_at"' not in change


def test_staff_list_and_open_only_their_tenants_rows(kit, client):
    kit.staff(client, "scopedgadget", "view", "change")
    listed = client.get(kit_url("scopedgadget", "changelist")).context["cl"].result_list
    assert [g.name for g in listed] == ["alpha-one"]
    assert client.get(kit_url("scopedgadget", "change", kit.mine.pk)).status_code == 200
    assert client.get(kit_url("scopedgadget", "change", kit.theirs.pk)).status_code == 404
    assert client.get(kit_url("scopedgadget", "delete", kit.theirs.pk)).status_code == 404


def test_foreign_key_choices_are_the_users_tenants_rows(kit, client):
    kit.staff(client, "scopedgadget", "view", "change", "add")
    form = client.get(kit_url("scopedgadget", "add")).context["adminform"].form
    assert list(form.fields["tenant"].queryset) == [kit.alpha]
    assert list(form.fields["workflow"].queryset) == [kit.alpha_flow]
    # The inline (InlineBaseAdmin) limits its choices the same way.
    inline = client.get(kit_url("scopedgadget", "add")).context["inline_admin_formsets"][0]
    formset = inline.formset
    assert list(formset.empty_form.fields["workflow"].queryset) == [kit.alpha_flow]


def _post_gadget(client, url, **values):
    data = {
        "tenant": values.get("tenant"),
        "workflow": values.get("workflow", ""),
        "name": values.get("name", "new-one"),
        "notes": "",
        "api_key": "",
        "status": "draft",
        "is_active": "on",
        "parts-TOTAL_FORMS": "0",
        "parts-INITIAL_FORMS": "0",
        "parts-MIN_NUM_FORMS": "0",
        "parts-MAX_NUM_FORMS": "1000",
    }
    return client.post(url, data)


def test_posting_another_tenants_ids_saves_nothing(kit, client):
    kit.staff(client, "scopedgadget", "view", "change", "add")
    add = kit_url("scopedgadget", "add")
    refused = _post_gadget(client, add, tenant=kit.beta.pk)
    assert "Select a valid choice" in refused.content.decode()
    refused = _post_gadget(client, add, tenant=kit.alpha.pk, workflow=kit.beta_flow.pk)
    assert "Select a valid choice" in refused.content.decode()
    assert not Gadget.objects.filter(name="new-one").exists()
    saved = _post_gadget(client, add, tenant=kit.alpha.pk, workflow=kit.alpha_flow.pk)
    assert saved.status_code == 302
    assert Gadget.objects.get(name="new-one").tenant == kit.alpha


def test_save_model_refuses_an_object_of_another_tenant(kit, client):
    user = kit.staff(client, "scopedgadget", "view", "change")
    admin = site._registry[ScopedGadget]
    request = RequestFactory().post("/")
    request.user = user
    moved = Gadget.objects.get(pk=kit.mine.pk)
    moved.tenant = kit.beta
    with pytest.raises(PermissionDenied):
        admin.save_model(request, moved, None, True)
    assert Gadget.objects.get(pk=kit.mine.pk).tenant == kit.alpha


def test_export_never_includes_another_tenants_rows(kit, client):
    kit.staff(client, "scopedgadget", "view", "change")
    url = kit_url("scopedgadget", "changelist")
    for selection in ({"select_across": "1"}, {}):
        response = client.post(
            url,
            {
                "action": "export_as_json",
                ACTION_CHECKBOX_NAME: [kit.mine.pk, kit.theirs.pk],
                "index": 0,
                **selection,
            },
        )
        assert response.status_code == 200
        rows = json.loads(response.content)
        assert [row["name"] for row in rows] == ["alpha-one"]


def test_view_only_staff_get_no_export_or_bulk_action(kit, client):
    kit.staff(client, "scopedgadget", "view")
    page = client.get(kit_url("scopedgadget", "changelist"))
    assert "export_as_csv" not in page.content.decode()
    assert "bulk_disable" not in page.content.decode()


def test_stacked_inline_renders_with_scoped_choices(kit, client):
    kit.staff(client, "searchgadget", "view", "change")
    Part.objects.create(gadget=kit.mine, label="wheel")
    page = client.get(kit_url("searchgadget", "change", kit.mine.pk))
    assert page.status_code == 200
    formset = page.context["inline_admin_formsets"][0].formset
    assert [form.instance.label for form in formset.forms if form.instance.pk] == ["wheel"]
    assert list(formset.forms[0].fields["workflow"].queryset) == [kit.alpha_flow]
    assert "inline-related" in page.content.decode()  # the stacked layout
