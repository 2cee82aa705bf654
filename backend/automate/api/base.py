"""The REST API's base classes (stable public surface), for our API and a host project's.

>>> from automate.api.base import BaseViewSet, TenantFilterMixin

Every base class authenticates with API tokens (``Authorization: Bearer da_…``) and
sessions (CSRF-checked), checks the token's scope and the user's Django permissions
(:class:`automate.api.permissions.HasScope`), throttles per token and per tenant, parses
JSON through the input guard, answers every error in the one shape
``{"code", "message", "details", "trace_id"}`` and wears ``automate.guard.http.guarded``.
Override points are DRF's own: ``get_permissions``, ``get_throttles``,
``get_authenticators``, ``get_queryset``; class attributes ``action_scopes``
(``{"publish": "publish"}``) and ``action_perms`` (``{"create": ["app.add_thing"]}``).

Mixins:

* :class:`TenantFilterMixin` limits ``get_queryset()`` to the request's tenants through
  ``tenant_field`` (an ORM path such as ``"tenant"``, ``"workflow__tenant"`` or a column
  such as ``"organization_id"``), so another tenant's object is a 404, as for an id that
  does not exist.
* :class:`PaginationMixin`: opaque cursor pages ``?cursor=&limit=`` by ``cursor_field``
  (``created_at``) and primary key, newest first.
* :class:`RateLimitMixin`: the per-token and per-tenant throttles (429, ``Retry-After``).
* :class:`CORSMixin`: CORS headers for ``API.cors_allowed_origins`` (none by default).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

from django.db.models import QuerySet
from rest_framework import viewsets
from rest_framework.pagination import BasePagination
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from automate import conf
from automate.api.authentication import ApiTokenAuthentication
from automate.api.errors import exception_handler
from automate.api.pagination import CreatedCursorPagination
from automate.api.permissions import HasScope, request_tenant_ids
from automate.api.throttling import TenantRateThrottle, TokenRateThrottle
from automate.guard.drf import GuardedJSONParser
from automate.guard.http import guarded

__all__ = [
    "BaseAPIView",
    "BaseGenericViewSet",
    "BaseModelViewSet",
    "BaseReadOnlyViewSet",
    "BaseViewSet",
    "CORSMixin",
    "PaginationMixin",
    "RateLimitMixin",
    "TenantFilterMixin",
]


class RateLimitMixin:
    """Per-token (``API.token_rate_per_minute``) and per-tenant
    (``API.tenant_rate_per_minute``) throttles, asked in that order; the first refusal
    answers 429 and the later ones are not counted. Override ``get_throttles`` to add or
    swap."""

    throttle_classes: Sequence[type[BaseThrottle]] = [TokenRateThrottle, TenantRateThrottle]

    def check_throttles(self, request: Request) -> None:
        """Ask the throttles in order and stop at the first refusal (429), so a request a
        token's own limit refuses is not counted against its tenant as well (DRF asks,
        and so counts, every throttle)."""
        for throttle in self.get_throttles():  # type: ignore[attr-defined]
            if not throttle.allow_request(request, self):
                self.throttled(request, throttle.wait())  # type: ignore[attr-defined]


class PaginationMixin:
    """Cursor pagination ``?cursor=&limit=`` by ``(cursor_field, pk)``, newest first."""

    pagination_class: type[BasePagination] | None = CreatedCursorPagination
    cursor_field = "created_at"


class TenantFilterMixin:
    """Limit ``get_queryset()`` to the request's tenants through ``tenant_field``."""

    tenant_field = "tenant"

    def get_queryset(self) -> QuerySet[Any]:
        queryset: QuerySet[Any] = super().get_queryset()  # type: ignore[misc]
        ids = request_tenant_ids(self.request)  # type: ignore[attr-defined]
        if ids is None:
            return queryset
        return queryset.filter(**{f"{self.tenant_field}__in": ids})


class CORSMixin:
    """CORS for browser callers from ``DJANGO_AUTOMATE["API"]["cors_allowed_origins"]``
    (exact origins such as ``"https://app.example.com"``, or ``"*"``). Off when empty:
    no header is sent and browsers refuse cross-origin calls. Credentials (cookies) are
    never allowed cross-origin: browser callers send a token."""

    cors_allow_headers = "Authorization, Content-Type, Idempotency-Key, traceparent"

    def _cors_origin(self, request: Any) -> str | None:
        origin = request.headers.get("Origin")
        allowed = conf.get("API", "cors_allowed_origins")
        if not origin or not allowed:
            return None
        return origin if ("*" in allowed or origin in allowed) else None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if (
            request.method == "OPTIONS"
            and "Access-Control-Request-Method" in request.headers
            and self._cors_origin(request)
        ):
            return  # a preflight carries no credentials; it only asks
        super().initial(request, *args, **kwargs)  # type: ignore[misc]

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = cast(Response, super().finalize_response(request, response, *args, **kwargs))  # type: ignore[misc]
        origin = self._cors_origin(request)
        if origin:
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Headers"] = self.cors_allow_headers
            response["Access-Control-Allow-Methods"] = ", ".join(
                self.allowed_methods  # type: ignore[attr-defined]
            )
            response["Access-Control-Expose-Headers"] = "Retry-After"
            response["Access-Control-Max-Age"] = "600"
        response["Vary"] = ", ".join(v for v in (response.get("Vary"), "Origin") if v)
        return response


class _Defaults(CORSMixin, RateLimitMixin):
    """What every base class shares (see the module docstring)."""

    permission_classes: Sequence[Any] = [HasScope]
    parser_classes: Sequence[type[BaseParser]] = [GuardedJSONParser]
    renderer_classes: Sequence[type[BaseRenderer]] = [JSONRenderer]
    #: {action or HTTP method: scope}; unlisted: read for safe methods, write otherwise.
    action_scopes: dict[str, str] = {}
    #: {action or HTTP method: [Django permission, ...]} the user must also hold.
    action_perms: dict[str, list[str]] = {}

    def get_authenticators(self) -> list[Any]:
        """Tokens first, then the site's DRF authenticators (sessions; Basic if enabled)."""
        configured = cast(list[Any], api_settings.DEFAULT_AUTHENTICATION_CLASSES)
        others = [cls() for cls in configured if cls is not ApiTokenAuthentication]
        return [ApiTokenAuthentication(), *others]

    def get_exception_handler(self) -> Callable[..., Any]:
        return exception_handler

    @classmethod
    def as_view(cls, *args: Any, **kwargs: Any) -> Any:
        view = super().as_view(*args, **kwargs)  # type: ignore[misc]
        return guarded("json")(view)


class BaseAPIView(_Defaults, APIView):
    """A single endpoint (``get``/``post``… methods)."""


class BaseViewSet(_Defaults, viewsets.ViewSet):
    """A set of actions without a model (``list``, ``retrieve``, ``@action``…)."""


class BaseGenericViewSet(_Defaults, viewsets.GenericViewSet):  # type: ignore[type-arg]
    """Actions on a queryset, with no action of its own: add DRF's mixins."""


class BaseReadOnlyViewSet(_Defaults, viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """``list`` and ``retrieve`` of a model."""


class BaseModelViewSet(_Defaults, viewsets.ModelViewSet):  # type: ignore[type-arg]
    """Full CRUD of a model: list, retrieve, create, update, partial_update, destroy."""
