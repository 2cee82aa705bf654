"""How API requests say who they are.

* :class:`ApiTokenAuthentication`: ``Authorization: Bearer da_<prefix>_<secret>``, the
  way integrations and CI sign in (scoped, tied to one tenant; see ``automate.api.tokens``).
* DRF's ``SessionAuthentication``: the studio's own calls and the browsable docs, with
  Django's CSRF check on every unsafe method.
* :class:`ThrottledBasicAuthentication`: HTTP Basic, **off by default**
  (``DJANGO_API_BASIC_AUTH=1`` in the standalone site's settings turns it on). Every
  Basic request hashes a password (PBKDF2, about half a second of CPU by design), so
  Basic attempts are counted per client address in the shared database rate limiter
  (``POLICY.api_basic_auth_per_minute``) and refused with 429 and ``Retry-After``
  *before* hashing once the address is over the limit. Prefer tokens.
"""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication, BasicAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request

from automate import conf
from automate.governance.ratelimit import hit

__all__ = ["ApiTokenAuthentication", "ThrottledBasicAuthentication"]


class ApiTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>``; ``request.auth`` is the :class:`ApiToken`.

    A header that is not a bearer token is left to the other authenticators; a bearer
    token that is malformed, unknown, revoked or expired is refused (401) with one message.
    """

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        from automate.api.tokens import InvalidTokenError, check_token

        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        try:
            token = check_token(credential.strip())
        except InvalidTokenError as exc:
            raise AuthenticationFailed(exc.message) from None
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class ThrottledBasicAuthentication(BasicAuthentication):
    """DRF's ``BasicAuthentication`` with a per-address attempt limit checked first.

    The address is ``REMOTE_ADDR``: behind a proxy, every client shares the proxy's
    address, so set the limit for the proxy (or have the proxy limit per client).
    """

    def authenticate_credentials(
        self, userid: str, password: str, request: Request | None = None
    ) -> tuple[Any, None]:
        """Count the attempt, refuse with 429 over the limit, then check the password."""
        limit = conf.get("POLICY", "api_basic_auth_per_minute")
        address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
        decision = hit(f"api-basic:{address}", limit=limit)
        if not decision.allowed:
            raise Throttled(
                wait=decision.retry_after,
                detail=f"More than {limit} HTTP Basic sign-ins this minute from this address; "
                f"retry in {decision.retry_after} s, or use an API token.",
            )
        return super().authenticate_credentials(userid, password, request)
