"""A token cannot mint a token that outlives it, and sees and revokes only its own
tenant's tokens (a user in two tenants)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from automate.api.models import ApiToken
from automate.api.tokens import create_token
from tests.factories import make_tenant
from tests.integration.api.helpers import TokenClient, assert_error, token_client

pytestmark = pytest.mark.django_db

TOKENS = "/api/v1/tokens/"


def expiring_client(hours: float = 1):
    client = token_client(make_tenant("acme"))
    ApiToken.objects.filter(pk=client.token.pk).update(
        expires_at=timezone.now() + timedelta(hours=hours)
    )
    return client


@pytest.mark.parametrize(
    "extra",
    [{}, {"expires_at": None}],
    ids=["omitted", "null"],
)
def test_an_expiring_token_cannot_mint_a_token_without_expiry(extra):
    client = expiring_client()
    before = ApiToken.objects.count()
    body = assert_error(
        client.post(TOKENS, {"name": "forever", "scopes": ["read"], **extra}),
        400,
        "invalid_request",
    )
    assert "expires_at" in body["details"]["fields"]
    assert ApiToken.objects.count() == before


@pytest.mark.parametrize("later", [timedelta(hours=2), timedelta(days=365)])
def test_an_expiring_token_cannot_mint_a_token_that_outlives_it(later):
    client = expiring_client(hours=1)
    before = ApiToken.objects.count()
    expires = (timezone.now() + later).isoformat()
    body = assert_error(
        client.post(TOKENS, {"name": "longer", "scopes": ["read"], "expires_at": expires}),
        400,
        "invalid_request",
    )
    assert "expires_at" in body["details"]["fields"]
    assert ApiToken.objects.count() == before


def test_an_expiring_token_mints_a_token_that_expires_no_later():
    client = expiring_client(hours=1)
    caller = ApiToken.objects.get(pk=client.token.pk)
    for expires in (timezone.now() + timedelta(minutes=30), caller.expires_at):
        response = client.post(
            TOKENS, {"name": "short", "scopes": ["read"], "expires_at": expires.isoformat()}
        )
        assert response.status_code == 201, response.content
        made = ApiToken.objects.get(pk=response.json()["id"])
        assert made.expires_at <= caller.expires_at


def test_a_token_without_expiry_may_mint_one_without_expiry():
    client = token_client(make_tenant("acme"))
    response = client.post(TOKENS, {"name": "ci", "scopes": ["read"]})
    assert response.status_code == 201, response.content
    assert response.json()["expires_at"] is None


def listed_ids(response):
    assert response.status_code == 200, response.content
    body = response.json()
    return [row["id"] for row in (body["results"] if isinstance(body, dict) else body)]


def _two_tenant_user():
    acme, beta = make_tenant("acme"), make_tenant("beta")
    client = token_client(acme)
    beta.members.add(client.user)
    other = create_token(user=client.user, tenant=beta, name="beta", scopes=["read"]).token
    return client, other


def test_a_token_lists_only_its_own_tenants_tokens():
    client, other = _two_tenant_user()
    ids = listed_ids(client.get(TOKENS))
    assert client.token.pk in ids
    assert other.pk not in ids
    assert_error(client.get(f"{TOKENS}{other.pk}/"), 404, "resource_not_found")


def test_a_token_cannot_revoke_another_tenants_token():
    client, other = _two_tenant_user()
    assert_error(client.delete(f"{TOKENS}{other.pk}/"), 404, "resource_not_found")
    other.refresh_from_db()
    assert other.revoked_at is None
    # The beta token itself still works.
    new = create_token(user=client.user, tenant=other.tenant, name="b2", scopes=["read", "admin"])
    beta_client = TokenClient(new.text)
    ids = listed_ids(beta_client.get(TOKENS))
    assert client.token.pk not in ids
    assert other.pk in ids


def test_a_session_still_lists_every_tenant_of_the_user():
    from django.test import Client

    client, other = _two_tenant_user()
    session = Client()
    session.force_login(client.user)
    ids = listed_ids(session.get(TOKENS))
    assert {client.token.pk, other.pk} <= set(ids)
