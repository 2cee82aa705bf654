"""Numbers in query parameters are ASCII digits: a superscript (which ``int`` cannot
read) is a 400, not a 500, and another script's digits (which ``int`` reads) are refused
rather than read as a different number."""

from __future__ import annotations

import pytest

from tests.factories import make_tenant
from tests.integration.api.conftest import GRAPH
from tests.integration.api.helpers import assert_error, token_client

pytestmark = pytest.mark.django_db

#: superscript two, Arabic-Indic three, full-width three, a digit then a superscript,
#: Devanagari one, mathematical bold one.
DIGITS = ["\u00b2", "\u0663", "\uff13", "1\u00b2", "\u0967", "\U0001d7cf"]


@pytest.fixture
def client():
    return token_client(make_tenant("acme"))


@pytest.mark.parametrize("value", DIGITS)
@pytest.mark.parametrize("url", ["/api/v1/events/", "/api/v1/runs/", "/api/v1/dead-letters/"])
def test_a_non_ascii_limit_is_a_400(client, url, value):
    body = assert_error(client.get(url, {"limit": value}), 400, "invalid_request")
    assert "limit" in body["message"]


@pytest.mark.parametrize("value", DIGITS)
def test_a_non_ascii_workflow_filter_is_a_400(client, value):
    assert_error(client.get("/api/v1/runs/", {"workflow": value}), 400, "invalid_request")


@pytest.mark.parametrize("value", DIGITS)
@pytest.mark.parametrize("param", ["a", "b"])
def test_a_non_ascii_version_in_a_diff_is_refused(client, param, value):
    made = client.post(
        "/api/v1/workflows/",
        {"name": "Paid", "graph": GRAPH, "trigger_spec": {"event_type": "invoice.paid"}},
    )
    assert made.status_code == 201, made.content
    pk = made.json()["id"]
    assert client.post(f"/api/v1/workflows/{pk}/publish/", {}).status_code == 201
    query = {"a": "draft", "b": "live", param: value}
    response = client.get(f"/api/v1/workflows/{pk}/versions/diff/", query)
    # Never read as version 3 (or 1): a clear 404 naming what a version is.
    body = assert_error(response, 404, "resource_not_found")
    assert "not a version" in body["message"]


def test_ascii_digits_still_work(client):
    assert client.get("/api/v1/events/", {"limit": "3"}).status_code == 200
    assert client.get("/api/v1/runs/", {"workflow": "3"}).status_code == 200
