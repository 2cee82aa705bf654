"""Errors raised while reading secret references and resolving them.

No error message here ever contains a secret value: only secret names, setting values
and the names of environment variables.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from automate.exceptions import AutomateError

__all__ = ["InvalidSecretRefError", "SecretNotFoundError", "SecretsConfigurationError"]


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


class SecretsConfigurationError(AutomateError, ImproperlyConfigured):
    """``DJANGO_AUTOMATE["SECRETS"]`` names a backend that cannot be loaded or used."""

    code = "secrets_misconfigured"
    http_status = 500
