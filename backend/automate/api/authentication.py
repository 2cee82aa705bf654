"""HTTP Basic for the API, throttled before the password hash.

Every Basic request hashes a password (PBKDF2, about half a second of CPU by design), so
an unthrottled Basic endpoint lets anyone burn the server's CPU or guess passwords at
the speed of its cores. ``ThrottledBasicAuthentication`` counts Basic attempts per client
address in the shared database rate limiter (``POLICY.api_basic_auth_per_minute``) and
answers 429 with ``Retry-After`` *before* hashing once the address is over the limit.
Sessions (the studio, the browsable API) are not counted; prefer them, or keep
integrations under the limit.
"""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BasicAuthentication
from rest_framework.exceptions import Throttled
from rest_framework.request import Request

from automate import conf
from automate.governance.ratelimit import hit


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
                f"retry in {decision.retry_after} s, or sign in with a session.",
            )
        return super().authenticate_credentials(userid, password, request)
