"""Schemathesis against the live OpenAPI schema: a few generated requests per operation,
signed with a token holding every scope, into a tenant with one of everything.

Every answer must be no server error (5xx) and conform to the schema: its status is one
the operation documents, its body matches that status's schema (the error shape for
4xx), and its content type is the documented one. Requests are sent to the WSGI app in
process (no server), so the test database and its transaction are shared.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, Phase, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.api.conftest import make_side
from tests.integration.governance.helpers import new_key, use_db_backend

pytestmark = pytest.mark.django_db

#: No 5xx; a documented status, content type and body for every answer.
CHECKS = (
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)


@pytest.fixture
def api_world(db, monkeypatch, settings):  # type: ignore[no-untyped-def]
    from django.core import signals
    from django.db import close_old_connections

    use_db_backend(monkeypatch, settings, new_key())
    # As in production (and pytest-django's default, said here so it stays so): DEBUG
    # off. Unmatched /api/ paths answer JSON with DEBUG on too (test_schema_promises).
    settings.DEBUG = False
    side = make_side("acme")
    make_side("globex")  # another tenant's rows, which must never leak or break a page
    # As Django's test client does: a request must not close the test's connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield side
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


# Loaded at collection (the schema view reads no database); the requests of each example
# run inside the test's transaction, against the rows of ``api_world``.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", WSGIHandler())


@schema.parametrize()
@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case, api_world):  # type: ignore[no-untyped-def]
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {api_world.client.text}"}
    response = case.call()
    case.validate_response(response, checks=CHECKS)
