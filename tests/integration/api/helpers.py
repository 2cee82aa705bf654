"""Tokens and clients for the API tests."""

from __future__ import annotations

from typing import Any

from django.test import Client

from automate.api.tokens import create_token
from tests.factories import STUDIO_PERMS, make_tenant, make_user

ALL_SCOPES = ["read", "write", "publish", "admin"]
ALL_PERMS = [*STUDIO_PERMS, "automate.add_event"]


class TokenClient:
    """A Django test client that signs every request with a bearer token."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.client = Client(enforce_csrf_checks=True)

    def _send(self, method: str, url: str, data: Any = None, **extra: Any) -> Any:
        import json

        extra.setdefault("HTTP_AUTHORIZATION", f"Bearer {self.text}")
        body = b"" if data is None else json.dumps(data).encode()
        return self.client.generic(method, url, body, content_type="application/json", **extra)

    def get(self, url: str, data: dict[str, Any] | None = None, **extra: Any) -> Any:
        extra.setdefault("HTTP_AUTHORIZATION", f"Bearer {self.text}")
        return self.client.get(url, data or {}, **extra)

    def post(self, url: str, data: Any = None, **extra: Any) -> Any:
        return self._send("POST", url, data, **extra)

    def put(self, url: str, data: Any = None, **extra: Any) -> Any:
        return self._send("PUT", url, data, **extra)

    def patch(self, url: str, data: Any = None, **extra: Any) -> Any:
        return self._send("PATCH", url, data, **extra)

    def delete(self, url: str, **extra: Any) -> Any:
        return self._send("DELETE", url, None, **extra)


def token_client(
    tenant: Any = None,
    *,
    scopes: list[str] | None = None,
    perms: list[str] | None = None,
    user: Any = None,
) -> TokenClient:
    """A client with a fresh token of a member of ``tenant`` (made when None)."""
    tenant = tenant or make_tenant()
    if user is None:
        user = make_user(perms=ALL_PERMS if perms is None else perms)
        tenant.members.add(user)
    new = create_token(user=user, tenant=tenant, name="tests", scopes=scopes or ALL_SCOPES)
    client = TokenClient(new.text)
    client.token = new.token  # type: ignore[attr-defined]
    client.tenant = tenant  # type: ignore[attr-defined]
    client.user = user  # type: ignore[attr-defined]
    return client


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content[:400])
    body = response.json()
    assert set(body) == {"code", "message", "details", "trace_id"}, body
    if code is not None:
        assert body["code"] == code, body
    return body
