"""docs/reference/api.md lists exactly the operations of the live OpenAPI schema."""

import re
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
OPERATION = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) (/api/v1/[^`]*)` \|", re.MULTILINE)


@pytest.mark.django_db
def test_the_reference_lists_every_operation_of_the_schema():
    schema = Client().get("/api/v1/schema/").json()
    live = {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    documented = set(OPERATION.findall((ROOT / "docs/reference/api.md").read_text()))
    assert sorted(live - documented) == [], "operations missing from docs/reference/api.md"
    assert sorted(documented - live) == [], "docs/reference/api.md names operations that are gone"
