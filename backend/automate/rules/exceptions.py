"""Errors raised by the rules engine."""

from __future__ import annotations

from typing import Any

from automate.exceptions import AutomateError


class RuleError(AutomateError):
    """A rule is malformed; ``path`` names the offending node (``""`` is the root).

    Raised when a rule is compiled (saved), never while an event is evaluated: an unknown
    operator, an operator object with other than one key, the wrong number of arguments,
    a value that is not JSON, or nesting beyond the depth limit. ``reason`` is the message
    without the location.
    """

    code = "invalid_rule"

    def __init__(self, reason: str, *, path: str) -> None:
        where = f"at {path}" if path else "at the root"
        super().__init__(f"{reason} ({where})", details={"path": path})
        self.reason = reason
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.reason, self.path))


def _rebuild(cls: type[RuleError], reason: str, path: str) -> RuleError:
    return cls(reason, path=path)
