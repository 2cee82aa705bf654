"""Errors raised while reading secret references and resolving them.

No error message here ever contains a secret value: only secret names, setting values
and the names of environment variables.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from automate.exceptions import AutomateError

__all__ = [
    "InvalidSecretRefError",
    "SecretNotFoundError",
    "SecretNotGrantedError",
    "SecretTenantRequiredError",
    "SecretsConfigurationError",
]


class InvalidSecretRefError(AutomateError):
    """A value is not a valid ``{"$secret": "NAME"}`` / ``"$secret:NAME"`` reference."""

    code = "invalid_secret_ref"


class SecretNotFoundError(AutomateError):
    """The configured secrets backend has no secret with this name.

    Backends raise it as ``SecretNotFoundError(name, hint="…")``; the hint says where the
    backend looked (an environment variable name, a vault path), never a value.
    """

    code = "secret_not_found"

    def __init__(self, name: str, hint: str | None = None) -> None:
        message = f'Secret "{name}" was not found ($secret:{name}).'
        if hint:
            message = f"{message} {hint}"
        super().__init__(message, details={"secret": name})
        self.name = name
        self.hint = hint

    def __reduce__(self) -> tuple[type[SecretNotFoundError], tuple[str, str | None]]:
        # Rebuilt from the name, not the message, when it crosses a process boundary.
        return (type(self), (self.name, self.hint))


class SecretNotGrantedError(AutomateError):
    """A deployment-wide secret (``env`` backend) that this tenant is not granted.

    Only raised on a site with more than one tenant, and before the backend is asked, so
    the answer is the same whether the secret exists or not.
    """

    code = "secret_not_granted"
    http_status = 403

    def __init__(self, name: str, tenant: str) -> None:
        super().__init__(
            f'Secret "{name}" is not available to tenant "{tenant}": secrets of the '
            "deployment-wide backend are shared by every tenant, so on a site with several "
            "tenants each one may use only the names DJANGO_AUTOMATE['SECRETS']"
            f'[\'env_grants\'] grants it (add "{name}" to env_grants["{tenant}"]).',
            details={"secret": name, "tenant": tenant},
        )
        self.name = name
        self.tenant = tenant

    def __reduce__(self) -> tuple[type[SecretNotGrantedError], tuple[str, str]]:
        return (type(self), (self.name, self.tenant))


class SecretTenantRequiredError(AutomateError):
    """A secret was resolved or stored without naming a tenant on a multi-tenant site."""

    code = "secret_tenant_required"

    def __init__(self, name: str) -> None:
        super().__init__(
            f'Secret "{name}" needs a tenant: this site has several tenants, so say whose '
            "secret it is (resolve(ref, tenant=...), automate_secrets ... --tenant SLUG).",
            details={"secret": name},
        )
        self.name = name

    def __reduce__(self) -> tuple[type[SecretTenantRequiredError], tuple[str]]:
        return (type(self), (self.name,))


class SecretsConfigurationError(AutomateError, ImproperlyConfigured):
    """``DJANGO_AUTOMATE["SECRETS"]`` names a backend that cannot be loaded or used."""

    code = "secrets_misconfigured"
    http_status = 500
