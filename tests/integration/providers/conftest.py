import importlib
import sys
import textwrap

import pytest

from automate.providers import clear_cache


@pytest.fixture(autouse=True)
def _fresh_registry():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """Install a tiny distribution (a module and its dist-info) on ``sys.path``.

    ``installed_plugin(module_source, {"name": "module:Class"})`` registers each entry
    in the ``django_automate.providers`` group, as ``pip install`` of a package with
    ``[project.entry-points."django_automate.providers"]`` would.
    """

    def install(source, entries, *, module="acme_gateway"):
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        info = tmp_path / f"{module}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 1.0\n"
        )
        lines = "".join(f"{name} = {value}\n" for name, value in entries.items())
        (info / "entry_points.txt").write_text(f"[django_automate.providers]\n{lines}")
        monkeypatch.syspath_prepend(str(tmp_path))
        # Each test installs its own version of the module: none imported before counts.
        monkeypatch.delitem(sys.modules, module, raising=False)
        importlib.invalidate_caches()
        clear_cache()

    return install
