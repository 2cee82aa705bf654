"""Insights: the figures of a known set of runs, tenancy, bad ranges, bounded queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from automate.events.models import Event
from automate.execution.models import ExecutionRun, OutboxJob, StepRun
from automate.guard.parse import InputRejected
from automate.observability.insights import parse_window, percentile
from automate.tenants.models import Tenant
from tests.factories import make_published, make_studio_user, make_tenant, make_user, make_workflow

pytestmark = pytest.mark.django_db

GRAPH = {
    "nodes": [
        {"id": "trigger", "type": "trigger", "label": "When an event arrives"},
        {
            "id": "fetch",
            "type": "action",
            "label": "Fetch order",
            "connector": "testkit",
            "action": "echo",
        },
        {
            "id": "notify",
            "type": "action",
            "label": "Notify Slack",
            "connector": "testkit",
            "action": "echo",
        },
    ],
    "edges": [{"source": "trigger", "target": "fetch"}, {"source": "fetch", "target": "notify"}],
}


class Seed:
    """Runs of one published workflow at chosen times, with their steps and dead letters."""

    def __init__(self, tenant, name="Orders"):
        self.tenant = tenant
        self.version = make_published(tenant=tenant, name=name, graph=GRAPH)
        self.workflow = self.version.workflow
        self.now = timezone.now()

    def run(self, *, hours_ago, status="succeeded", ms=None, steps=()):
        event = Event.objects.create(tenant=self.tenant, type="invoice.paid", trace_id="t")
        created = self.now - timedelta(hours=hours_ago)
        run = ExecutionRun.objects.create(
            tenant=self.tenant, workflow_version=self.version, event=event, status=status
        )
        finished = created + timedelta(milliseconds=ms) if ms is not None else None
        ExecutionRun.objects.filter(pk=run.pk).update(
            created_at=created,
            started_at=created if ms is not None else None,
            finished_at=finished,
        )
        for attempt, (node_id, step_status, step_ms) in enumerate(steps, start=1):
            StepRun.objects.create(
                run=run,
                node_id=node_id,
                attempt=attempt,
                status=step_status,
                duration_ms=step_ms,
            )
        return run

    def dead_letter(self, *, hours_ago, status="DEAD", run=None):
        job = OutboxJob.objects.create(
            tenant=self.tenant, kind="step", run=run, status=status, node_id="notify"
        )
        OutboxJob.objects.filter(pk=job.pk).update(updated_at=self.now - timedelta(hours=hours_ago))


@pytest.fixture
def seeded():
    tenant = make_tenant("acme")
    seed = Seed(tenant)
    # 3 h ago: four succeeded runs; 5 h ago: two succeeded, two failed, one cancelled.
    for hours, ms in [(3, 100), (3, 200), (3, 300), (3, 400), (5, 500), (5, 600)]:
        seed.run(
            hours_ago=hours,
            ms=ms,
            steps=[("fetch", "succeeded", ms // 2), ("notify", "succeeded", 10)],
        )
    for ms in (1000, 2000):
        run = seed.run(
            hours_ago=5,
            status="failed",
            ms=ms,
            steps=[("fetch", "succeeded", ms), ("notify", "failed", 5)],
        )
    seed.run(hours_ago=5, status="cancelled")
    # Three days ago: outside the last 24 hours, inside the last 7 days.
    seed.run(hours_ago=72, ms=50, steps=[("fetch", "succeeded", 20)])
    seed.dead_letter(hours_ago=2, run=run)
    seed.dead_letter(hours_ago=2, status="FAILED", run=run)
    seed.dead_letter(hours_ago=2, status="COMPLETED", run=run)  # not a dead letter
    seed.dead_letter(hours_ago=80)
    # Another tenant's runs and dead letters: never counted for acme's users.
    other = Seed(make_tenant("globex"), name="Globex sync")
    for _ in range(3):
        other.run(hours_ago=3, status="failed", ms=9000, steps=[("notify", "failed", 9000)])
    other.dead_letter(hours_ago=2)
    user = make_studio_user("ed")
    tenant.members.add(user)
    client = Client()
    client.force_login(user)
    client.seed = seed
    return client


def figures(client, url="/studio/insights.json", **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_last_24_hours_counts_each_outcome_in_its_hour(seeded):
    data = figures(seeded, range="24h")
    assert data["bucket"] == "hour"
    assert len(data["labels"]) in (24, 25)
    assert data["totals"] == {
        "pending": 0,
        "running": 0,
        "succeeded": 6,
        "failed": 2,
        "cancelled": 1,
    }
    # The newest bucket is the current hour: 3 h ago is 3 buckets before it.
    assert data["series"]["succeeded"][-4] == 4
    assert data["series"]["succeeded"][-6] == 2
    assert data["series"]["failed"][-6] == 2
    assert data["failure_rate"] == 25.0


def test_durations_are_the_interpolated_percentiles(seeded):
    durations = figures(seeded, range="24h")["durations"]
    # 100 … 600, 1000, 2000 ms: p50 halfway between 400 and 500, p95 at 6.65 of 7.
    assert durations["sample"] == 8
    assert durations["p50_ms"] == pytest.approx(450, abs=1)
    assert durations["p95_ms"] == pytest.approx(1650, abs=1)
    assert durations["capped"] is False


def test_slowest_and_most_failing_steps_name_the_node(seeded):
    data = figures(seeded, range="24h")
    slowest = data["slowest_steps"][0]
    assert (slowest["node"], slowest["workflow"]) == ("Fetch order", "Orders")
    # fetch took 50 … 300, 1000, 2000 ms over 8 runs.
    assert slowest["p95_ms"] == pytest.approx(
        percentile([50, 100, 150, 200, 250, 300, 1000, 2000], 0.95), abs=1
    )
    assert [(s["node"], s["failures"]) for s in data["failing_steps"]] == [("Notify Slack", 2)]


def test_dead_letters_per_bucket_and_range(seeded):
    day = figures(seeded, range="24h")
    assert day["dead_total"] == 2
    assert day["dead_letters"][-3] == 2
    week = figures(seeded, range="7d")
    assert week["bucket"] == "day"
    assert week["dead_total"] == 3
    assert week["total"] == 10


def test_a_workflow_counts_only_its_own_runs(seeded):
    other = Seed(seeded.seed.tenant, name="Refunds")
    other.run(hours_ago=1, status="failed", ms=10)
    url = f"/studio/workflows/{seeded.seed.workflow.pk}/insights.json"
    assert figures(seeded, url, range="24h")["totals"]["failed"] == 2
    assert figures(seeded, "/studio/insights.json", range="24h")["totals"]["failed"] == 3


def test_another_tenants_workflow_is_not_found(seeded):
    globex = ExecutionRun.objects.exclude(tenant=seeded.seed.tenant).first()
    workflow_id = globex.workflow_version.workflow_id
    assert seeded.get(f"/studio/workflows/{workflow_id}/insights/").status_code == 404
    assert seeded.get(f"/studio/workflows/{workflow_id}/insights.json").status_code == 404


def test_custom_range_counts_the_days_asked_for(seeded):
    today = timezone.now().date()
    start = (today - timedelta(days=4)).isoformat()
    data = figures(seeded, range="custom", start=start, end=today.isoformat())
    assert data["range"] == "custom"
    assert len(data["labels"]) == 5
    assert data["total"] == 10


@pytest.mark.parametrize(
    "params",
    [
        {"range": "1y"},
        {"range": "custom"},
        {"range": "custom", "start": "2026-02-30", "end": "2026-03-02"},
        {"range": "custom", "start": "yesterday", "end": "2026-03-02"},
        {"range": "custom", "start": "2026-03-05", "end": "2026-03-01"},
        {"range": "custom", "start": "2025-01-01", "end": "2026-01-01"},
    ],
)
def test_a_bad_range_is_a_400_in_the_error_shape(seeded, params):
    response = seeded.get("/studio/insights.json", params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_range"
    assert body["message"]
    page = seeded.get("/studio/insights/", params, HTTP_HX_REQUEST="true")
    assert page.status_code == 400
    assert b'data-code="invalid_range"' in page.content


def test_parse_window_refuses_what_it_cannot_read():
    now = timezone.now()
    with pytest.raises(InputRejected):
        parse_window("custom", start="2026-01-01T99:00", end="2026-01-02", now=now)
    assert parse_window("", now=now).key == "7d"


def test_the_panel_shows_figures_and_chart_data(seeded):
    response = seeded.get("/studio/insights/", {"range": "24h"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'id="insights-data"' in html
    assert 'id="ins-runs-chart"' in html
    assert 'role="img"' in html
    assert "25.0%" in html
    assert "Fetch order" in html
    assert "Notify Slack" in html
    assert "Globex sync" not in html


def test_workflow_page_is_reachable_from_the_dashboard_and_editor(seeded):
    url = f"/studio/workflows/{seeded.seed.workflow.pk}/insights/"
    assert url in seeded.get("/studio/").content.decode()
    assert url in seeded.get(f"/studio/workflows/{seeded.seed.workflow.pk}/").content.decode()
    page = seeded.get(url)
    assert page.status_code == 200
    assert b"vendor/chartjs/chart.umd.min.js" in page.content


def test_a_user_without_the_studio_permission_is_refused(seeded):
    client = Client()
    client.force_login(make_user("plain"))
    assert client.get("/studio/insights.json").status_code == 403
    assert client.get("/studio/insights/").status_code == 403


def test_a_user_sees_only_their_tenants_runs(seeded):
    globex = make_studio_user("gina")
    Tenant.objects.get(slug="globex").members.add(globex)
    client = Client()
    client.force_login(globex)
    data = figures(client, range="24h")
    assert data["totals"]["failed"] == 3
    assert data["totals"]["succeeded"] == 0
    assert data["dead_total"] == 1
    assert [s["workflow"] for s in data["failing_steps"]] == ["Globex sync"]


def _query_count(client, url):
    client.get(url)  # warm the process-wide caches
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, HTTP_HX_REQUEST="true").status_code == 200
    CAPTURED[:] = captured.captured_queries
    return len(captured.captured_queries)


CAPTURED = []


@pytest.mark.parametrize("path", ["/studio/insights/?range=30d", "WORKFLOW"])
def test_queries_do_not_grow_with_the_runs(seeded, path):
    seed = seeded.seed
    url = path.replace("WORKFLOW", f"/studio/workflows/{seed.workflow.pk}/insights/?range=30d")
    few = _query_count(seeded, url)
    for i in range(30):
        seed.run(
            hours_ago=i,
            status="failed" if i % 3 else "succeeded",
            ms=100 + i,
            steps=[("fetch", "succeeded", 5), ("notify", "failed", 7)],
        )
        seed.dead_letter(hours_ago=i)
    many = _query_count(seeded, url)
    assert few == many
    assert many <= 15, "\n".join(q["sql"][:150] for q in CAPTURED)


def test_counts_stop_at_the_cap_and_say_so(seeded, monkeypatch):
    monkeypatch.setattr("automate.observability.insights.COUNT_RUNS", 5)
    data = figures(seeded, range="24h")
    # The newest five runs: the four of 3 h ago and one of 5 h ago.
    assert sum(sum(counts) for counts in data["series"].values()) == 5
    assert data["series"]["succeeded"][-4] == 4
    assert data["counted_from"] == data["labels"][-6]
    page = seeded.get("/studio/insights/", {"range": "24h"}, HTTP_HX_REQUEST="true")
    assert b'id="ins-capped"' in page.content
    assert b"not counted" in page.content
    assert figures(seeded, range="7d", start="")["counted_from"] is not None


def test_counts_below_the_cap_are_not_marked(seeded):
    assert figures(seeded, range="30d")["counted_from"] is None


def test_a_plain_get_of_the_panel_is_a_studio_page(seeded):
    page = seeded.get("/studio/insights/", {"range": "24h"})
    assert page.status_code == 200
    assert b"vendor/chartjs/chart.umd.min.js" in page.content
    assert b'id="insights-data"' in page.content
    refused = seeded.get("/studio/insights/", {"range": "1y"})
    assert refused.status_code == 400


def test_a_workflow_never_published_shows_empty_insights(seeded):
    # No version, so no run can match: the page and its figures are empty, not a 500.
    fresh = make_workflow(slug="fresh", tenant=seeded.seed.workflow.tenant)
    assert seeded.get(f"/studio/workflows/{fresh.pk}/insights/").status_code == 200
    data = figures(seeded, f"/studio/workflows/{fresh.pk}/insights.json")
    assert sum(sum(counts) for counts in data["series"].values()) == 0
