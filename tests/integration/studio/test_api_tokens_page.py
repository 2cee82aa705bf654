"""The studio's API tokens page and the admin's: create (shown once), list, revoke."""

from __future__ import annotations

import re

import pytest

from automate.api.models import ApiToken
from automate.api.tokens import check_token
from tests.factories import make_studio_user, make_tenant, make_user
from tests.integration.api.helpers import TokenClient

pytestmark = pytest.mark.django_db

PAGE = "/studio/api-tokens/"
TOKEN = re.compile(r"da_[A-Za-z0-9]{12}_[A-Za-z0-9]{43}")


@pytest.fixture
def member(client):
    tenant = make_tenant("acme")
    user = make_studio_user("tess")
    tenant.members.add(user)
    client.force_login(user)
    return user


def test_a_token_made_in_the_studio_is_shown_once_and_works(client, member):
    response = client.post(
        PAGE, {"name": "CI", "tenant": "acme", "scopes": ["read", "write"], "expiry": "30"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    [text] = set(TOKEN.findall(html))
    assert 'data-copy="#token-value"' in html
    token = check_token(text)
    assert (token.user, token.tenant.slug, token.scopes) == (member, "acme", ["read", "write"])
    assert token.expires_at is not None
    assert TokenClient(text).get("/api/v1/events/").status_code == 200
    # Never again: the list shows the prefix only.
    again = client.get(PAGE).content.decode()
    assert text not in again
    assert f"da_{token.prefix}_" in again


def test_bad_input_is_refused_on_the_page_and_creates_nothing(client, member):
    make_tenant("other")
    for form in (
        {"name": "", "tenant": "acme", "scopes": ["read"], "expiry": "30"},
        {"name": "x", "tenant": "acme", "scopes": [], "expiry": "30"},
        {"name": "x", "tenant": "other", "scopes": ["read"], "expiry": "30"},
        {"name": "x", "tenant": "acme", "scopes": ["root"], "expiry": "30"},
        {"name": "x", "tenant": "acme", "scopes": ["read"], "expiry": "7"},
    ):
        response = client.post(PAGE, form)
        assert response.status_code == 400, form
        assert 'id="token-error"' in response.content.decode()
    assert ApiToken.objects.count() == 0


def test_revoke_from_the_studio_and_not_someone_elses(client, member):
    client.post(PAGE, {"name": "CI", "tenant": "acme", "scopes": ["read"], "expiry": "0"})
    token = ApiToken.objects.get()
    other = make_user("other")
    from automate.api.tokens import create_token

    theirs = create_token(user=other, tenant=make_tenant("x"), name="t", scopes=["read"])
    assert client.post(f"/studio/api-tokens/{theirs.token.pk}/revoke/").status_code == 404
    response = client.post(f"/studio/api-tokens/{token.pk}/revoke/", follow=True)
    assert "revoked" in response.content.decode()
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert ApiToken.objects.get(pk=theirs.token.pk).revoked_at is None


def test_the_admin_creates_a_token_and_shows_it_once(client):
    tenant = make_tenant("acme")
    admin = make_user("root", superuser=True)
    client.force_login(admin)
    response = client.post(
        "/admin/automate/apitoken/add/",
        {"name": "deploy", "tenant": tenant.pk, "scopes": ["read", "publish"], "expires_at": ""},
    )
    assert response.status_code == 200, response.content[:500]
    [text] = set(TOKEN.findall(response.content.decode()))
    assert check_token(text).scopes == ["read", "publish"]
    listing = client.get("/admin/automate/apitoken/").content.decode()
    assert text not in listing
    token = ApiToken.objects.get()
    revoked = client.post(
        "/admin/automate/apitoken/",
        {"action": "revoke_tokens", "_selected_action": [token.pk]},
        follow=True,
    )
    assert revoked.status_code == 200
    assert ApiToken.objects.get().revoked_at is not None
