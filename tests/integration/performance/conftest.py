"""Query counting for the performance tier: pages must not run more queries as rows grow."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import make_user
from tests.integration.performance.world import World


@pytest.fixture
def world(db):
    return World()


@pytest.fixture
def member(client, world):
    """The client, logged in as the world's tenant member."""
    client.force_login(world.member)
    return client


@pytest.fixture
def superuser(client, world):
    """The client, logged in as a superuser (every tenant, no tenant query)."""
    client.force_login(make_user(superuser=True))
    return client


def count_queries(client: Any, url: str, *, htmx: bool = False) -> tuple[int, list[str]]:
    """The number of queries a GET of ``url`` runs (and their SQL, for the message)."""
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **headers)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured.captured_queries), [q["sql"] for q in captured.captured_queries]


def assert_flat(
    world: World, client: Any, url: Callable[[], str], expected: int, *, htmx: bool = False
) -> None:
    """The page runs ``expected`` queries with 3 rows of everything and with 30.

    One request first, uncounted: the process-wide caches (content types, connectors) are
    warm in a running site."""
    world.add(3)
    count_queries(client, url(), htmx=htmx)
    small, _ = count_queries(client, url(), htmx=htmx)
    world.add(27)
    large, large_sql = count_queries(client, url(), htmx=htmx)
    listing = "\n".join(large_sql)
    assert small == large, f"{small} queries with 3 rows, {large} with 30:\n{listing}"
    assert large == expected, f"{large} queries, expected {expected}:\n{listing}"
