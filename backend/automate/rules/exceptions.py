"""Errors raised by the rules engine."""

from __future__ import annotations

from automate.exceptions import AutomateError


class RuleError(AutomateError):
    """A rule is malformed; ``path`` names the offending node (``""`` is the root).

    Raised when a rule is compiled (saved), never while an event is evaluated: an unknown
    operator, an operator object with other than one key, the wrong number of arguments,
    a value that is not JSON, or nesting beyond the depth limit.
    """

    code = "invalid_rule"

    def __init__(self, message: str, *, path: str) -> None:
        where = f"at {path}" if path else "at the root"
        super().__init__(f"{message} ({where})", details={"path": path})
        self.path = path
