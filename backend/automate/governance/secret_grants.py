"""Which tenant may use which secret: the owner of a resolution, and ``SECRETS.env_grants``.

Stored secrets (the ``db`` backend) belong to one tenant each, so the backend itself
answers only for the tenant asked about. Secrets of a deployment-wide backend (``env``,
or any backend whose ``tenant_scoped`` is False) are shared by the whole site: on a site
with one tenant they all stay usable with no configuration, but as soon as there is a
second tenant, a tenant may use one only where the setting grants it::

    DJANGO_AUTOMATE = {
        "SECRETS": {
            "env_grants": {
                "acme": ["SLACK_TOKEN", "STRIPE_WEBHOOK_SECRET"],  # these names only
                "ops": "*",  # every env secret
                "*": ["SENTRY_DSN"],  # every tenant
            }
        }
    }

Keys are tenant slugs or ``"*"`` (every tenant); values are ``"*"`` or a list of secret
names. A slug with no tenant grants nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from automate import conf
from automate.governance.exceptions import SecretNotGrantedError, SecretTenantRequiredError

if TYPE_CHECKING:
    from automate.tenants.models import Tenant

__all__ = [
    "ALL",
    "GRANTS_SETTING",
    "env_grants_problem",
    "grants_allow",
    "has_several_tenants",
    "require_env_grant",
    "secret_owner",
    "visible_env_names",
]

ALL = "*"
GRANTS_SETTING = "DJANGO_AUTOMATE['SECRETS']['env_grants']"

# Kept in step with SECRET_NAME_PATTERN and Tenant.slug (a SlugField); this module is
# imported by automate.conf's validation, which must not import models.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,64}")


def env_grants_problem(value: Any) -> str | None:
    """Why ``value`` is not a valid ``env_grants`` setting, or None (used by the checks)."""
    for key, names in value.items():
        if not isinstance(key, str) or not (key == ALL or _SLUG.fullmatch(key)):
            return f'keys must be tenant slugs or "*", not {key!r}'
        if names == ALL:
            continue
        if not isinstance(names, list):
            return f'[{key!r}] must be "*" or a list of secret names, not {type(names).__name__}'
        for name in names:
            if not isinstance(name, str) or not _NAME.fullmatch(name):
                return (
                    f"[{key!r}] holds {name!r}, which is not a secret name (1-128 letters, "
                    'digits and underscores, not starting with a digit; "*" alone grants all)'
                )
    return None


def grants_allow(grants: Mapping[str, Any], *, name: str, tenant_slug: str) -> bool:
    """Whether ``grants`` (an ``env_grants`` value) lets tenant ``tenant_slug`` use ``name``."""
    for key in (tenant_slug, ALL):
        names = grants.get(key)
        if names == ALL or (isinstance(names, list) and name in names):
            return True
    return False


def has_several_tenants() -> bool:
    """Whether the site has more than one tenant (env secrets then need a grant)."""
    from automate.tenants.models import Tenant

    return Tenant.objects.all()[:2].count() > 1


def secret_owner(tenant: Tenant | str | None, *, name: str) -> Tenant:
    """The tenant whose secret ``name`` is: ``tenant`` itself, a tenant by slug, or for
    ``None`` the site's only tenant (the default tenant, created if there is none).

    ``None`` on a site with several tenants raises ``SecretTenantRequiredError``: there
    is no safe guess of whose secret it is. An unknown slug raises ``NotFoundError``.
    """
    from automate.tenants.models import Tenant
    from automate.tenants.services import get_default_tenant, resolve_tenant

    if tenant is not None:
        return resolve_tenant(tenant)
    tenants = list(Tenant.objects.order_by("pk")[:2])
    if len(tenants) > 1:
        raise SecretTenantRequiredError(name)
    return tenants[0] if tenants else get_default_tenant()


def require_env_grant(name: str, tenant: Tenant) -> None:
    """Raise ``SecretNotGrantedError`` unless ``tenant`` may use deployment-wide ``name``."""
    grants = conf.get("SECRETS", "env_grants")
    if grants_allow(grants, name=name, tenant_slug=tenant.slug):
        return
    if has_several_tenants():
        raise SecretNotGrantedError(name, tenant.slug)


def visible_env_names(names: Iterable[str], tenant: Tenant) -> list[str]:
    """The deployment-wide secret ``names`` that ``tenant`` may use, sorted."""
    names = sorted(names)
    if not has_several_tenants():
        return names
    grants = conf.get("SECRETS", "env_grants")
    return [name for name in names if grants_allow(grants, name=name, tenant_slug=tenant.slug)]
