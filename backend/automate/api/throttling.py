"""Rate limits of the API: per token (or session user) and per tenant.

Both count in the shared database rate limiter (``automate.governance.ratelimit``), so
every process of the site shares one count. Over a limit the API answers 429 in the error
shape with ``Retry-After`` (seconds until the minute window ends). Limits:
``DJANGO_AUTOMATE["API"]["token_rate_per_minute"]`` and ``["tenant_rate_per_minute"]``.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from automate import conf
from automate.governance.ratelimit import hit

__all__ = ["TenantRateThrottle", "TokenRateThrottle"]


class _WindowThrottle(BaseThrottle):
    setting = ""

    def __init__(self) -> None:
        self._wait: float | None = None

    def key(self, request: Request, view: Any) -> str | None:
        raise NotImplementedError

    def limit(self) -> int:
        return int(conf.get("API", self.setting))

    def allow_request(self, request: Request, view: Any) -> bool:
        key = self.key(request, view)
        if key is None:
            return True
        decision = hit(key, limit=self.limit())
        if not decision.allowed:
            self._wait = decision.retry_after
        return decision.allowed

    def wait(self) -> float | None:
        return self._wait


class TokenRateThrottle(_WindowThrottle):
    """``API.token_rate_per_minute`` requests per token (per user for sessions)."""

    setting = "token_rate_per_minute"

    def key(self, request: Request, view: Any) -> str | None:
        from automate.api.permissions import token_of

        token = token_of(request)
        if token is not None:
            return f"api-token:{token.pk}"
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return f"api-user:{user.pk}"
        return None


class TenantRateThrottle(_WindowThrottle):
    """``API.tenant_rate_per_minute`` requests per tenant, all its tokens together.

    Sessions of users in several tenants (and superusers) are limited per user only.
    """

    setting = "tenant_rate_per_minute"

    def key(self, request: Request, view: Any) -> str | None:
        from automate.api.permissions import request_tenant_ids

        ids = request_tenant_ids(request)
        if ids is None or len(ids) != 1:
            return None
        return f"api-tenant:{ids[0]}"
