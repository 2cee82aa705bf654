"""What the schema promises holds: unmatched API paths are JSON 404s with DEBUG on too,
parameter bounds are in the schema, and 413/415 are documented where they can happen."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from tests.factories import make_tenant
from tests.integration.api.helpers import assert_error, token_client

pytestmark = pytest.mark.django_db

PATHS = [
    "/api/v1/workflows/0.5/",
    "/api/v1/workflows/-1/",
    "/api/v1/nothing/",
    "/api/v1/runs/not-a-uuid/",
    "/api/v1/workflows/1/versions/x/y/",
]


@pytest.mark.parametrize("debug", [True, False], ids=["DEBUG on", "DEBUG off"])
@pytest.mark.parametrize("path", PATHS)
def test_an_unmatched_api_path_is_a_json_404(path, debug):
    client = token_client(make_tenant("acme"))
    with override_settings(DEBUG=debug):
        response = client.get(path)
    assert response["Content-Type"] == "application/json"
    assert_error(response, 404, "resource_not_found")


def test_a_path_without_its_slash_is_still_redirected():
    response = Client().get("/api/v1/health")
    assert response.status_code == 301
    assert response["Location"].endswith("/api/v1/health/")


def _schema():
    return Client().get("/api/v1/schema/").json()


def _parameter(operation, name):
    return next(p for p in operation["parameters"] if p["name"] == name)


def test_the_schema_bounds_limit_and_the_workflow_filter():
    paths = _schema()["paths"]
    for path in ("/api/v1/events/", "/api/v1/runs/", "/api/v1/audit/", "/api/v1/dead-letters/"):
        limit = _parameter(paths[path]["get"], "limit")["schema"]
        assert limit["minimum"] == 1
        assert limit["maximum"] == 999_999
    workflow = _parameter(paths["/api/v1/runs/"]["get"], "workflow")["schema"]
    assert workflow["minimum"] == 0


def test_413_is_documented_everywhere_and_415_where_a_body_is_read():
    for path, item in _schema()["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            assert "413" in operation["responses"], (method, path)
            has_body = "requestBody" in operation
            assert ("415" in operation["responses"]) is has_body, (method, path)


def test_a_body_that_is_not_json_is_a_415_in_the_error_shape():
    client = token_client(make_tenant("acme"))
    response = client.client.post(
        "/api/v1/events/",
        "type=x",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Bearer {client.text}",
    )
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_an_unmatched_path_is_a_json_404_for_writes_too_even_with_a_session_cookie(method):
    from tests.factories import make_user

    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("someone"))
    response = getattr(client, method)("/api/v1/dead-letters/0.5/replay/")
    assert response["Content-Type"] == "application/json"
    assert_error(response, 404, "resource_not_found")
