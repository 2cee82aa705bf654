"""The engine (``automate``, the REST API included) never imports the studio package:
a site may run the engine and its API without the studio."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parents[2] / "backend" / "automate"
MODULES = sorted(BACKEND.rglob("*.py"))


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(BACKEND)) for p in MODULES])
def test_no_engine_module_imports_the_studio(path):
    studio = [name for name in _imports(path) if name == "studio" or name.startswith("studio.")]
    assert not studio, f"{path.relative_to(BACKEND)} imports {studio}"


def test_the_studio_keeps_its_names_for_the_moved_services():
    from automate.workflows import backtest, diffs, rollback
    from studio import services

    assert services.backtest is backtest.backtest
    assert services.rollback is rollback.rollback
    assert services.definition_diff_json is diffs.definition_diff_json
    assert services.diff_definitions is diffs.diff_definitions
