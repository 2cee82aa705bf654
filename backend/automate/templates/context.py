"""``secrets`` and ``env`` in templates, and the ``$secret``/``$env`` references in inputs.

``secrets.NAME`` is an opaque :class:`~automate.templates.opaque.SecretValue`, never the
text. Both resolvers look names up only when a template uses them, so an input that never says
``secrets.X`` never touches the secrets backend. They have no public attributes of their own
(everything is ``_``-prefixed, which the sandbox hides), so ``secrets.keys`` is the secret
named ``keys``, not a method. Neither can be listed or printed.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NoReturn

from jinja2 import StrictUndefined

from .exceptions import TemplateViolation
from .opaque import SecretSlots, SecretValue

SecretResolverFunc = Callable[[str], str]

_SETTING = "DJANGO_AUTOMATE['TEMPLATES']['env_allowlist']"
_SECRET_NAME = re.compile(r"[A-Za-z0-9_.\-/]+")
_SECRET_REF = re.compile(r"\$secret:(?P<name>[A-Za-z0-9_.\-/]+)")
_ENV_REF = re.compile(r"\$env:(?P<name>[A-Za-z_][A-Za-z0-9_]*)")
# ``automate.secrets`` is the public facade; the implementation lives in governance.
_SECRET_MODULES = ("automate.secrets", "automate.governance.secrets")


def default_secret_resolver(ref: str) -> str:
    """Resolve ``"$secret:NAME"`` with the project's secrets backend.

    Imported on first use so this package imports (and its tests run) without the backend.
    """
    for module_name in _SECRET_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module_name.startswith(exc.name):
                raise
            continue
        resolved: str = module.resolve(ref)
        return resolved
    raise TemplateViolation(
        "secrets cannot be resolved: no secrets backend is installed (automate.secrets)",
        kind="secret",
    )


class SecretResolver:
    """``secrets`` in templates: ``{{ secrets.SLACK_TOKEN }}`` is the secret's value."""

    __slots__ = ("_resolve", "_slots", "_values")

    def __init__(self, resolve: SecretResolverFunc) -> None:
        self._resolve = resolve
        self._values: dict[str, str] = {}
        self._slots = SecretSlots()

    def __getattr__(self, name: str) -> SecretValue:
        if name.startswith("_"):
            raise AttributeError(name)
        return opaque_secret(self, name)

    def __getitem__(self, name: Any) -> SecretValue:
        if not isinstance(name, str):
            raise TypeError("secret names are strings")
        return opaque_secret(self, name)

    def __iter__(self) -> Iterator[str]:
        raise TypeError("secrets cannot be listed")

    def __repr__(self) -> str:
        return "<secrets>"


def resolve_secret(secrets: SecretResolver, name: str) -> str:
    """The value of secret ``name``, resolved once per render."""
    if name in secrets._values:
        return secrets._values[name]
    if not _SECRET_NAME.fullmatch(name):
        raise TemplateViolation(f"{name!r} is not a valid secret name", kind="secret")
    try:
        value = secrets._resolve(f"$secret:{name}")
    except TemplateViolation:
        raise
    except Exception as exc:
        # Backends raise their own error types; all of them mean "cannot resolve". The
        # engine scrubs known secret values from the message before anyone sees it.
        reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        raise TemplateViolation(
            f"secret {name!r} could not be resolved: {reason}", kind="secret"
        ) from None
    if not isinstance(value, str):
        raise TemplateViolation(f"secret {name!r} did not resolve to text", kind="secret")
    secrets._values[name] = value
    return value


def opaque_secret(secrets: SecretResolver, name: str) -> SecretValue:
    """``secrets.NAME`` in a template: resolved now (so a missing secret fails here), but
    handed to the template only as an opaque :class:`SecretValue`."""
    return secrets._slots.opaque(name, resolve_secret(secrets, name))


def secret_slots(secrets: SecretResolver) -> SecretSlots:
    """The placeholders of this render's secrets (the engine swaps them for the values)."""
    return secrets._slots


def resolved_secret_values(secrets: SecretResolver) -> list[str]:
    """Every secret value this render has seen (to keep them out of error messages)."""
    return list(secrets._values.values())


class EnvironmentResolver:
    """``env`` in templates: ``{{ env.REGION }}``, for allow-listed variables only."""

    __slots__ = ("_allowed", "_environ")

    def __init__(self, allowed: Iterable[str], environ: Mapping[str, str] | None = None) -> None:
        self._allowed = frozenset(allowed)
        self._environ = os.environ if environ is None else environ

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return _lookup_env(self, name)

    def __getitem__(self, name: Any) -> Any:
        if not isinstance(name, str):
            raise TypeError("environment variable names are strings")
        return _lookup_env(self, name)

    def __iter__(self) -> Iterator[str]:
        raise TypeError("the environment cannot be listed")

    def __repr__(self) -> str:
        return "<env>"


def _not_allow_listed(name: str) -> NoReturn:
    raise TemplateViolation(
        f"environment variable {name!r} is not allow-listed; add it to {_SETTING} "
        "to use it in templates",
        kind="env",
    )


def _lookup_env(env: EnvironmentResolver, name: str) -> Any:
    if name not in env._allowed:
        _not_allow_listed(name)
    value = env._environ.get(name)
    if value is None:
        # Undefined, not an error, so ``env.X | default("…")`` works.
        return StrictUndefined(hint=f"environment variable {name!r} is not set", name=name)
    return value


def read_env(env: EnvironmentResolver, name: str) -> str:
    """The value of allow-listed variable ``name``; an error when it is not set."""
    if name not in env._allowed:
        _not_allow_listed(name)
    value = env._environ.get(name)
    if value is None:
        raise TemplateViolation(f"environment variable {name!r} is not set", kind="env")
    return value


def secret_reference(value: Any) -> str | None:
    """The secret name of a ``"$secret:NAME"`` string or ``{"$secret": "NAME"}`` dict."""
    if isinstance(value, str):
        match = _SECRET_REF.fullmatch(value)
        return match.group("name") if match else None
    if isinstance(value, dict) and len(value) == 1 and "$secret" in value:
        name = value["$secret"]
        if not isinstance(name, str) or not _SECRET_NAME.fullmatch(name):
            raise TemplateViolation(
                'a {"$secret": …} reference needs a secret name (letters, digits, _ . - /)',
                kind="secret",
            )
        return name
    return None


def env_reference(value: Any) -> str | None:
    """The variable name of an ``"$env:VAR"`` string."""
    if isinstance(value, str):
        match = _ENV_REF.fullmatch(value)
        return match.group("name") if match else None
    return None
