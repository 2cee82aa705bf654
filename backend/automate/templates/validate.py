"""Checking templates without rendering them: for draft saves, publishing and imports.

.. code-block:: python

    from automate.templates import check_template, template_problems

    check_template("Bearer {{ secrets.TOKEN }}")          # fine
    check_template("{{ secrets.TOKEN | reverse }}")       # TemplateError (kind "secret")
    template_problems({"auth": "{{ secrets.T[:4] }}"})    # [TemplateError(path="inputs.auth")]

The same checks run again whenever a template is compiled to render, so a template refused
here is refused at run time too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jinja2 import TemplateSyntaxError

from .checks import secret_names_of
from .context import secret_reference
from .exceptions import TemplateError, TemplateViolation
from .sandbox import compile_input, parse_checked

_TEMPLATE_MARKERS = ("{{", "{%", "{#")


def check_template(source: str, *, path: str | None = None) -> None:
    """Refuse a template that could not be rendered safely, without rendering it.

    Raises :class:`TemplateError` for a syntax error, a secret used any way other than
    printed whole (``{{ secrets.NAME }}``, also inside text: ``Bearer {{ secrets.NAME }}``),
    a secret name that is not written literally, ``{% include %}`` and the other unavailable
    tags, or a template over the size limit. The message names the problem, ``path`` (when
    given) and the line; ``error.kind`` is ``"syntax"``, ``"secret"``, ``"security"`` or
    ``"limit"``.
    """
    try:
        compile_input(source)
    except TemplateSyntaxError as exc:
        error = _error("syntax", exc.message or str(exc), path, exc.lineno)
    except TemplateViolation as exc:
        error = _error(exc.kind, exc.problem, path, exc.line)
    else:
        return
    raise error


def template_problems(value: Any, *, path: str = "inputs") -> list[TemplateError]:
    """Every template in a step's (nested) inputs that :func:`check_template` refuses."""
    problems = []
    for where, source in _templates(value, path):
        try:
            check_template(source, path=where)
        except TemplateError as exc:
            problems.append(exc)
    return sorted(problems, key=lambda error: error.path or "")


def secret_names(value: Any) -> set[str]:
    """The secret names a step's (nested) inputs read: ``secrets.NAME`` in templates and
    ``$secret`` references. Templates that fail :func:`check_template` are skipped."""
    names: set[str] = set()
    _collect_references(value, names)
    for _where, source in _templates(value, "inputs"):
        try:
            names |= secret_names_of(parse_checked(source))
        except (TemplateSyntaxError, TemplateViolation):
            continue
    return names


def _collect_references(value: Any, names: set[str]) -> None:
    try:
        name = secret_reference(value)
    except TemplateViolation:
        name = None
    if name is not None:
        names.add(name)
    elif isinstance(value, dict):
        for item in value.values():
            _collect_references(item, names)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect_references(item, names)


def _templates(value: Any, path: str) -> Iterator[tuple[str, str]]:
    # Iterative, so a deeply nested input cannot exhaust the stack here.
    stack = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            if any(marker in item for marker in _TEMPLATE_MARKERS):
                yield where, item
        elif isinstance(item, dict):
            stack.extend((_child(where, key), child) for key, child in item.items())
        elif isinstance(item, list | tuple):
            stack.extend((f"{where}[{index}]", child) for index, child in enumerate(item))


def _child(path: str, key: Any) -> str:
    if isinstance(key, str) and key.isidentifier():
        return f"{path}.{key}"
    return f"{path}[{key!r}]"


def _error(kind: str, problem: str, path: str | None, line: int | None) -> TemplateError:
    where = "".join([f" in {path}" if path else "", f" on line {line}" if line else ""])
    label = "Template syntax error" if kind == "syntax" else "Template error"
    return TemplateError(f"{label}{where}: {problem}", kind=kind, path=path, line=line)
