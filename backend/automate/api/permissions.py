"""Who may call what: token scopes, Django permissions, and the request's tenants.

A request signed with an API token may use only its token's scopes and only its token's
tenant (and only while its user still belongs to that tenant). A session (the studio)
has every scope, within the user's tenants. Either way the user's Django permissions
apply too, the same ones the studio and the admin check (``automate.change_workflow``,
``automate.publish_workflow``, ``automate.operate_run``, ``automate.add_event``…).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from automate.api.models import ApiToken
from automate.tenants.models import Tenant
from automate.tenants.queries import tenant_for_write, tenant_ids_for

__all__ = [
    "HasScope",
    "request_tenant_ids",
    "required_scope",
    "token_of",
    "write_tenant",
]


def token_of(request: Request) -> ApiToken | None:
    """The API token the request is signed with, or None (a session)."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiToken) else None


def request_tenant_ids(request: Request) -> tuple[int, ...] | None:
    """The tenants the request may see: the token's one tenant (while its user still
    belongs to it), else the user's tenants; None means every tenant (a superuser's
    session)."""
    user = getattr(request, "user", None)
    ids = tenant_ids_for(user)
    token = token_of(request)
    if token is None:
        return ids
    if ids is None or token.tenant_id in ids:
        return (token.tenant_id,)
    return ()


def write_tenant(request: Request, slug: str | None = None) -> Tenant:
    """The tenant a write acts in: the token's tenant (while its user still belongs to
    it, else InvalidTokenError, 401), or for a session the named one the user belongs to
    (their first when none is named). NotFoundError for another tenant."""
    token = token_of(request)
    if token is None:
        return tenant_for_write(request.user, slug)
    if not request_tenant_ids(request):  # () once the user left the token's tenant
        # The authenticator refuses such a token already; this is the second lock.
        from automate.api.tokens import InvalidTokenError

        raise InvalidTokenError(gettext("The API token is invalid, revoked or expired."))
    if slug is not None and slug != token.tenant.slug:
        from automate.exceptions import NotFoundError

        raise NotFoundError(f"Tenant {slug!r} does not exist.", details={"tenant": slug})
    return token.tenant


def required_scope(request: Request, view: Any) -> str:
    """The scope a call needs: ``view.action_scopes[action]`` (or ``[method]``), else
    ``read`` for safe methods and ``write`` for the others."""
    scopes: dict[str, str] = getattr(view, "action_scopes", {}) or {}
    action = getattr(view, "action", None)
    if action and action in scopes:
        return scopes[action]
    if request.method in scopes:
        return scopes[str(request.method)]
    return "read" if request.method in SAFE_METHODS else "write"


class HasScope(BasePermission):
    """The token holds the scope of the call, and the user the Django permissions of
    ``view.action_perms[action]`` (a list; none when the action is not listed)."""

    message = "permission_denied"

    def has_permission(self, request: Request, view: Any) -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        scope = required_scope(request, view)
        token = token_of(request)
        if token is not None and scope not in token.scopes:
            self.message = gettext(
                "This API token lacks the %(scope)s scope (it has: %(scopes)s)."
            ) % {"scope": scope, "scopes": ", ".join(token.scopes) or "none"}
            return False
        perms: dict[str, list[str]] = getattr(view, "action_perms", {}) or {}
        needed = perms.get(getattr(view, "action", None) or "", perms.get(str(request.method), []))
        missing = [p for p in needed if not user.has_perm(p)]
        if missing:
            self.message = gettext("You need the %(perms)s permission.") % {
                "perms": ", ".join(missing)
            }
            return False
        return True
