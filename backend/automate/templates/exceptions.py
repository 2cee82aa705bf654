"""The one error every template problem becomes: :class:`TemplateError`."""

from __future__ import annotations

from typing import Any

from automate.exceptions import AutomateError


class TemplateError(AutomateError):
    """A template could not be rendered: bad syntax, a missing variable, a sandbox or limit
    violation, an unresolvable secret or a non-allow-listed environment variable.

    ``details`` carries ``kind`` (``"syntax"``, ``"undefined"``, ``"security"``, ``"limit"``,
    ``"secret"``, ``"env"`` or ``"error"``) and, when known, ``path`` (``"inputs.text"``)
    and ``line`` (1-based, within the template string). Messages never contain secret values.
    """

    code = "template_error"

    def __init__(
        self,
        message: str,
        *,
        kind: str = "error",
        path: str | None = None,
        line: int | None = None,
    ) -> None:
        details: dict[str, Any] = {"kind": kind}
        if path is not None:
            details["path"] = path
        if line is not None:
            details["line"] = line
        super().__init__(message, details=details)
        self.kind = kind
        self.path = path
        self.line = line


class TemplateViolation(Exception):
    """Raised inside a render by the guards; the engine turns it into a :class:`TemplateError`
    with the input path and template line added.

    It deliberately does not subclass ``AttributeError``/``LookupError``/``TypeError``: the
    sandbox and Jinja's runtime swallow those in places, and a violation must never be
    mistaken for "attribute missing".
    """

    def __init__(self, problem: str, *, kind: str, line: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.kind = kind
        #: The template line, when the guard knows it (the static checks do).
        self.line = line
