"""What the pages built for a million runs show: bounded figures said as such, exact
searches, no JSON columns read for a list, tenants read once and never written by a GET."""

from __future__ import annotations

import base64
import html
import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from automate.admin_lists import BoundedCountPaginator
from automate.execution.models import ExecutionRun, OutboxJob
from automate.tenants.models import DEFAULT_TENANT_SLUG, Tenant
from studio.views import dashboard, explorer
from tests.factories import make_user

pytestmark = pytest.mark.django_db

HEAVY_COLUMNS = re.compile(r'"(outputs|payload|raw_body|graph|draft_graph|inputs|context)"')
#: A comparison made in the database (``CASE WHEN draft_graph = live graph``) reads the
#: columns there but sends one boolean: it is not a read of them by the page.
COMPARED_IN_DB = re.compile(r"CASE WHEN .*? END", re.S)


def reads_heavy_column(sql):
    return bool(HEAVY_COLUMNS.search(COMPARED_IN_DB.sub("", sql)))


def sql_of(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return response, [q["sql"] for q in captured.captured_queries]


# --- tenants ---------------------------------------------------------------------------------


def test_a_user_in_no_tenant_reads_pages_without_creating_the_default_tenant(client):
    client.force_login(make_user(perms=["automate.use_studio", "automate.change_workflow"]))
    for name in ("studio:dashboard", "studio:runs"):
        assert client.get(reverse(name)).status_code == 200
    assert not Tenant.objects.filter(slug=DEFAULT_TENANT_SLUG).exists()
    # The first write creates it, and the user then works in it.
    response = client.post(reverse("studio:wizard"), {"name": "First"})
    assert response.status_code == 302
    assert Tenant.objects.get(slug=DEFAULT_TENANT_SLUG).workflows.get().name == "First"
    assert "First" in client.get(reverse("studio:dashboard")).content.decode()


def test_a_request_reads_the_users_tenants_once(world, member):
    world.add(3)
    _, queries = sql_of(member, reverse("studio:runs"))
    assert sum("automate_tenant_members" in sql for sql in queries) == 1
    _, queries = sql_of(member, reverse("admin:automate_executionrun_changelist"))
    assert sum("automate_tenant_members" in sql for sql in queries) == 1


# --- studio ----------------------------------------------------------------------------------


def test_dashboard_says_what_its_figures_cover(world, member):
    # 20 days: older than the window, and "2 weeks" in any month (30 days read "1 month"
    # when the month before has 30 days).
    ExecutionRun.objects.update(created_at=timezone.now() - timedelta(days=20))
    page = member.get(reverse("studio:dashboard")).content.decode()
    assert "Success covers the runs of the last 7 days." in page
    # A run older than the window still shows when the workflow last ran.
    row = page[page.index("Main flow") :].split("</tr>")[0]
    assert "weeks" in row
    assert "never" not in row
    assert "no runs" in row


def test_dashboard_success_rate_stops_at_the_newest_runs(world, member, monkeypatch):
    world.add(3)  # the main run and every second new run succeed: 2 of 4 runs
    monkeypatch.setattr(dashboard, "SUMMARY_RUNS", 2)
    page = member.get(reverse("studio:dashboard")).content.decode()
    assert "Success covers the newest 2 runs of the last 7 days." in page


def test_runs_list_dead_letter_badge_stops_counting_at_its_cap(world, member, monkeypatch):
    world.add(3)
    assert OutboxJob.objects.filter(status=OutboxJob.Status.DEAD).count() == 3
    monkeypatch.setattr(explorer, "DEAD_COUNT_CAP", 2)
    page = member.get(reverse("studio:runs")).content.decode()
    assert '<span class="count-pill">2+</span>' in page


def test_dead_letters_come_in_pages_that_reach_every_one(world, member):
    world.add(7)
    dead = set(OutboxJob.objects.filter(status=OutboxJob.Status.DEAD).values_list("pk", flat=True))
    assert len(dead) == 7
    seen: list[int] = []
    url = reverse("studio:runs") + "?view=dead&limit=3"
    pages = 0
    while url:
        page = member.get(url).content.decode()
        pages += 1
        rows = [int(pk) for pk in re.findall(r'<tr data-job-id="(\d+)">', page)]
        assert 1 <= len(rows) <= 3
        seen += rows
        older = re.search(r'id="older-dead" href="([^"]+)"', page)
        url = reverse("studio:runs") + html.unescape(older.group(1)) if older else ""
    assert pages == 3
    assert len(seen) == len(set(seen))
    assert set(seen) == dead


@pytest.mark.parametrize("view", ["", "dead"])
@pytest.mark.parametrize(
    "payload",
    [
        [1, 2],
        ["2026-11-30T10:00:00+00:00", 5],
        ["2026-11-30T10:00:00+00:00", "x"],
        [None, None],
        {"a": 1},
        ["not a date", "00000000-0000-0000-0000-000000000000"],
        [],
        "s",
    ],
)
def test_a_forged_cursor_shows_the_first_page(world, member, view, payload):
    world.add(3)
    cursor = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    response = member.get(reverse("studio:runs"), {"view": view, "cursor": cursor})
    assert response.status_code == 200
    assert "Older" not in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        lambda w: reverse("studio:dashboard"),
        lambda w: reverse("studio:runs"),
        lambda w: reverse("studio:runs") + "?view=dead",
    ],
    ids=["dashboard", "runs", "dead letters"],
)
def test_studio_lists_read_no_json_column(world, member, url):
    world.add(3)
    _, queries = sql_of(member, url(world))
    assert not [sql for sql in queries if reads_heavy_column(sql)]


# --- admin -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model", ["event", "executionrun", "outboxjob", "workflow", "workflowversion"]
)
def test_admin_lists_read_no_json_column(world, superuser, model):
    world.add(3)
    _, queries = sql_of(superuser, reverse(f"admin:automate_{model}_changelist"))
    assert not [sql for sql in queries if reads_heavy_column(sql)]


def test_admin_lists_count_once_and_never_with_distinct(world, superuser):
    world.add(3)
    # The audit log (about one row per hundred runs) keeps its action and resource type
    # filters: a DISTINCT over it stays small.
    for model in ("event", "executionrun", "outboxjob", "auditlogentry"):
        _, queries = sql_of(superuser, reverse(f"admin:automate_{model}_changelist"))
        counts = [sql for sql in queries if "COUNT(" in sql.upper()]
        assert len(counts) == 1
        assert "LIMIT 1001" in counts[0]
        if model != "auditlogentry":
            assert not [sql for sql in queries if "DISTINCT" in sql.upper()]


def test_admin_says_when_more_rows_match_than_it_counts(world, superuser, monkeypatch):
    world.add(3)
    monkeypatch.setattr(BoundedCountPaginator, "count_cap", 2)
    monkeypatch.setattr("automate.admin_tenancy.COUNT_CAP", 2)
    page = superuser.get(reverse("admin:automate_executionrun_changelist")).content.decode()
    assert "More than 2 execution runs match" in page


def test_admin_run_search_is_exact(world, superuser):
    world.add(3)
    url = reverse("admin:automate_executionrun_changelist")
    trace = world.run.trace_id
    found = superuser.get(url, {"q": trace}).context["cl"].result_list
    assert [run.pk for run in found] == [world.run.pk]
    assert not superuser.get(url, {"q": trace[:10]}).context["cl"].result_list
    assert [
        r.pk for r in superuser.get(url, {"q": str(world.run.pk)}).context["cl"].result_list
    ] == [world.run.pk]
    # Terms no column can hold find nothing, and never fail.
    for term in ["not-a-uuid", "9" * 40, "x" * 300]:
        response = superuser.get(url, {"q": term})
        assert response.status_code == 200
        assert not response.context["cl"].result_list


def test_admin_outbox_search_takes_a_job_number(world, superuser):
    world.add(3)
    job = OutboxJob.objects.order_by("pk").first()
    url = reverse("admin:automate_outboxjob_changelist")
    assert [j.pk for j in superuser.get(url, {"q": str(job.pk)}).context["cl"].result_list] == [
        job.pk
    ]
    for term in ["DEAD", "99999999999999999999999"]:
        response = superuser.get(url, {"q": term})
        assert response.status_code == 200
        assert not response.context["cl"].result_list


def test_admin_runs_filter_by_workflow(world, superuser):
    world.add(3)
    url = reverse("admin:automate_executionrun_changelist")
    shown = superuser.get(url, {"workflow": world.workflow.pk}).context["cl"].result_list
    expected = ExecutionRun.objects.filter(workflow_version__workflow=world.workflow)
    assert {run.pk for run in shown} == set(expected.values_list("pk", flat=True))
    assert len(shown) >= 2


def test_runs_of_another_tenants_workflow_are_not_even_looked_for(world, member):
    from tests.factories import make_published, make_tenant

    world.add(3)
    theirs = make_published(tenant=make_tenant("globex"), trigger_spec={"event_type": "x"})
    response, queries = sql_of(member, f"{reverse('studio:runs')}?workflow={theirs.workflow.pk}")
    assert 'id="runs-empty" class="muted empty" >' in response.content.decode()
    # No version of theirs is the user's: the list is empty without reading any run (a
    # LIMIT over the user's runs that matches none would read all of them).
    assert not [sql for sql in queries if 'FROM "automate_executionrun"' in sql]
