"""Which tenants a user may act in."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from automate.exceptions import AutomateError, NotFoundError
from automate.tenants.models import DEFAULT_TENANT_SLUG, Tenant
from automate.tenants.services import get_default_tenant


class TenantAccessError(AutomateError):
    code = "permission_denied"
    http_status = 403


def tenants_for(user: Any) -> QuerySet[Tenant]:
    """Superusers see every tenant; members see theirs; users in none see the default."""
    if user is None or not user.is_authenticated:
        return Tenant.objects.none()
    if user.is_superuser:
        return Tenant.objects.all()
    mine = Tenant.objects.filter(members=user)
    if mine.exists():
        return mine
    get_default_tenant()
    return Tenant.objects.filter(slug=DEFAULT_TENANT_SLUG)


def tenant_for_write(user: Any, slug: str | None) -> Tenant:
    """The tenant a request acts in: the named one if the user may, else their first."""
    allowed = tenants_for(user)
    if slug is None:
        tenant = allowed.order_by("slug").first()
        if tenant is None:
            raise TenantAccessError("You belong to no tenant.")
        return tenant
    tenant = allowed.filter(slug=slug).first()
    if tenant is None:
        # The same answer whether it exists or not: tenant names are not disclosed.
        raise NotFoundError(f"Tenant {slug!r} does not exist.", details={"tenant": slug})
    return tenant
