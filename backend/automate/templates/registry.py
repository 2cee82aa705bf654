"""``register_filter``: how apps add their own filters to every template.

.. code-block:: python

    # myapp/apps.py, in AppConfig.ready()
    from automate.templates import register_filter

    @register_filter("format_currency")
    def format_currency(value, currency="USD"):
        return f"{currency} {value:,.2f}"

Filters are plain Python and run with no sandbox of their own: they are trusted code, so
they must not hand templates objects with dangerous methods, or mutate their arguments.
Every call is still budgeted (deadline, memory) and never receives a secret value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from .filters import BUILTIN_FILTERS
from .sandbox import clear_compile_cache, environment

F = TypeVar("F", bound=Callable[..., Any])

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Jinja's filters plus ours: replacing them could undo a sandbox guard.
_PROTECTED = frozenset(environment.filters) | frozenset(BUILTIN_FILTERS)
_registered: set[str] = set()


def register_filter(name: str) -> Callable[[F], F]:
    """Decorator adding a filter, available as ``{{ value | name(args) }}`` in all templates.

    Registering the same name again replaces the earlier function (so module reloads are
    harmless). Built-in filter names (``upper``, ``join``, ``tojson``, …) cannot be
    replaced. Raises ``ValueError`` for an invalid or built-in name.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"filter name {name!r} must be a Python identifier")
    if name in _PROTECTED:
        raise ValueError(f"{name!r} is a built-in filter and cannot be replaced")

    def decorator(func: F) -> F:
        if not callable(func):
            raise ValueError(f"filter {name!r} must be callable, not {type(func).__name__}")
        environment.filters[name] = func
        _registered.add(name)
        clear_compile_cache()
        return func

    return decorator


def unregister_filter(name: str) -> None:
    """Remove a filter added with :func:`register_filter` (handy in tests).

    Raises ``KeyError`` when no filter of that name was registered.
    """
    if name not in _registered:
        raise KeyError(f"no filter named {name!r} was registered")
    _registered.discard(name)
    del environment.filters[name]
    clear_compile_cache()


def registered_filters() -> frozenset[str]:
    """The names of the filters apps have registered."""
    return frozenset(_registered)
