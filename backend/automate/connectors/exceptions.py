"""Errors raised by connectors, the connector registry and connector definitions.

``ConnectorError`` is what a step failure looks like: the worker reads ``retryable`` to
decide between another attempt and failing the step, and ``retry_after`` (seconds) when
the remote side said how long to wait. ``ConnectorRegistrationError`` is a start-up
problem (a broken connector class, two connectors claiming one code) and, like every
configuration error, subclasses ``ImproperlyConfigured``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from automate.exceptions import AutomateError

__all__ = [
    "ConnectorError",
    "ConnectorInputError",
    "ConnectorNotAllowedError",
    "ConnectorOutputError",
    "ConnectorRegistrationError",
    "MissingSecretError",
    "UnknownActionError",
    "UnknownConnectorError",
]


def _restore(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class ConnectorError(AutomateError):
    """A connector action failed; ``retryable`` says whether another attempt can help.

    Raise it from ``execute`` for failures you understand: ``retryable=True`` for
    transient ones (timeouts, HTTP 429/5xx), ``False`` for ones that will fail the same
    way again (HTTP 4xx, a rejected payload). ``retry_after`` is a hint in seconds.
    """

    code = "connector_error"

    def __init__(
        self,
        message: str,
        retryable: bool = False,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, details=details)
        self.retryable = retryable
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only state (code, retryable, details) survives crossing a process
        # boundary (WORKER_MODE="process"); the default reduce would keep only the message.
        return (_restore, (type(self), self.args, dict(self.__dict__)))

    def __str__(self) -> str:
        return self.message


class ConnectorInputError(ConnectorError):
    """A step's inputs do not match the action's input schema (never retryable).

    ``details["errors"]`` lists every problem as ``{"path": "inputs.channel",
    "message": "'channel' is a required property"}``.
    """

    code = "invalid_inputs"

    def __init__(self, message: str, *, errors: list[dict[str, str]]) -> None:
        super().__init__(message, retryable=False, details={"errors": errors})

    @property
    def errors(self) -> list[dict[str, str]]:
        """Every problem found, each with its ``path`` and ``message``."""
        errors: list[dict[str, str]] = self.details["errors"]
        return errors


class ConnectorOutputError(ConnectorError):
    """``execute`` returned something other than a JSON object (a connector bug)."""

    code = "invalid_output"


class UnknownConnectorError(ConnectorError):
    """No connector is registered under this code."""

    code = "unknown_connector"


class UnknownActionError(ConnectorError):
    """The connector has no action of this name."""

    code = "unknown_action"


class ConnectorNotAllowedError(ConnectorError):
    """``POLICY.connector_allowlist`` does not allow this connector."""

    code = "connector_not_allowed"
    http_status = 403


class MissingSecretError(ConnectorError, KeyError):
    """A connector read ``context.secrets[NAME]`` but the step did not reference NAME.

    Also a ``KeyError``, so ``context.secrets.get(NAME)`` returns ``None`` as usual.
    """

    code = "secret_not_provided"


class ConnectorRegistrationError(AutomateError, ImproperlyConfigured):
    """A connector cannot be registered: bad definition, duplicate code, failed import."""

    code = "connector_misconfigured"
    http_status = 500
