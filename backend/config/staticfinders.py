"""Single files from ``node_modules``, served at the static paths a wheel ships them at.

``STATICFILES_DIRS`` serves whole folders, which suits a package whose ``dist/`` holds
what the studio loads. lucide-static holds some 60 MB (fonts, one file per icon) beside
the one sprite the studio uses, and ``collectstatic`` would copy all of it: this finder
offers only the files ``NPM_STATIC_FILES`` names (``{static path: npm path}``), the same
ones setup.py's ``VENDOR_FILES`` copies into the wheel.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder, searched_locations
from django.core.files.storage import FileSystemStorage


class NpmFileFinder(BaseFinder):
    """Finds the files of ``settings.NPM_STATIC_FILES`` under ``settings.NODE_MODULES_DIR``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        root = Path(settings.NODE_MODULES_DIR)
        self.files: dict[str, Path] = {
            static_path: root / npm_path
            for static_path, npm_path in getattr(settings, "NPM_STATIC_FILES", {}).items()
        }

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        source = self.files.get(PurePosixPath(path).as_posix())
        found = [str(source)] if source is not None and source.is_file() else []
        if source is not None and str(source.parent) not in searched_locations:
            searched_locations.append(str(source.parent))
        if find_all:
            return found
        return found[0] if found else []

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, FileSystemStorage]]:
        for static_path, source in self.files.items():
            if not source.is_file():
                continue
            storage = FileSystemStorage(location=source.parent)
            # collectstatic puts the file at <prefix>/<name>: its static path.
            storage.prefix = str(PurePosixPath(static_path).parent)  # type: ignore[attr-defined]
            yield source.name, storage
