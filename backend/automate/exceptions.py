"""The root of every error Django Automate raises on purpose.

Each error carries a stable machine ``code`` (used by the API's error shape), a human
``message`` and optional ``details``. Execution errors also say whether retrying can help.
"""

from __future__ import annotations

from typing import Any


class AutomateError(Exception):
    """Base class of all Django Automate errors."""

    code: str = "automate_error"
    http_status: int = 400
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = details or {}

    def as_dict(self) -> dict[str, Any]:
        """The error as the API's ``{"code", "message", "details"}`` shape (no trace id)."""
        return {"code": self.code, "message": self.message, "details": self.details}


class NotFoundError(AutomateError):
    """A named resource (workflow, event, run, …) does not exist."""

    code = "resource_not_found"
    http_status = 404


class ConflictError(AutomateError):
    """The request conflicts with the current state (stale draft, no published version)."""

    code = "conflict"
    http_status = 409
