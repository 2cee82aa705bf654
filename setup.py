"""Build hooks: the wheel carries the studio's third-party JavaScript and icons.

AntV X6, dagre, htmx and the Lucide icon sprite come from the npm registry (package.json,
``npm ci``) and are never copied into the repository. A checkout serves them straight from
``node_modules`` (see ``STATICFILES_DIRS`` and ``NPM_STATIC_FILES`` in
backend/config/settings.py); a wheel has no ``node_modules``, so
building it copies the few files the studio loads into ``studio/static/vendor/``. Both
serve them at the same static paths (``vendor/x6/x6.min.js``, ...).

An sdist carries the same files under its own ``node_modules/``, so a wheel built from the
sdist (``python -m build``) gets them too. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
NODE_MODULES = "node_modules"

#: (npm file, path under the studio app's static folder). Keep in step with the
#: ``vendor/...`` paths of STATICFILES_DIRS and NPM_STATIC_FILES (backend/config/settings.py).
VENDOR_FILES = [
    ("@antv/x6/dist/x6.min.js", "vendor/x6/x6.min.js"),
    ("@antv/x6/LICENSE", "vendor/x6/LICENSE"),
    ("@dagrejs/dagre/dist/dagre.min.js", "vendor/dagre/dagre.min.js"),
    # dagre.min.js names its source map: manifest static storages refuse a missing one.
    ("@dagrejs/dagre/dist/dagre.min.js.map", "vendor/dagre/dagre.min.js.map"),
    ("@dagrejs/dagre/LICENSE", "vendor/dagre/LICENSE"),
    ("htmx.org/dist/htmx.min.js", "vendor/htmx/htmx.min.js"),
    ("htmx.org/LICENSE", "vendor/htmx/LICENSE"),
    # Every Lucide icon in one sprite: the studio's and any a connector names.
    ("lucide-static/sprite.svg", "vendor/lucide/sprite.svg"),
    ("lucide-static/LICENSE", "vendor/lucide/LICENSE"),
    # The insights charts; chart.umd.min.js names its source map.
    ("chart.js/dist/chart.umd.min.js", "vendor/chartjs/chart.umd.min.js"),
    ("chart.js/dist/chart.umd.min.js.map", "vendor/chartjs/chart.umd.min.js.map"),
    ("chart.js/LICENSE.md", "vendor/chartjs/LICENSE.md"),
    # The REST API's docs page (/api/v1/docs/); both files name their source maps.
    ("swagger-ui-dist/swagger-ui-bundle.js", "vendor/swagger-ui/swagger-ui-bundle.js"),
    ("swagger-ui-dist/swagger-ui-bundle.js.map", "vendor/swagger-ui/swagger-ui-bundle.js.map"),
    ("swagger-ui-dist/swagger-ui.css", "vendor/swagger-ui/swagger-ui.css"),
    ("swagger-ui-dist/swagger-ui.css.map", "vendor/swagger-ui/swagger-ui.css.map"),
    ("swagger-ui-dist/LICENSE", "vendor/swagger-ui/LICENSE"),
]


def _vendor_sources(root: Path) -> list[tuple[Path, str]]:
    sources = [(root / NODE_MODULES / npm_path, target) for npm_path, target in VENDOR_FILES]
    missing = [str(path.relative_to(root)) for path, _ in sources if not path.is_file()]
    if missing:
        raise SystemExit(
            "Cannot build Django Automate: the studio's JavaScript packages are missing "
            f"({', '.join(missing)}). Run `npm ci` in {root} first (package.json lists "
            "them; `make install` does it)."
        )
    return sources


class BuildPyWithVendor(build_py):
    """``build_py`` that also copies the studio's npm files into the built package."""

    def run(self) -> None:
        # An editable install (`pip install -e .`, as `make install` does) serves the
        # checkout, whose settings read node_modules directly.
        if getattr(self, "editable_mode", False):
            super().run()
            return
        sources = _vendor_sources(ROOT)  # fail before building anything
        super().run()
        static = Path(self.build_lib) / "studio" / "static"
        for source, target in sources:
            destination = static / target
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)


class SdistWithVendor(sdist):
    """``sdist`` that carries the npm files the wheel build needs (and nothing else)."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        for npm_path, _ in VENDOR_FILES:
            destination = Path(base_dir) / NODE_MODULES / npm_path
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / NODE_MODULES / npm_path, destination)

    def run(self) -> None:
        _vendor_sources(ROOT)  # fail before writing anything
        super().run()


setup(cmdclass={"build_py": BuildPyWithVendor, "sdist": SdistWithVendor})
