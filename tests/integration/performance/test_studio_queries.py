"""Every studio page runs the same number of queries with 3 rows as with 30 (no N+1), and
that number is pinned: a change that adds a query per row, or a query per page, shows here.

Runs on SQLite and PostgreSQL (the counts are the same on both)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.integration.performance.conftest import assert_flat

pytestmark = pytest.mark.django_db


def far_cursor() -> str:
    """A cursor pointing after a run made tomorrow: the page shows every run."""
    when = (timezone.now() + timedelta(days=1)).isoformat()
    raw = json.dumps([when, "ffffffff-ffff-ffff-ffff-ffffffffffff"]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# (name, url built from the world, htmx request, queries for a tenant member, for a
# superuser). A request starts with 2 (session, user); a member's adds 2 (their permissions,
# user and group, read once by Django's auth backend) and 1 (their tenants, read once however
# many queries the page scopes); a superuser's has neither.
PAGES = [
    # The dashboard also counts the archived workflows (its "N archived workflows" link).
    ("dashboard", lambda w: reverse("studio:dashboard"), False, 11, 8),
    ("wizard", lambda w: reverse("studio:wizard"), False, 4, 2),
    # The editor: + the ten newest version numbers (its File menu's exports).
    ("editor", lambda w: reverse("studio:editor", args=[w.workflow.pk]), False, 8, 5),
    # The draft: + the trigger's recent sample payloads (publish warnings on variables)
    # and its pinned node ids (the canvas's pin markers).
    ("draft.json", lambda w: reverse("studio:draft", args=[w.workflow.pk]), False, 8, 5),
    ("palette.json", lambda w: reverse("studio:palette"), False, 4, 2),
    # A node panel: + whether the site has one tenant (the secrets backend's note), the
    # workflow's newest run ids (once), the node's last step and each upstream node's last
    # output (one indexed query per node, at most run_data.MAX_NODES).
    (
        "node panel",
        lambda w: reverse("studio:node_panel", args=[w.workflow.pk, "retry"]),
        True,
        11,
        8,
    ),
    (
        "node panel page",
        lambda w: reverse("studio:node_panel", args=[w.workflow.pk, "retry"]),
        False,
        11,
        8,
    ),
    ("rules tab", lambda w: reverse("studio:rules", args=[w.workflow.pk]), True, 7, 4),
    # The failure settings: + the error workflow choices, the latest failures (one query
    # each, bounded); the secret names cost none with the env backend.
    (
        "failure settings",
        lambda w: reverse("studio:failure_settings", args=[w.workflow.pk]),
        True,
        9,
        6,
    ),
    ("history", lambda w: reverse("studio:history", args=[w.workflow.pk]), True, 7, 4),
    ("diff", lambda w: reverse("studio:diff", args=[w.workflow.pk]), True, 6, 3),
    ("runs", lambda w: reverse("studio:runs"), False, 8, 5),
    (
        "runs by workflow",
        lambda w: f"{reverse('studio:runs')}?workflow={w.workflow.pk}",
        False,
        9,
        6,
    ),
    ("runs by status", lambda w: f"{reverse('studio:runs')}?status=failed", False, 8, 5),
    ("runs by trace", lambda w: f"{reverse('studio:runs')}?trace={w.run.trace_id}", False, 8, 5),
    (
        "runs by dates",
        lambda w: f"{reverse('studio:runs')}?since=2020-01-01&until=2999-01-01",
        False,
        8,
        5,
    ),
    ("runs, next page", lambda w: f"{reverse('studio:runs')}?cursor={far_cursor()}", False, 8, 5),
    ("dead letters", lambda w: f"{reverse('studio:runs')}?view=dead", False, 7, 4),
    ("run", lambda w: reverse("studio:run", args=[w.run.pk]), False, 10, 7),
    # The step panel of a failed step asks whether a job waits for it (its sentence then
    # says "queued to run again").
    ("step panel", lambda w: reverse("studio:run_step", args=[w.run.pk, "retry"]), True, 8, 5),
    # The user's tokens (with their tenants) and the tenants a new token may act in.
    ("api tokens", lambda w: reverse("studio:api_tokens"), False, 7, 4),
]
IDS = [page[0] for page in PAGES]


@pytest.mark.parametrize(("url", "htmx", "expected", "_"), [p[1:] for p in PAGES], ids=IDS)
def test_studio_page_queries_do_not_grow_with_rows(world, member, url, htmx, expected, _):
    assert_flat(world, member, lambda: url(world), expected, htmx=htmx)


@pytest.mark.parametrize(("url", "htmx", "_", "expected"), [p[1:] for p in PAGES], ids=IDS)
def test_studio_pages_of_a_superuser_do_not_grow_with_rows(
    world, superuser, url, htmx, _, expected
):
    # A superuser sees every tenant: no tenant query at all.
    assert_flat(world, superuser, lambda: url(world), expected, htmx=htmx)
