"""The JSON Schema (draft 2020-12) of a workflow file, as read by ``automate_import`` and
written by ``automate_export``; it lives next to this module as ``workflow.schema.json``.

The schema checks a file's shape only; :func:`automate.workflows.graph.graph_problems`
also checks what a schema cannot (edges against nodes, loops, reachability, conditions).
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

SCHEMA_FILE = "workflow.schema.json"


def load_schema() -> dict[str, Any]:
    """The workflow-file JSON Schema as a dict (a fresh copy the caller may change)."""
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema


@cache
def _schema_text() -> str:
    return files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
