"""Which tenants a user may act in.

The answer is read once per user object and kept on it, the way Django's ``ModelBackend``
keeps permissions (``user._perm_cache``): the authentication middleware loads a fresh user
for every request, so a request reads the tenant table once however many queries it
scopes. Reading never writes: the default tenant is created by the first write that needs
it (:func:`tenant_for_write`, ``resolve_tenant(None)``); until then a user in no tenant
sees nothing, which is all the default tenant would hold. (Creating it at ``migrate``
would turn every site with one tenant of its own into a site with two, and change which
environment secrets that tenant may use.)
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from automate.exceptions import AutomateError, NotFoundError
from automate.tenants.models import DEFAULT_TENANT_SLUG, Tenant
from automate.tenants.services import get_default_tenant

__all__ = ["TenantAccessError", "tenant_for_write", "tenant_ids_for", "tenants_for"]

_CACHE = "_automate_tenant_ids"


class TenantAccessError(AutomateError):
    code = "permission_denied"
    http_status = 403


def tenant_ids_for(user: Any) -> tuple[int, ...] | None:
    """The primary keys of the user's tenants, or None for "every tenant" (superusers).

    Members get their tenants; an authenticated user in none gets the default tenant (if
    it exists); anonymous users get none. Filter with ``tenant_id__in=ids``: a list of
    numbers, unlike a subquery, lets the database walk a ``(tenant, created_at)`` index.
    """
    if user is None or not user.is_authenticated:
        return ()
    if user.is_superuser:
        return None
    cached: tuple[int, ...] | None = getattr(user, _CACHE, None)
    if cached is not None:
        return cached
    ids = tuple(Tenant.objects.filter(members=user).order_by("pk").values_list("pk", flat=True))
    if not ids:
        ids = tuple(Tenant.objects.filter(slug=DEFAULT_TENANT_SLUG).values_list("pk", flat=True))
    setattr(user, _CACHE, ids)
    return ids


def tenants_for(user: Any) -> QuerySet[Tenant]:
    """Superusers see every tenant; members see theirs; users in none see the default."""
    ids = tenant_ids_for(user)
    if ids is None:
        return Tenant.objects.all()
    return Tenant.objects.filter(pk__in=ids)


def tenant_for_write(user: Any, slug: str | None) -> Tenant:
    """The tenant a request acts in: the named one if the user may, else their first.

    A user in no tenant writes in the default tenant, created here if ``migrate`` did not.
    """
    allowed = tenants_for(user)
    if slug is None:
        tenant = allowed.order_by("slug").first()
        if tenant is None and _in_no_tenant(user):
            tenant = get_default_tenant()
        if tenant is None:
            raise TenantAccessError("You belong to no tenant.")
        return tenant
    tenant = allowed.filter(slug=slug).first()
    if tenant is None and slug == DEFAULT_TENANT_SLUG and _in_no_tenant(user):
        tenant = get_default_tenant()
    if tenant is None:
        # The same answer whether it exists or not: tenant names are not disclosed.
        raise NotFoundError(f"Tenant {slug!r} does not exist.", details={"tenant": slug})
    return tenant


def _in_no_tenant(user: Any) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and not Tenant.objects.filter(members=user).exists()
    )
