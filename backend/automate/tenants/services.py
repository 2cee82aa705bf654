"""Tenant resolution: everything a user owns belongs to exactly one tenant."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from automate.exceptions import NotFoundError
from automate.tenants.models import DEFAULT_TENANT_SLUG, Tenant


def get_default_tenant() -> Tenant:
    """The tenant used when a caller names none (created on first use)."""
    try:
        return Tenant.objects.get(slug=DEFAULT_TENANT_SLUG)
    except Tenant.DoesNotExist:
        try:
            with transaction.atomic():
                return Tenant.objects.create(slug=DEFAULT_TENANT_SLUG, name="Default")
        except IntegrityError:  # another process created it first
            return Tenant.objects.get(slug=DEFAULT_TENANT_SLUG)


def resolve_tenant(tenant: Tenant | str | None) -> Tenant:
    """Accept a Tenant, a tenant slug, or None (the default tenant)."""
    if tenant is None:
        return get_default_tenant()
    if isinstance(tenant, Tenant):
        return tenant
    try:
        return Tenant.objects.get(slug=tenant)
    except Tenant.DoesNotExist:
        raise NotFoundError(
            f"Tenant {tenant!r} does not exist.", details={"tenant": tenant}
        ) from None
