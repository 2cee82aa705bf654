"""The canary: after every way of writing and reading stored secrets, no row of any table
holds a secret value; only ciphertext is stored."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

import automate.admin_secrets  # noqa: F401  (registers StoredSecretAdmin until admin.py does)
from automate.governance.models import StoredSecret
from automate.governance.secret_store import (
    KEYS_VARIABLE,
    create_secret,
    delete_secret,
    rotate_encryption_key,
    rotate_secret,
)
from automate.secrets import resolve, resolve_secret_refs
from automate.templates import render
from tests.factories import make_user
from tests.integration.governance.helpers import (
    canary_value,
    dump_every_row,
    new_key,
    use_db_backend,
)

pytestmark = pytest.mark.django_db


def test_no_secret_value_is_stored_anywhere_in_the_database(client, monkeypatch, settings):
    key_a, key_b = new_key(), new_key()
    use_db_backend(monkeypatch, settings, key_a)
    values = {label: canary_value(label) for label in ["service", "rotated", "admin", "cli"]}
    values.update(
        {label: canary_value(label) for label in ["admin_rotated", "cli_rotated", "deleted"]}
    )
    admin = make_user(superuser=True)
    client.force_login(admin)

    # Services.
    create_secret("SERVICE", values["service"], actor=admin, description="via the service")
    rotate_secret("SERVICE", values["rotated"], actor=admin)
    create_secret("DELETED", values["deleted"], actor=admin)
    delete_secret("DELETED", actor=admin)

    # Admin: add, a rejected add, a rotation, a description change.
    client.post(
        reverse("admin:automate_storedsecret_add"), {"name": "ADMIN", "value": values["admin"]}
    )
    client.post(reverse("admin:automate_storedsecret_add"), {"name": "9", "value": "x-value"})
    admin_secret = StoredSecret.objects.get(name="ADMIN")
    client.post(
        reverse("admin:automate_storedsecret_rotate", args=[admin_secret.pk]),
        {"new_value": values["admin_rotated"]},
    )
    client.post(
        reverse("admin:automate_storedsecret_change", args=[admin_secret.pk]),
        {"description": "changed in the admin"},
    )
    client.get(reverse("admin:automate_storedsecret_changelist"))

    # Command line.
    for action, value in [("set", values["cli"]), ("rotate", values["cli_rotated"])]:
        call_command(
            "automate_secrets", action, "CLI", stdin=io.StringIO(value), stdout=io.StringIO()
        )

    # Key rotation, then reads every way a workflow reads.
    monkeypatch.setenv(KEYS_VARIABLE, f"{key_b},{key_a}")
    assert rotate_encryption_key(actor=admin) == 3
    monkeypatch.setenv(KEYS_VARIABLE, key_b)
    assert resolve("$secret:SERVICE") == values["rotated"]
    assert resolve({"$secret": "ADMIN"}) == values["admin_rotated"]
    assert render("{{ secrets.CLI }}", {}) == values["cli_rotated"]
    assert resolve_secret_refs({"token": {"$secret": "CLI"}}) == {"token": values["cli_rotated"]}

    dump = dump_every_row()
    assert "stored_secret" in dump  # the dump does include the audit trail and the secrets
    assert "gAAAA" in dump  # ... and their ciphertext
    leaked = sorted(label for label, value in values.items() if value in dump)
    assert leaked == []
