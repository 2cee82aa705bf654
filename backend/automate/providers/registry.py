"""Finding providers: the built-ins, the ``django_automate.providers`` entry points and the
``AUTOMATE_PROVIDERS`` setting (dotted paths), in that order.

``discover()`` never raises: what cannot be used (a path that does not import, a class
that is not a ``BaseProvider``, a key claimed twice) becomes a ``Problem`` that the
system checks report (automate.E080-E085) and the provider is left out (for a duplicate
key, the first registration is kept). The result is cached until ``clear_cache()`` (also
called when a test overrides ``AUTOMATE_PROVIDERS``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from automate import conf

from .base import BaseProvider, ProviderConfigError, ProviderContext, UnknownProviderError

__all__ = [
    "BUILTIN_PROVIDERS",
    "ENTRY_POINT_GROUP",
    "SETTING",
    "Discovery",
    "Problem",
    "build_provider",
    "clear_cache",
    "config_problems",
    "discover",
    "get_provider_class",
    "provider_options",
]

BUILTIN_PROVIDERS = ("automate.providers.openai_compatible.OpenAIProvider",)
ENTRY_POINT_GROUP = "django_automate.providers"
SETTING = "AUTOMATE_PROVIDERS"
OPTIONS_SETTING = "DJANGO_AUTOMATE['PROVIDER_OPTIONS']"


@dataclass(frozen=True)
class Problem:
    """Why a registration was left out: a system check ``id`` and a message naming it."""

    id: str
    message: str


@dataclass(frozen=True)
class Discovery:
    """``providers`` by key, where each came from (``sources``) and the ``problems``."""

    providers: dict[str, type[BaseProvider]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


_cache: dict[str, Discovery] = {}
_lock = threading.Lock()


def clear_cache() -> None:
    """Forget what ``discover`` found (after installing a package, in tests)."""
    with _lock:
        _cache.clear()


@receiver(setting_changed)
def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING:
        clear_cache()


def _add(found: Discovery, loaded: object, source: str) -> None:
    if not (isinstance(loaded, type) and issubclass(loaded, BaseProvider)):
        found.problems.append(
            Problem("automate.E081", f"{source} is not a BaseProvider subclass: {loaded!r}.")
        )
        return
    key = loaded.key
    if not isinstance(key, str) or not key or not loaded.display_name:
        found.problems.append(
            Problem("automate.E081", f"{source} must set a non-empty key and display_name.")
        )
        return
    if key in found.providers:
        found.problems.append(
            Problem(
                "automate.E082",
                f"{source} registers the provider key {key!r}, which "
                f"{found.sources[key]} already registered: give one of them another key.",
            )
        )
        return
    try:
        Draft202012Validator.check_schema(loaded.config_schema())
    except SchemaError as exc:
        found.problems.append(
            Problem("automate.E083", f"{source}: config_schema() is not a JSON Schema: {exc}")
        )
        return
    found.providers[key] = loaded
    found.sources[key] = source


def _configured_paths(found: Discovery) -> list[str]:
    paths = getattr(settings, SETTING, [])
    if not isinstance(paths, list | tuple) or not all(isinstance(p, str) for p in paths):
        found.problems.append(
            Problem("automate.E084", f"{SETTING} must be a list of dotted paths, not {paths!r}.")
        )
        return []
    return list(paths)


def _discover() -> Discovery:
    found = Discovery()
    for path in BUILTIN_PROVIDERS:
        _add(found, import_string(path), f"The built-in provider {path!r}")
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        source = (
            f"The entry point {entry_point.name} = {entry_point.value!r} "
            f"in group {ENTRY_POINT_GROUP!r}"
        )
        try:
            loaded: object = entry_point.load()
        except Exception as exc:  # whatever importing the plug-in's module raised
            found.problems.append(Problem("automate.E080", f"{source} failed to load: {exc}"))
            continue
        _add(found, loaded, source)
    for path in _configured_paths(found):
        source = f"{path!r} in {SETTING}"
        try:
            loaded = import_string(path)
        except ImportError as exc:
            found.problems.append(Problem("automate.E080", f"{source} cannot be imported: {exc}"))
            continue
        _add(found, loaded, source)
    return found


def discover() -> Discovery:
    """Every usable provider and every problem (see the module docstring); cached."""
    paths = getattr(settings, SETTING, [])
    cache_key = repr(paths)
    with _lock:
        if cache_key not in _cache:
            _cache[cache_key] = _discover()
        return _cache[cache_key]


def get_provider_class(key: str) -> type[BaseProvider]:
    """The provider class registered as ``key``; ``UnknownProviderError`` if none."""
    providers = discover().providers
    if key not in providers:
        known = sorted(providers)
        raise UnknownProviderError(
            f"No provider is registered as {key!r} (known: {', '.join(known)}); "
            f"register it in {SETTING} or the {ENTRY_POINT_GROUP!r} entry points.",
            details={"provider": key, "known": known},
        )
    return providers[key]


def provider_options() -> Mapping[str, Any]:
    """``DJANGO_AUTOMATE["PROVIDER_OPTIONS"]``: config by provider key."""
    options = conf.get("PROVIDER_OPTIONS")
    return options if isinstance(options, Mapping) else {}


def config_problems(provider: type[BaseProvider], config: object) -> list[str]:
    """What is wrong with ``config`` for ``provider``, as ``"path: message"`` lines."""
    validator = Draft202012Validator(provider.config_schema())
    problems = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(part) for part in error.absolute_path) or "(config)"
        problems.append(f"{path}: {error.message}")
    return problems


def build_provider(
    key: str, *, ctx: ProviderContext, overrides: Mapping[str, Any] | None = None
) -> BaseProvider:
    """A ``key`` provider for ``ctx``, configured by ``PROVIDER_OPTIONS[key]``.

    ``overrides`` (the caller's own settings, such as the copilot's ``base_url``) are
    laid over it, but only the keys the provider's schema declares under
    ``properties``: a provider that has no ``base_url`` is not handed one. Raises
    ``UnknownProviderError`` and ``ProviderConfigError`` (naming each problem).
    """
    provider = get_provider_class(key)
    config = dict(provider_options().get(key) or {})
    declared = provider.config_schema().get("properties", {})
    for name, value in (overrides or {}).items():
        if name in declared:
            config[name] = value
    problems = config_problems(provider, config)
    if problems:
        raise ProviderConfigError(
            f"The provider {key!r} is misconfigured: {'; '.join(problems)}",
            details={"provider": key, "errors": problems},
        )
    return provider(config, ctx=ctx)
