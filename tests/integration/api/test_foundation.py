"""API tokens, scopes, tenancy, throttling, cursor pages, CORS and the schema."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from automate.api.models import ApiToken
from automate.api.tokens import check_token, create_token, revoke_token
from automate.events.models import Event
from automate.events.services import record_event
from automate.governance.models import AuditLogEntry
from automate.governance.redaction import redact_text
from tests.factories import make_tenant, make_user
from tests.integration.api.helpers import TokenClient, assert_error, token_client

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/events/"


def api_settings(**values):
    from django.conf import settings

    return override_settings(DJANGO_AUTOMATE={**settings.DJANGO_AUTOMATE, "API": values})


# --- tokens ---------------------------------------------------------------------------


def test_a_token_is_shown_once_and_stored_as_a_keyed_hash():
    tenant = make_tenant("acme")
    user = make_user("ci")
    tenant.members.add(user)
    new = create_token(user=user, tenant=tenant, name="CI", scopes=["write", "read"])
    assert new.text.startswith(f"da_{new.token.prefix}_")
    secret = new.text.rsplit("_", 1)[1]
    row = ApiToken.objects.get()
    assert row.scopes == ["read", "write"]
    assert secret not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert len(row.secret_hash) == 64
    assert check_token(new.text) == row
    # The audit entry names the token by prefix, never by its secret.
    entry = AuditLogEntry.objects.get(action="api_token.create")
    assert secret not in json.dumps(entry.details)
    assert entry.details["prefix"] == row.prefix


def test_the_redaction_patterns_mask_a_token():
    new = create_token(user=make_user(), tenant=make_tenant(), name="x", scopes=["read"])
    assert new.text not in redact_text(f"calling with {new.text} now")
    assert new.text not in redact_text(f"Authorization: Bearer {new.text}")


@pytest.mark.parametrize("change", ["revoked", "expired", "wrong_secret", "malformed", "inactive"])
def test_a_bad_token_is_a_401_in_the_error_shape(change):
    client = token_client(make_tenant("acme"))
    token = client.token
    text = client.text
    if change == "revoked":
        revoke_token(token=token)
    elif change == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(1))
    elif change == "wrong_secret":
        text = text[:-4] + ("aaaa" if not text.endswith("aaaa") else "bbbb")
    elif change == "malformed":
        text = "da_nope"
    elif change == "inactive":
        client.user.is_active = False
        client.user.save()
    response = TokenClient(text).get(EVENTS)
    body = assert_error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"] == "Bearer"
    assert text not in json.dumps(body)


def test_last_used_is_written_at_most_once_a_minute(monkeypatch):
    client = token_client(make_tenant("acme"))
    client.get(EVENTS)
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    client.get(EVENTS)
    assert ApiToken.objects.get().last_used_at == first
    later = timezone.now() + timedelta(seconds=61)
    monkeypatch.setattr("automate.api.tokens.timezone.now", lambda: later)
    client.get(EVENTS)
    assert ApiToken.objects.get().last_used_at == later


def test_a_token_needs_valid_scopes_and_a_name():
    from automate.exceptions import AutomateError

    for scopes, name in ((["read", "root"], "x"), ([], "x"), (["read"], " ")):
        with pytest.raises(AutomateError):
            create_token(user=make_user(), tenant=make_tenant(), name=name, scopes=scopes)


# --- scopes, permissions, tenants -------------------------------------------------------


def test_a_read_token_reads_but_cannot_write():
    client = token_client(make_tenant("acme"), scopes=["read"])
    assert client.get(EVENTS).status_code == 200
    body = assert_error(client.post(EVENTS, {"type": "x", "payload": {}}), 403, "permission_denied")
    assert "write" in body["message"]
    assert Event.objects.count() == 0


def test_a_write_token_needs_the_users_permission_too():
    client = token_client(make_tenant("acme"), perms=[])
    assert_error(client.post(EVENTS, {"type": "x", "payload": {}}), 403, "permission_denied")


def test_a_token_sees_only_its_tenant_and_404s_for_others():
    acme, globex = make_tenant("acme"), make_tenant("globex")
    own, _ = record_event(type="a", payload={}, tenant=acme)
    other, _ = record_event(type="b", payload={}, tenant=globex)
    user = make_user(perms=["automate.add_event"])
    acme.members.add(user)
    globex.members.add(user)
    client = token_client(acme, user=user)
    listed = [row["id"] for row in client.get(EVENTS).json()["results"]]
    assert listed == [str(own.pk)]
    assert client.get(f"{EVENTS}{own.pk}/").status_code == 200
    assert_error(client.get(f"{EVENTS}{other.pk}/"), 404, "resource_not_found")
    # Writing into another tenant by name is refused as if it did not exist.
    assert_error(client.post(EVENTS, {"type": "x", "payload": {}, "tenant": "globex"}), 404)


def test_a_token_of_a_user_removed_from_the_tenant_is_refused():
    acme = make_tenant("acme")
    record_event(type="a", payload={}, tenant=acme)
    client = token_client(acme)
    acme.members.remove(client.user)
    make_tenant("other").members.add(client.user)
    assert_error(client.get(EVENTS), 401, "authentication_failed")


def test_sessions_need_the_csrf_token_for_writes():
    user = make_user(perms=["automate.add_event"])
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get(EVENTS).status_code == 200
    refused = client.post(EVENTS, {"type": "x", "payload": {}}, content_type="application/json")
    assert_error(refused, 403, "permission_denied")
    assert "CSRF" in refused.json()["message"]


def test_http_basic_is_off_by_default():
    user = make_user("basic", perms=["automate.add_event"])
    login = user.get_username()
    header = "Basic " + base64.b64encode(f"{login}:pw-for-tests-only".encode()).decode()
    response = Client().get(EVENTS, HTTP_AUTHORIZATION=header)
    assert_error(response, 401, "not_authenticated")


# --- throttling -------------------------------------------------------------------------


def test_over_the_token_rate_is_a_429_with_retry_after():
    client = token_client(make_tenant("acme"))
    with api_settings(token_rate_per_minute=2):
        statuses = [client.get(EVENTS).status_code for _ in range(2)]
        refused = client.get(EVENTS)
    assert statuses == [200, 200]
    assert_error(refused, 429, "rate_limited")
    assert 1 <= int(refused["Retry-After"]) <= 61


def test_the_tenant_rate_counts_every_token_of_the_tenant():
    acme = make_tenant("acme")
    first, second = token_client(acme), token_client(acme)
    other = token_client(make_tenant("globex"))
    with api_settings(tenant_rate_per_minute=2):
        assert first.get(EVENTS).status_code == 200
        assert second.get(EVENTS).status_code == 200
        assert_error(first.get(EVENTS), 429, "rate_limited")
        assert other.get(EVENTS).status_code == 200


# --- cursor pages -----------------------------------------------------------------------


def test_pages_are_stable_while_events_arrive():
    acme = make_tenant("acme")
    made = [record_event(type="t", payload={"n": n}, tenant=acme)[0] for n in range(5)]
    client = token_client(acme)
    seen, cursor = [], None
    while True:
        page = client.get(EVENTS, {"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [row["payload"]["n"] for row in page["results"]]
        # New events arrive between pages: they never shift the pages still to come.
        record_event(type="t", payload={"n": 100 + len(seen)}, tenant=acme)
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert page["next"].endswith(f"cursor={cursor}") or f"cursor={cursor}" in page["next"]
    assert seen == [4, 3, 2, 1, 0]
    assert len(made) == 5


def test_a_bad_cursor_or_limit_is_a_400_and_the_limit_is_capped():
    acme = make_tenant("acme")
    for n in range(3):
        record_event(type="t", payload={"n": n}, tenant=acme)
    client = token_client(acme)
    assert_error(client.get(EVENTS, {"cursor": "garbage!"}), 400, "invalid_cursor")
    assert_error(client.get(EVENTS, {"limit": "0"}), 400, "invalid_request")
    assert_error(client.get(EVENTS, {"limit": "-3"}), 400, "invalid_request")
    with api_settings(max_page_size=2):
        assert len(client.get(EVENTS, {"limit": 1000}).json()["results"]) == 2


# --- CORS, schema, docs -----------------------------------------------------------------


def test_cors_is_off_unless_an_origin_is_allowed():
    client = token_client(make_tenant("acme"))
    origin = "https://app.example.com"
    assert "Access-Control-Allow-Origin" not in client.get(EVENTS, HTTP_ORIGIN=origin)
    with api_settings(cors_allowed_origins=[origin]):
        response = client.get(EVENTS, HTTP_ORIGIN=origin)
        assert response["Access-Control-Allow-Origin"] == origin
        preflight = Client().options(
            EVENTS, HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
        )
        assert preflight.status_code == 200
        assert "Authorization" in preflight["Access-Control-Allow-Headers"]
        other = client.get(EVENTS, HTTP_ORIGIN="https://evil.example")
        assert "Access-Control-Allow-Origin" not in other


def test_every_operation_has_its_error_responses():
    schema = Client().get("/api/v1/schema/").json()
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
    operations = [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert operations
    for path, method, op in operations:
        if path == "/api/v1/health/":
            continue
        for status in ("400", "401", "403", "429"):
            assert status in op["responses"], (path, method, status)
        ok = [s for s in op["responses"] if s.startswith("2")]
        assert ok, (path, method)


def test_the_docs_page_loads_swagger_ui_from_static_files():
    html = Client().get("/api/v1/docs/").content.decode()
    assert "vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "vendor/swagger-ui/swagger-ui.css" in html
    assert "/api/v1/schema/" in html
    assert "https://" not in html
    assert "http://" not in html


def test_an_unmatched_api_path_is_a_404_in_the_error_shape():
    client = token_client(make_tenant("acme"))
    assert_error(client.get("/api/v1/runs/not-a-uuid/"), 404, "resource_not_found")
    assert_error(Client().get("/api/v1/nothing-here/"), 404, "resource_not_found")
    page = Client().get("/studio-nothing/")
    assert page.status_code == 404
    assert "html" in page["Content-Type"]


def test_the_idempotency_key_header_dedupes_events():
    client = token_client(make_tenant("acme"))
    body = {"type": "order.paid", "payload": {"n": 1, "m": [1, 2]}}
    first = client.post(EVENTS, body, HTTP_IDEMPOTENCY_KEY="order-1")
    # The same request again (keys in another order): the first event, 200.
    same = {"payload": {"m": [1, 2], "n": 1}, "type": "order.paid"}
    again = client.post(EVENTS, same, HTTP_IDEMPOTENCY_KEY="order-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    clash = client.post(EVENTS, {**body, "dedupe_key": "other"}, HTTP_IDEMPOTENCY_KEY="order-1")
    refused = assert_error(clash, 400, "invalid_request")
    # Only the field's name, not a masked value.
    assert refused["details"] == {
        "fields": {"dedupe_key": ["Differs from the Idempotency-Key header."]}
    }
    assert Event.objects.count() == 1


@pytest.mark.parametrize(
    "change",
    [{"payload": {"n": 2}}, {"payload": {}}, {"type": "order.refunded"}, {"source": "shop"}],
    ids=["payload", "empty payload", "type", "source"],
)
def test_an_idempotency_key_reused_for_another_body_is_a_422(change):
    client = token_client(make_tenant("acme"))
    body = {"type": "order.paid", "payload": {"n": 1}}
    first = client.post(EVENTS, body, HTTP_IDEMPOTENCY_KEY="order-1")
    assert first.status_code == 201
    reused = client.post(EVENTS, {**body, **change}, HTTP_IDEMPOTENCY_KEY="order-1")
    refused = assert_error(reused, 422, "idempotency_key_reused")
    assert refused["details"] == {"event": first.json()["id"]}
    assert Event.objects.count() == 1
    assert Event.objects.get().payload == {"n": 1}


def test_a_dedupe_key_in_the_body_still_returns_the_first_event():
    """dedupe_key (a webhook delivery id, say) keeps its meaning: seen, so ignored."""
    client = token_client(make_tenant("acme"))
    first = client.post(EVENTS, {"type": "t", "payload": {"n": 1}, "dedupe_key": "d-1"})
    again = client.post(EVENTS, {"type": "t", "payload": {"n": 2}, "dedupe_key": "d-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]


def test_a_token_over_its_own_limit_does_not_use_up_its_tenants_quota():
    acme = make_tenant("acme")
    noisy, quiet = token_client(acme), token_client(acme)
    with api_settings(token_rate_per_minute=1, tenant_rate_per_minute=3):
        assert noisy.get(EVENTS).status_code == 200
        for _ in range(5):
            assert_error(noisy.get(EVENTS), 429, "rate_limited")
        # The five refusals were not counted for acme: two requests are left.
        assert quiet.get(EVENTS).status_code == 200
        second = token_client(acme)
        assert second.get(EVENTS).status_code == 200
        assert_error(token_client(acme).get(EVENTS), 429, "rate_limited")


def test_the_tenant_limit_still_refuses_when_the_token_is_within_its_own():
    acme = make_tenant("acme")
    clients = [token_client(acme) for _ in range(3)]
    with api_settings(token_rate_per_minute=5, tenant_rate_per_minute=2):
        assert [c.get(EVENTS).status_code for c in clients] == [200, 200, 429]
