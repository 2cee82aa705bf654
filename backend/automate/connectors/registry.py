"""The connector registry: which connectors exist, where they come from, which may run.

Connectors are registered three ways, all ending in ``register()``:

* in an ``AppConfig.ready()``: ``register(LegacyERPAdapter)``;
* with the ``@register_connector`` class decorator (registers when the module is imported);
* by ``load_connectors()`` at start-up, which registers the built-ins, then every entry
  point in the group ``django_automate.connectors``, then the dotted paths listed in
  ``DJANGO_AUTOMATE["CONNECTORS"]``.

Either connector style is accepted: a ``ConnectorAdapter`` subclass, or a ``Connector``
subclass (``actions()`` / ``triggers()`` / ``execute_action``), which ``adapter_for``
wraps in an adapter so everything downstream sees one interface.

Two different classes claiming one code is a start-up error naming both; registering the
same class again is a no-op, so ``ready()`` running twice is harmless. Which registered
connectors may *run* is a policy decision: ``POLICY.connector_allowlist``, glob patterns
over connector codes (``connector_allowed``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from fnmatch import fnmatchcase
from importlib.metadata import entry_points
from typing import Any, TypeVar

from django.conf import settings
from django.core.checks import CheckMessage
from django.core.checks import Warning as CheckWarning
from django.utils.module_loading import import_string

from automate import conf

from .base import ActionSpec, ConnectorAdapter, ExecutionContext
from .builtins import BUILTIN_CONNECTORS
from .connector import Connector, adapter_for
from .exceptions import (
    ConnectorNotAllowedError,
    ConnectorRegistrationError,
    UnknownConnectorError,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "ConnectorRegistry",
    "all_connectors",
    "check_connector_allowed",
    "check_connector_allowlist",
    "connector_allowed",
    "connector_exists",
    "connector_registry",
    "get_action",
    "get_connector",
    "load_connectors",
    "override",
    "register",
    "register_connector",
    "run_action",
    "unregister",
]

ENTRY_POINT_GROUP = "django_automate.connectors"
_CONNECTORS_SETTING = "DJANGO_AUTOMATE['CONNECTORS']"
_ALLOWLIST_SETTING = "DJANGO_AUTOMATE['POLICY']['connector_allowlist']"

AdapterT = TypeVar("AdapterT", bound=type[ConnectorAdapter] | type[Connector])
#: What can be registered: either connector style, as a class (or an adapter instance).
Registrable = type[ConnectorAdapter] | ConnectorAdapter | type[Connector]


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class ConnectorRegistry:
    """Connector instances by code. The process-wide one is ``connector_registry``."""

    def __init__(self) -> None:
        self._adapters: dict[str, ConnectorAdapter] = {}
        self._lock = threading.RLock()

    def register(self, adapter: Registrable, *, replace: bool = False) -> ConnectorAdapter:
        """Register a connector class (instantiated with no arguments) or instance.

        A ``Connector`` subclass is registered as its adapter (``adapter_for``).

        Returns the registered instance. Registering a class whose code is already taken
        by the same class returns the existing instance and changes nothing; by another
        class it raises ``ConnectorRegistrationError`` naming both, unless ``replace``.
        An invalid definition (bad code, actions that are not ``ActionSpec``\\s) raises
        ``ConnectorRegistrationError`` too.
        """
        if isinstance(adapter, type) and issubclass(adapter, Connector):
            adapter = adapter_for(adapter)
        if isinstance(adapter, type) and issubclass(adapter, ConnectorAdapter):
            cls, instance = adapter, None
        elif isinstance(adapter, ConnectorAdapter):
            cls, instance = type(adapter), adapter
        else:
            raise ConnectorRegistrationError(
                f"Only ConnectorAdapter or Connector subclasses (or adapter instances) can "
                f"be registered as connectors, not {adapter!r}."
            )
        problems = cls.definition_problems()
        if problems:
            raise ConnectorRegistrationError(
                f"Connector {_class_path(cls)} is invalid: {'; '.join(problems)}."
            )
        with self._lock:
            existing = self._adapters.get(cls.code)
            if existing is not None and not replace:
                if type(existing) is cls:
                    return existing
                raise ConnectorRegistrationError(
                    f"Connector code {cls.code!r} is claimed by two classes: "
                    f"{_class_path(type(existing))} and {_class_path(cls)}. "
                    "Give one of them another code."
                )
            if instance is None:
                try:
                    instance = cls()
                except TypeError as exc:
                    raise ConnectorRegistrationError(
                        f"Connector {_class_path(cls)} cannot be created with no arguments "
                        f"({exc}); register an instance instead."
                    ) from exc
            self._adapters[cls.code] = instance
            return instance

    def unregister(self, code: str) -> None:
        """Remove the connector registered under ``code`` (``UnknownConnectorError`` if none)."""
        with self._lock:
            if self._adapters.pop(code, None) is None:
                raise self._unknown(code)

    def find(self, code: str) -> ConnectorAdapter | None:
        """The connector registered under ``code``, or ``None``."""
        return self._adapters.get(code)

    def get(self, code: str) -> ConnectorAdapter:
        """The connector registered under ``code``; ``UnknownConnectorError`` if none."""
        adapter = self._adapters.get(code)
        if adapter is None:
            raise self._unknown(code)
        return adapter

    def all(self) -> list[ConnectorAdapter]:
        """Every registered connector, sorted by code."""
        with self._lock:
            return [self._adapters[code] for code in sorted(self._adapters)]

    @contextmanager
    def override(self, *adapters: Registrable, clear: bool = False) -> Iterator[ConnectorRegistry]:
        """Change the registry inside a ``with`` block only; for tests.

        ``adapters`` are registered on entry, replacing connectors with the same code (a
        fake ``slack``, say); ``clear=True`` starts from an empty registry. Everything
        registered or unregistered inside the block is undone on exit.
        """
        with self._lock:
            saved = dict(self._adapters)
            if clear:
                self._adapters.clear()
        try:
            for adapter in adapters:
                self.register(adapter, replace=True)
            yield self
        finally:
            with self._lock:
                self._adapters = saved

    def _unknown(self, code: str) -> UnknownConnectorError:
        known = ", ".join(sorted(self._adapters)) or "none"
        return UnknownConnectorError(
            f"No connector is registered with the code {code!r} (registered: {known}).",
            details={"connector": code},
        )


connector_registry = ConnectorRegistry()
"""The process-wide registry the functions below use."""


def register(adapter: Registrable) -> ConnectorAdapter:
    """Register a connector class or instance; see ``ConnectorRegistry.register``.

    Call it from your ``AppConfig.ready()``::

        def ready(self):
            from .adapters import LegacyERPAdapter
            register(LegacyERPAdapter)
    """
    return connector_registry.register(adapter)


def register_connector(cls: AdapterT) -> AdapterT:
    """Class decorator: register the connector when its module is imported.

    Returns the class unchanged. Make sure the module is imported at start-up (from
    ``AppConfig.ready()``, say), or the connector will not exist.
    """
    connector_registry.register(cls)
    return cls


def unregister(code: str) -> None:
    """Remove a connector by code (mostly for tests; prefer ``override``)."""
    connector_registry.unregister(code)


def override(
    *adapters: Registrable, clear: bool = False
) -> AbstractContextManager[ConnectorRegistry]:
    """Context manager registering ``adapters`` for the ``with`` block only (tests).

    ``with override(FakeSlack): ...`` swaps the real ``slack`` connector for a fake;
    ``with override(clear=True): ...`` starts from an empty registry.
    """
    return connector_registry.override(*adapters, clear=clear)


def get_connector(code: str) -> ConnectorAdapter:
    """The connector registered under ``code``; ``UnknownConnectorError`` if none.

    ``UnknownConnectorError`` is a ``ConnectorError`` with code ``unknown_connector``.
    """
    return connector_registry.get(code)


def get_action(code: str, action: str) -> ActionSpec:
    """The ``ActionSpec`` of ``code``'s ``action`` (``unknown_connector``/``unknown_action``)."""
    return connector_registry.get(code).get_action(action)


def connector_exists(code: str, action: str) -> bool:
    """Whether a connector ``code`` is registered and has an action ``action``."""
    adapter = connector_registry.find(code)
    return adapter is not None and action in adapter.actions


def all_connectors(*, allowed_only: bool = False) -> list[ConnectorAdapter]:
    """Every registered connector sorted by code; only the allowed ones if ``allowed_only``."""
    adapters = connector_registry.all()
    if not allowed_only:
        return adapters
    patterns = _allowlist()
    return [adapter for adapter in adapters if _matches(adapter.code, patterns)]


# ---------------------------------------------------------------------------------------
# Policy
# ---------------------------------------------------------------------------------------


def _allowlist() -> list[str]:
    patterns: list[str] = conf.get("POLICY", "connector_allowlist")
    return patterns


def _matches(code: str, patterns: list[str]) -> bool:
    return any(fnmatchcase(code, pattern) for pattern in patterns)


def connector_allowed(code: str) -> bool:
    """Whether ``POLICY.connector_allowlist`` lets connector ``code`` run.

    Entries are glob patterns over codes (``"slack*"``, ``"http"``); ``["*"]`` (the
    default) allows every connector and ``[]`` none.
    """
    return _matches(code, _allowlist())


def check_connector_allowed(code: str) -> None:
    """Raise ``ConnectorNotAllowedError`` (``connector_not_allowed``) unless ``code`` may run."""
    patterns = _allowlist()
    if not _matches(code, patterns):
        raise ConnectorNotAllowedError(
            f"The connector {code!r} is not allowed here: {_ALLOWLIST_SETTING} is {patterns!r}.",
            details={"connector": code, "allowlist": patterns},
        )


def run_action(
    code: str, action: str, params: Mapping[str, Any], context: ExecutionContext
) -> dict[str, Any]:
    """Run one connector action as the orchestrator should: look up, check policy, run.

    Raises ``UnknownConnectorError``, ``ConnectorNotAllowedError`` or whatever
    ``ConnectorAdapter.run`` raises; returns the action's output.
    """
    adapter = get_connector(code)
    check_connector_allowed(code)
    return adapter.run(action, params, context)


def check_connector_allowlist() -> list[CheckMessage]:
    """System-check warnings for allowlist patterns that match no registered connector.

    A pattern that matches nothing is usually a typo (``"slak"``) that silently blocks
    the connector it meant to allow.
    """
    codes = [adapter.code for adapter in connector_registry.all()]
    return [
        CheckWarning(
            f"{_ALLOWLIST_SETTING} has the pattern {pattern!r}, which matches no registered "
            "connector.",
            hint=f"Registered connectors: {', '.join(codes) or 'none'}.",
            id="automate.W020",
        )
        for pattern in _allowlist()
        if not any(fnmatchcase(code, pattern) for code in codes)
    ]


# ---------------------------------------------------------------------------------------
# Start-up loading
# ---------------------------------------------------------------------------------------


def _register_loaded(loaded: object, source: str) -> None:
    if not (
        (isinstance(loaded, type) and issubclass(loaded, ConnectorAdapter | Connector))
        or isinstance(loaded, ConnectorAdapter)
    ):
        raise ConnectorRegistrationError(
            f"{source} loads {loaded!r}, which is not a ConnectorAdapter subclass "
            "(nor a Connector one)."
        )
    try:
        connector_registry.register(loaded)
    except ConnectorRegistrationError as exc:
        raise ConnectorRegistrationError(f"{exc.message} (from {source})") from exc


def _import(path: str, source: str) -> object:
    try:
        return import_string(path)
    except ImportError as exc:
        raise ConnectorRegistrationError(f"{source} cannot be imported: {exc}") from exc


def _configured_paths() -> list[str]:
    user = getattr(settings, "DJANGO_AUTOMATE", {}) or {}
    paths = user.get("CONNECTORS", []) if isinstance(user, Mapping) else []
    if not isinstance(paths, list | tuple) or not all(isinstance(p, str) for p in paths):
        raise ConnectorRegistrationError(
            f"{_CONNECTORS_SETTING} must be a list of dotted paths to ConnectorAdapter "
            f"subclasses, not {paths!r}."
        )
    return list(paths)


def load_connectors() -> list[ConnectorAdapter]:
    """Register the built-ins, entry-point connectors and ``DJANGO_AUTOMATE["CONNECTORS"]``.

    Call it from ``AppConfig.ready()``; calling it again is harmless. Returns every
    registered connector. Raises ``ConnectorRegistrationError`` (an
    ``ImproperlyConfigured``) naming the entry point or setting that failed, or the two
    classes that claim one code.
    """
    for path in BUILTIN_CONNECTORS:
        _register_loaded(_import(path, f"The built-in connector {path!r}"), path)
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        source = (
            f"The entry point {entry_point.name} = {entry_point.value!r} "
            f"in group {ENTRY_POINT_GROUP!r}"
        )
        try:
            loaded: object = entry_point.load()
        except Exception as exc:  # whatever importing the plug-in's module raised
            raise ConnectorRegistrationError(f"{source} failed to load: {exc}") from exc
        _register_loaded(loaded, source)
    for path in _configured_paths():
        source = f"{path!r} in {_CONNECTORS_SETTING}"
        _register_loaded(_import(path, source), source)
    return connector_registry.all()
