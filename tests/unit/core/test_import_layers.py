"""Events, execution and triggers import each other in one direction only.

Read from the source with ``ast``, counting imports inside functions too (they are how a
circle hides), but not ``if TYPE_CHECKING:`` blocks. Model modules are leaves that import
no other module of ours (``automate.models`` loads them all together), so reading one is
not a dependency on the package's behaviour.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parents[3] / "backend"
LAYERED = ("automate.events", "automate.execution", "automate.triggers")


def _module_files() -> dict[str, Path]:
    files = {}
    for path in (BACKEND / "automate").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(BACKEND).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


FILES = _module_files()


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden.update(id(child) for child in ast.walk(node))
    return hidden


@cache
def imports_of(module: str) -> frozenset[str]:
    """Our modules that ``module`` imports anywhere in its file (with their parents)."""
    path = FILES[module]
    tree = ast.parse(path.read_text())
    hidden = _type_checking_nodes(tree)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    named: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            named.add(source)
            named.update(f"{source}.{alias.name}" for alias in node.names)
    found = set()
    for name in named:
        parts = name.split(".")
        found.update(
            prefix
            for prefix in (".".join(parts[:i]) for i in range(1, len(parts) + 1))
            if prefix in FILES
        )
    found.discard(module)
    return frozenset(found)


@cache
def reaches(module: str) -> frozenset[str]:
    """Every module of ours that importing ``module`` can end up importing."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        for name in imports_of(todo.pop()):
            if name not in seen:
                seen.add(name)
                todo.append(name)
    return frozenset(seen)


def package_of(module: str) -> str | None:
    return next((p for p in LAYERED if module == p or module.startswith(p + ".")), None)


def is_behaviour(module: str) -> bool:
    """A module of one of the three packages other than its models and its __init__."""
    return package_of(module) not in (None, module) and not module.endswith(".models")


def test_the_reader_sees_function_level_imports():
    # The circle this file guards against went through an import inside a function.
    assert "automate.execution.worker" in imports_of("automate.execution.inline")
    assert "automate.execution.services" in reaches("automate.triggers.schedules")


@pytest.mark.parametrize("module", sorted(m for m in FILES if package_of(m) == "automate.events"))
def test_events_never_reach_execution_or_triggers(module):
    """The worker (and its in-process drain) is reached through ``automate.events.hooks``."""
    leaked = sorted(
        name
        for name in reaches(module)
        if is_behaviour(name) and package_of(name) != "automate.events"
    )
    assert leaked == [], f"{module} imports {leaked}"


def test_no_import_circle_crosses_events_execution_and_triggers():
    circles = sorted(
        (module, other)
        for module in FILES
        if is_behaviour(module)
        for other in reaches(module)
        if is_behaviour(other)
        and package_of(other) != package_of(module)
        and module in reaches(other)
    )
    assert circles == []
