"""Every list of the API is a cursor page: ``?limit=`` is honoured (and capped), and
``next_cursor`` walks through every row once, however many there are."""

from __future__ import annotations

import pytest
from django.test import override_settings

from automate.api.tokens import create_token
from automate.governance.secret_store import create_secret
from automate.triggers.models import WebhookEndpoint
from automate.workflows.services import publish_version
from tests.factories import make_published
from tests.integration.api.conftest import GRAPH

pytestmark = pytest.mark.django_db

N = 5


def _fill(side):
    tenant = side.tenant
    for n in range(N):
        make_published(
            slug=f"{tenant.slug}-more-{n}",
            tenant=tenant,
            trigger_spec={"event_type": "x", "schedule": {"cron": f"{n} 3 * * *"}},
            rule_spec={},
            graph=GRAPH,
        )
        create_secret(f"MORE_{n}", "a-value-123456", tenant=tenant)
        WebhookEndpoint.objects.create(
            tenant=tenant,
            slug=f"{tenant.slug}-more-hook-{n}",
            name="Hook",
            scheme="generic",
            secret_name="X",
        )
        create_token(user=side.client.user, tenant=tenant, name=f"t{n}", scopes=["read"])
        publish_version(workflow=side.workflow)


LISTS = [
    ("/api/v1/workflows/", "id"),
    ("/api/v1/workflows/{a.workflow.pk}/versions/", "version_num"),
    ("/api/v1/secrets/", "name"),
    ("/api/v1/tokens/", "id"),
    ("/api/v1/webhook-endpoints/", "id"),
    ("/api/v1/schedules/", "workflow"),
]


def _walk(client, url, limit):
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = client.get(url, query)
        assert response.status_code == 200, response.content
        page = response.json()
        assert set(page) == {"results", "next_cursor", "next"}
        assert len(page["results"]) <= limit
        seen += page["results"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return seen, pages


@pytest.mark.parametrize(("url", "key"), LISTS, ids=[u for u, _ in LISTS])
def test_every_list_is_a_cursor_page_that_walks_every_row_once(sides, url, key):
    a, b = sides
    _fill(a)
    _fill(b)
    path = url.format(a=a)
    everything, _ = _walk(a.client, path, 1000)
    assert len(everything) > N
    seen, pages = _walk(a.client, path, 2)
    assert [row[key] for row in seen] == [row[key] for row in everything]
    assert len({row[key] for row in seen}) == len(seen)
    assert pages >= len(everything) // 2
    # Another tenant's rows never appear.
    text = str(everything)
    assert "globex" not in text.lower()


@pytest.mark.parametrize(("url", "key"), LISTS, ids=[u for u, _ in LISTS])
def test_a_list_is_capped_at_the_max_page_size(sides, url, key):
    a, _ = sides
    _fill(a)
    with override_settings(DJANGO_AUTOMATE={"API": {"max_page_size": 3, "page_size": 2}}):
        assert len(a.client.get(url.format(a=a)).json()["results"]) == 2
        assert len(a.client.get(url.format(a=a), {"limit": 50}).json()["results"]) == 3
