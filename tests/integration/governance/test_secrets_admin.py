import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

import automate.admin_secrets  # noqa: F401  (registers StoredSecretAdmin until admin.py does)
from automate.governance.models import AuditLogEntry, StoredSecret
from automate.governance.secret_store import KEYS_VARIABLE, create_secret
from automate.secrets import resolve
from tests.factories import make_user
from tests.integration.governance.helpers import canary_value, new_key, use_db_backend

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:automate_storedsecret_add")
CHANGELIST_URL = reverse("admin:automate_storedsecret_changelist")


@pytest.fixture(autouse=True)
def keys(monkeypatch, settings):
    use_db_backend(monkeypatch, settings, new_key())


@pytest.fixture
def superuser():
    return make_user(superuser=True)


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def change_url(secret):
    return reverse("admin:automate_storedsecret_change", args=[secret.pk])


def rotate_url(secret):
    return reverse("admin:automate_storedsecret_rotate", args=[secret.pk])


def test_the_add_form_takes_the_value_in_a_password_input(admin_client):
    page = admin_client.get(ADD_URL).content.decode()
    assert 'type="password" name="value"' in page
    assert 'name="ciphertext"' not in page


def test_adding_a_secret_in_the_admin_encrypts_and_audits_it(admin_client, superuser):
    value = canary_value()
    response = admin_client.post(
        ADD_URL, {"name": "SLACK_TOKEN", "description": "Posts to #ops", "value": value}
    )

    assert response.status_code == 302
    secret = StoredSecret.objects.get(name="SLACK_TOKEN")
    assert secret.created_by == superuser
    assert value not in secret.ciphertext
    assert resolve("$secret:SLACK_TOKEN") == value
    entry = AuditLogEntry.objects.get(action="secret.create")
    assert entry.actor == superuser
    assert entry.details == {"name": "SLACK_TOKEN", "description": "Posts to #ops"}


def test_a_rejected_add_form_never_renders_the_value_back(admin_client):
    value = canary_value()
    response = admin_client.post(ADD_URL, {"name": "9_LIVES", "value": value})

    assert response.status_code == 200
    page = response.content.decode()
    assert "is not a valid secret name" in page
    assert value not in page
    assert not StoredSecret.objects.exists()


def test_adding_a_taken_name_is_a_form_error(admin_client):
    create_secret("TAKEN", canary_value())
    response = admin_client.post(ADD_URL, {"name": "TAKEN", "value": canary_value()})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert StoredSecret.objects.count() == 1


def test_adding_without_a_key_says_which_variable_to_set(admin_client, monkeypatch):
    monkeypatch.delenv(KEYS_VARIABLE)
    value = canary_value()
    response = admin_client.post(ADD_URL, {"name": "NO_KEY", "value": value})

    assert response.status_code == 200
    page = response.content.decode()
    assert f"{KEYS_VARIABLE} is not set" in page
    assert value not in page
    assert not StoredSecret.objects.exists()


def test_the_change_page_masks_the_value_and_hides_the_ciphertext(admin_client):
    value = canary_value()
    secret = create_secret("HOOK_TOKEN", value, description="Outgoing webhook")

    page = admin_client.get(change_url(secret)).content.decode()

    assert "********" in page
    assert value not in page
    assert secret.ciphertext not in page
    assert secret.ciphertext[:16] not in page
    assert "Rotate secret" in page
    assert rotate_url(secret) in page
    assert 'name="name"' not in page  # renaming would break every reference


def test_the_changelist_lists_names_and_descriptions_only(admin_client):
    value = canary_value()
    secret = create_secret("LISTED", value, description="Shown in the list")
    page = admin_client.get(CHANGELIST_URL).content.decode()
    assert "LISTED" in page
    assert "Shown in the list" in page
    assert value not in page
    assert secret.ciphertext not in page


def test_editing_the_description_keeps_the_value_and_is_audited(admin_client):
    value = canary_value()
    secret = create_secret("DESCRIBED", value, description="old")

    response = admin_client.post(change_url(secret), {"description": "new"})

    assert response.status_code == 302
    secret.refresh_from_db()
    assert secret.description == "new"
    assert resolve("$secret:DESCRIBED") == value
    assert AuditLogEntry.objects.get(action="secret.update").details == {
        "name": "DESCRIBED",
        "description": "new",
    }


def test_the_rotate_action_opens_the_rotate_form_which_rotates(admin_client, superuser):
    old, new = canary_value("old"), canary_value("new")
    secret = create_secret("STRIPE_KEY", old)

    response = admin_client.post(
        CHANGELIST_URL, {"action": "rotate_selected_secret", "_selected_action": [secret.pk]}
    )
    assert response.status_code == 302
    assert response["Location"] == rotate_url(secret)

    form_page = admin_client.get(rotate_url(secret)).content.decode()
    assert 'type="password" name="new_value"' in form_page
    assert old not in form_page
    assert secret.ciphertext not in form_page

    response = admin_client.post(rotate_url(secret), {"new_value": new})
    assert response.status_code == 302
    assert response["Location"] == change_url(secret)
    assert resolve({"$secret": "STRIPE_KEY"}) == new
    rotated = StoredSecret.objects.get(name="STRIPE_KEY")
    assert rotated.pk == secret.pk
    assert rotated.rotated_at is not None
    entry = AuditLogEntry.objects.get(action="secret.rotate")
    assert (entry.actor, entry.details) == (superuser, {"name": "STRIPE_KEY"})


def test_the_rotate_action_wants_exactly_one_secret(admin_client):
    first = create_secret("FIRST", canary_value())
    second = create_secret("SECOND", canary_value())
    response = admin_client.post(
        CHANGELIST_URL,
        {"action": "rotate_selected_secret", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )
    assert "Select exactly one secret to rotate" in response.content.decode()
    assert not AuditLogEntry.objects.filter(action="secret.rotate").exists()


def test_rotating_to_an_empty_value_is_refused(admin_client):
    value = canary_value()
    secret = create_secret("KEEP", value)
    response = admin_client.post(rotate_url(secret), {"new_value": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert resolve("$secret:KEEP") == value


def test_staff_who_may_only_view_cannot_rotate(client):
    secret = create_secret("VIEW_ONLY", canary_value())
    client.force_login(make_user(staff=True, perms=["automate.view_storedsecret"]))
    assert client.get(change_url(secret)).status_code == 200
    assert client.post(rotate_url(secret), {"new_value": canary_value()}).status_code == 403
    assert not AuditLogEntry.objects.filter(action="secret.rotate").exists()


def test_deleting_a_secret_in_the_admin_is_audited(admin_client, superuser):
    secret = create_secret("DOOMED", canary_value())
    delete_url = reverse("admin:automate_storedsecret_delete", args=[secret.pk])

    response = admin_client.post(delete_url, {"post": "yes"})

    assert response.status_code == 302
    assert not StoredSecret.objects.exists()
    entry = AuditLogEntry.objects.get(action="secret.delete")
    assert (entry.actor, entry.details) == (superuser, {"name": "DOOMED"})


def test_bulk_deletes_audit_every_secret(admin_client):
    secrets = [create_secret(name, canary_value()) for name in ["BULK_A", "BULK_B", "BULK_C"]]

    response = admin_client.post(
        CHANGELIST_URL,
        {
            "action": "delete_selected",
            "_selected_action": [s.pk for s in secrets],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert not StoredSecret.objects.exists()
    deleted = AuditLogEntry.objects.filter(action="secret.delete")
    assert sorted(e.details["name"] for e in deleted) == ["BULK_A", "BULK_B", "BULK_C"]


def test_the_admin_history_holds_no_value(admin_client):
    value, new = canary_value(), canary_value("new")
    admin_client.post(ADD_URL, {"name": "HISTORY", "value": value})
    secret = StoredSecret.objects.get(name="HISTORY")
    admin_client.post(rotate_url(secret), {"new_value": new})

    messages = list(LogEntry.objects.values_list("change_message", "object_repr"))
    assert len(messages) == 2
    assert value not in repr(messages)
    assert new not in repr(messages)
