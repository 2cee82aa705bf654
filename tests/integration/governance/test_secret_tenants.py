"""Stored secrets are owned by a tenant: unique per (tenant, name), written and listed per
tenant by the services, the command and the admin, and migrated to the only tenant."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

import automate.admin_secrets  # noqa: F401  (registers StoredSecretAdmin)
from automate.governance.exceptions import SecretNotFoundError
from automate.governance.models import AuditLogEntry, StoredSecret
from automate.governance.secret_store import (
    SecretAlreadyExistsError,
    create_secret,
    delete_secret,
    rotate_secret,
    update_secret_description,
)
from automate.secrets import resolve, secret_names
from tests.factories import make_tenant, make_user
from tests.integration.governance.helpers import canary_value, new_key, use_db_backend

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def keys(monkeypatch, settings):
    use_db_backend(monkeypatch, settings, new_key())


@pytest.fixture
def tenants():
    return make_tenant("alpha"), make_tenant("beta")


def command(*args, stdin=""):
    out = io.StringIO()
    call_command("automate_secrets", *args, stdin=io.StringIO(stdin), stdout=out)
    return out.getvalue()


def test_two_tenants_may_each_have_a_secret_of_the_same_name(tenants):
    alpha, beta = tenants
    a, b = canary_value("a"), canary_value("b")
    create_secret("TOKEN", a, tenant=alpha)
    create_secret("TOKEN", b, tenant="beta")
    assert resolve("$secret:TOKEN", tenant=alpha) == a
    assert resolve("$secret:TOKEN", tenant=beta) == b
    with pytest.raises(SecretAlreadyExistsError, match='Tenant "alpha" already has'):
        create_secret("TOKEN", canary_value(), tenant=alpha)
    entries = AuditLogEntry.objects.filter(action="secret.create").order_by("pk")
    assert [entry.tenant.slug for entry in entries] == ["alpha", "beta"]


def test_writes_act_on_the_named_tenant_only(tenants):
    alpha, beta = tenants
    a, b, new = canary_value("a"), canary_value("b"), canary_value("new")
    create_secret("TOKEN", a, tenant=alpha)
    create_secret("TOKEN", b, tenant=beta)
    rotate_secret("TOKEN", new, tenant=beta)
    update_secret_description("TOKEN", "beta's", tenant=beta)
    assert resolve("$secret:TOKEN", tenant=alpha) == a
    assert resolve("$secret:TOKEN", tenant=beta) == new
    assert StoredSecret.objects.get(tenant=alpha).description == ""
    delete_secret("TOKEN", tenant=alpha)
    assert resolve("$secret:TOKEN", tenant=beta) == new
    with pytest.raises(SecretNotFoundError):
        resolve("$secret:TOKEN", tenant=alpha)
    with pytest.raises(SecretNotFoundError):
        rotate_secret("ONLY_BETA", new, tenant=alpha)


def test_another_tenant_secret_is_not_found_the_same_way_as_a_missing_one(tenants):
    create_secret("A_ONLY", canary_value(), tenant="alpha")
    with pytest.raises(SecretNotFoundError) as theirs:
        resolve("$secret:A_ONLY", tenant="beta")
    with pytest.raises(SecretNotFoundError) as nobodys:
        resolve("$secret:NOBODY", tenant="beta")
    assert theirs.value.message.replace("A_ONLY", "X") == nobodys.value.message.replace(
        "NOBODY", "X"
    )
    assert secret_names(tenant="beta") == []
    assert secret_names(tenant="alpha") == ["A_ONLY"]


def test_an_unknown_tenant_is_not_found(tenants):
    with pytest.raises(Exception, match="Tenant 'gamma' does not exist"):
        resolve("$secret:TOKEN", tenant="gamma")


def test_the_command_takes_the_tenant(tenants):
    a, b = canary_value("a"), canary_value("b")
    assert 'for tenant "alpha"' in command("set", "TOKEN", "--tenant", "alpha", stdin=a)
    command("set", "TOKEN", "--tenant", "beta", stdin=b)
    command("set", "BETA_ONLY", "--tenant", "beta", stdin=canary_value())
    assert resolve("$secret:TOKEN", tenant="alpha") == a
    assert resolve("$secret:TOKEN", tenant="beta") == b
    lines = command("list").splitlines()
    assert [line.split("\t")[:2] for line in lines] == [
        ["alpha", "TOKEN"],
        ["beta", "BETA_ONLY"],
        ["beta", "TOKEN"],
    ]
    assert [line.split("\t")[1] for line in command("list", "--tenant", "alpha").splitlines()] == [
        "TOKEN"
    ]
    command("rotate", "TOKEN", "--tenant", "beta", stdin=a)
    assert resolve("$secret:TOKEN", tenant="beta") == a
    command("delete", "TOKEN", "--tenant", "alpha")
    assert list(StoredSecret.objects.values_list("tenant__slug", "name").order_by("name")) == [
        ("beta", "BETA_ONLY"),
        ("beta", "TOKEN"),
    ]
    assert a not in "".join(command("list"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["set", "TOKEN"], 'Secret "TOKEN" needs a tenant'),
        (["rotate", "TOKEN"], 'Secret "TOKEN" needs a tenant'),
        (["delete", "TOKEN", "--yes"], 'Secret "TOKEN" needs a tenant'),
        (["set", "TOKEN", "--tenant", "gamma"], "Tenant 'gamma' does not exist"),
        (["list", "--tenant", "gamma"], "Tenant 'gamma' does not exist"),
        (["rotate", "TOKEN", "--tenant", "beta"], 'Tenant "beta" has no stored secret'),
    ],
)
def test_the_command_names_tenant_problems(tenants, args, message):
    create_secret("TOKEN", canary_value(), tenant="alpha")
    with pytest.raises(CommandError, match=message):
        command(*args, stdin="x-value")
    assert StoredSecret.objects.count() == 1


def test_the_admin_form_asks_for_the_tenant_on_a_multi_tenant_site(client, tenants):
    alpha, beta = tenants
    client.force_login(make_user(superuser=True))
    add = reverse("admin:automate_storedsecret_add")
    page = client.get(add).content.decode()
    assert 'name="tenant"' in page
    value = canary_value()
    response = client.post(add, {"name": "TOKEN", "value": value})
    assert response.status_code == 200
    assert "Choose the tenant that owns this secret" in response.content.decode()
    assert value not in response.content.decode()
    assert not StoredSecret.objects.exists()
    response = client.post(add, {"tenant": beta.pk, "name": "TOKEN", "value": value})
    assert response.status_code == 302
    secret = StoredSecret.objects.get()
    assert secret.tenant == beta
    assert resolve("$secret:TOKEN", tenant=beta) == value
    response = client.post(add, {"tenant": beta.pk, "name": "TOKEN", "value": canary_value()})
    assert response.status_code == 200
    assert StoredSecret.objects.count() == 1
    # The tenant cannot be changed afterwards: that would hand the value to another tenant.
    client.post(
        reverse("admin:automate_storedsecret_change", args=[secret.pk]),
        {"tenant": alpha.pk, "description": "moved?"},
    )
    secret.refresh_from_db()
    assert secret.tenant == beta
    assert secret.description == "moved?"


def test_the_admin_lists_the_tenant(client, tenants):
    create_secret("TOKEN", canary_value(), tenant="alpha")
    client.force_login(make_user(superuser=True))
    page = client.get(reverse("admin:automate_storedsecret_changelist")).content.decode()
    assert "Alpha" in page
