"""``render`` and ``render_inputs``: turning templated step inputs into values.

Every failure leaves as a :class:`TemplateError` naming the input path and template line,
with any secret value this render resolved scrubbed from the message.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any

from jinja2 import TemplateSyntaxError, UndefinedError
from jinja2.environment import Template
from jinja2.exceptions import SecurityError
from jinja2.runtime import LoopContext, Macro, Undefined
from jinja2.utils import Cycler, Joiner, Namespace

from automate import conf

from .context import (
    EnvironmentResolver,
    SecretResolver,
    SecretResolverFunc,
    default_secret_resolver,
    env_reference,
    read_env,
    resolve_secret,
    resolved_secret_values,
    secret_reference,
    secret_slots,
)
from .exceptions import TemplateError, TemplateViolation
from .limits import RenderBudget, active_budget, approximate_size
from .opaque import SecretValue
from .sandbox import RESULT_NAME, compile_input, compile_text, environment

_TEMPLATE_MARKERS = ("{{", "{%", "{#")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NOT_DATA = (Namespace, LoopContext, Macro, Cycler, Joiner)


def render(
    template: str,
    context: Mapping[str, Any],
    *,
    secret_resolver: SecretResolverFunc | None = None,
) -> str:
    """Render ``template`` with ``context`` (``event``, ``execution``, ``steps``, …) to text.

    ``secrets`` and ``env`` are added to the context. Always returns a string, even for
    ``"{{ event.payload.amount }}"``; use :func:`render_inputs` to keep native types.
    ``secret_resolver`` replaces ``automate.secrets.resolve`` (it gets ``"$secret:NAME"``).

    Raises :class:`TemplateError` on any syntax error, undefined variable, sandbox
    violation or limit (``DJANGO_AUTOMATE["TEMPLATES"]``).
    """
    run = _Render(context, secret_resolver)
    with active_budget(run.budget):
        return run.text(template, path=None)


def render_inputs(
    value: Any,
    context: Mapping[str, Any],
    *,
    secret_resolver: SecretResolverFunc | None = None,
    path: str = "inputs",
) -> Any:
    """Render every string in a step's (nested dict/list) inputs; other values are kept.

    * ``"{{ expr }}"`` — a string that is exactly one expression — keeps the expression's
      type: ``"{{ event.payload.amount }}"`` gives ``42``, not ``"42"``. Anything else
      (``"Total: {{ x }}"``, ``" {{ x }}"``) renders to a string.
    * ``"$secret:NAME"`` and ``{"$secret": "NAME"}`` become the secret's value;
      ``"$env:VAR"`` the value of an allow-listed environment variable.
    * Dict keys are not templated. ``value`` and ``context`` are never modified; the
      result shares no mutable data with either.

    The time and size limits apply to the whole call. Errors name the input, e.g.
    ``inputs.headers.Authorization``; ``path`` sets the root of that name.
    """
    run = _Render(context, secret_resolver)
    with active_budget(run.budget):
        return run.inputs(value, path)


class _Render:
    """One render call: its budget, resolvers and variables."""

    def __init__(
        self, context: Mapping[str, Any], secret_resolver: SecretResolverFunc | None
    ) -> None:
        self.budget = RenderBudget(
            timeout_seconds=float(conf.get("TEMPLATES", "render_timeout_seconds")),
            max_bytes=int(conf.get("TEMPLATES", "max_output_bytes")),
            max_memory_bytes=int(conf.get("TEMPLATES", "max_memory_bytes")),
        )
        self.secrets = SecretResolver(secret_resolver or default_secret_resolver)
        self.env = EnvironmentResolver(conf.get("TEMPLATES", "env_allowlist"))
        self.variables = {**context, "secrets": self.secrets, "env": self.env}

    def inputs(self, value: Any, path: str) -> Any:
        if isinstance(value, str) or (isinstance(value, dict) and "$secret" in value):
            return self.leaf(value, path)
        if isinstance(value, dict):
            return self.mapping(value, path)
        if isinstance(value, list | tuple):
            items = [self.inputs(item, f"{path}[{i}]") for i, item in enumerate(value)]
            return items if isinstance(value, list) else tuple(items)
        return value

    def mapping(self, value: dict[Any, Any], path: str) -> dict[Any, Any]:
        return {key: self.inputs(item, _child_path(path, key)) for key, item in value.items()}

    def leaf(self, value: str | dict[str, Any], path: str) -> Any:
        try:
            return self._leaf_value(value, path)
        except TemplateError:
            raise  # from a nested input, already named
        except Exception as exc:
            error = self._error(exc, path)
        # Raised outside the handler so the original exception (whose message may hold a
        # secret value) is not kept as ``__context__``.
        raise error

    def _leaf_value(self, value: str | dict[str, Any], path: str) -> Any:
        secret = secret_reference(value)
        if secret is not None:
            return resolve_secret(self.secrets, secret)
        if isinstance(value, dict):  # "$secret" next to other keys: an ordinary dict
            return self.mapping(value, path)
        variable = env_reference(value)
        if variable is not None:
            return read_env(self.env, variable)
        if not any(marker in value for marker in _TEMPLATE_MARKERS):
            return value
        is_expression, template = compile_input(value)
        if is_expression:
            return self._evaluate(template)
        return self._stream(template)

    def text(self, source: str, path: str | None) -> str:
        try:
            return self._stream(compile_text(source))
        except Exception as exc:
            error = self._error(exc, path)
        raise error  # outside the handler: see ``leaf``

    def _stream(self, template: Template) -> str:
        slots = secret_slots(self.secrets)
        emitted_before = slots.emitted
        parts = []
        for chunk in template.root_render_func(template.new_context(self.variables)):
            size = len(chunk) if chunk.isascii() else len(chunk.encode("utf-8", "surrogatepass"))
            self.budget.add_output(size)
            parts.append(chunk)
        # Secrets were printed as placeholders; only intact ones become the values.
        return slots.substitute("".join(parts), emitted_before)

    def _evaluate(self, template: Template) -> Any:
        context = template.new_context(self.variables)
        for _ in template.root_render_func(context):
            pass
        value = context.vars[RESULT_NAME]
        if isinstance(value, Undefined):
            str(value)  # raises the undefined (or sandbox) error with Jinja's message
        if isinstance(value, range | Iterator):  # `items | map(…)` means the list
            value = list(environment.guarded_iter(value))
        if type(value) is SecretValue:  # the whole input is one secret
            return secret_slots(self.secrets).reveal(value)
        if isinstance(value, SecretResolver | EnvironmentResolver):
            name = "secrets" if isinstance(value, SecretResolver) else "env"
            raise TemplateViolation(f"{name!r} is not a value; use {name}.NAME", kind="error")
        if callable(value) or isinstance(value, _NOT_DATA):
            raise TemplateViolation(
                f"the expression is a {type(value).__name__}, not a value", kind="error"
            )
        if isinstance(value, str):
            value = str(value)  # a plain str, not Markup or another subclass
        self.budget.add_output(approximate_size(value, self.budget))
        # Payload lists and dicts are shared with the context: hand out a copy.
        return copy.deepcopy(value)

    def _error(self, exc: BaseException, path: str | None) -> TemplateError:
        line = _template_line(exc.__traceback__)
        if isinstance(exc, TemplateSyntaxError):
            kind, problem, line = "syntax", exc.message or str(exc), exc.lineno
        elif isinstance(exc, TemplateViolation):
            kind, problem = exc.kind, exc.problem
            line = exc.line if exc.line is not None else line
        elif isinstance(exc, SecurityError):
            kind, problem = "security", f"not allowed in templates: {exc}"
        elif isinstance(exc, UndefinedError):
            kind, problem = "undefined", str(exc)
        elif isinstance(exc, RecursionError):
            kind, problem = "limit", "the template recurses too deeply"
        elif isinstance(exc, MemoryError):
            kind, problem = "limit", "the template ran out of memory"
        else:
            kind, problem = "error", str(exc) or type(exc).__name__
        where = "".join(
            [f" in {path}" if path else "", f" on line {line}" if line is not None else ""]
        )
        label = "Template syntax error" if kind == "syntax" else "Template error"
        message = f"{label}{where}: {problem}"
        for secret in sorted(resolved_secret_values(self.secrets), key=len, reverse=True):
            if secret:
                message = message.replace(secret, "[redacted]")
        return TemplateError(message, kind=kind, path=path, line=line)


def _child_path(path: str, key: Any) -> str:
    if isinstance(key, str) and _IDENTIFIER.fullmatch(key):
        return f"{path}.{key}"
    return f"{path}[{key!r}]"


def _template_line(tb: TracebackType | None) -> int | None:
    """The template line of the innermost template frame in a traceback."""
    line = None
    while tb is not None:
        template = tb.tb_frame.f_globals.get("__jinja_template__")
        if template is not None:
            line = template.get_corresponding_lineno(tb.tb_lineno)
        tb = tb.tb_next
    return line
