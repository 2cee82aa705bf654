"""The real ticker across changes of the clocks, and cron refused wherever it is saved."""

import json
from datetime import datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from automate.compat import UTC
from automate.execution.models import ExecutionRun
from automate.triggers.schedules import fire_due_schedules
from automate.workflows.exceptions import WorkflowValidationError
from automate.workflows.models import Workflow, WorkflowVersion
from automate.workflows.services import publish_version
from tests.factories import make_published, make_studio_user, make_tenant, make_user, make_workflow

pytestmark = pytest.mark.django_db(transaction=True)

GRAPH = {"nodes": [{"id": "trigger", "type": "trigger"}], "edges": []}
SIX = "this one has 6 — seconds are not supported"


def scheduled(slug, cron, tz, published_at):
    version = make_published(
        slug=slug,
        rule_spec={},
        trigger_spec={"event_type": "report.tick", "schedule": {"cron": cron, "timezone": tz}},
        graph=GRAPH,
    )
    WorkflowVersion.objects.filter(pk=version.pk).update(published_at=published_at)
    return version.workflow


def tick_every_30_seconds(start, hours):
    now = start
    while now < start + timedelta(hours=hours):
        now += timedelta(seconds=30)
        fire_due_schedules(now=now)


def fired(workflow):
    return sorted(
        (
            run.event.payload["scheduled_for"]
            for run in ExecutionRun.objects.filter(workflow_version__workflow=workflow)
        ),
        key=lambda text: datetime.fromisoformat(text).astimezone(UTC),
    )


def test_the_ticker_runs_a_fixed_time_schedule_once_in_the_repeated_hour():
    start = datetime(2026, 10, 24, 23, 0, tzinfo=UTC)  # 01:00+02:00 in Paris
    daily = scheduled("daily", "30 2 * * *", "Europe/Paris", start)
    quarter = scheduled("quarter", "*/15 * * * *", "Europe/Paris", start)
    hourly = scheduled("hourly", "0 * * * *", "Europe/Paris", start)
    new_york = scheduled("ny", "30 1 * * *", "America/New_York", start)
    tick_every_30_seconds(start, hours=4)  # until 04:00+01:00 in Paris

    assert fired(daily) == ["2026-10-25T02:30:00+02:00"]
    assert fired(hourly) == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T03:00:00+01:00",
        "2026-10-25T04:00:00+01:00",
    ]
    quarters = fired(quarter)
    assert len(quarters) == len(set(quarters)) == 16  # four elapsed hours, nothing lost
    assert "2026-10-25T02:45:00+02:00" in quarters
    assert "2026-10-25T02:45:00+01:00" in quarters
    assert fired(new_york) == []  # its change is a week later


def test_the_ticker_runs_a_skipped_time_once_just_after_the_gap():
    start = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)  # 01:00+01:00 in Paris
    daily = scheduled("daily", "30 2 * * *", "Europe/Paris", start)
    both = scheduled("both", "0,30 2 * * *", "Europe/Paris", start)
    quarter = scheduled("quarter", "*/15 * * * *", "Europe/Paris", start)
    tick_every_30_seconds(start, hours=3)

    assert fired(daily) == ["2026-03-29T03:00:00+02:00"]
    assert fired(both) == ["2026-03-29T03:00:00+02:00"]
    quarters = fired(quarter)
    assert len(quarters) == 12
    assert not any(text.startswith("2026-03-29T02:") for text in quarters)


# --- cron refused wherever a schedule is saved ------------------------------------------

BAD_CRONS = ["0 0 9 * * 1", "*/10 * * * * *", "0 0 L * *", "0 0 * * 1#2", "0 0 ? * *", "61 * * * *"]


@pytest.mark.parametrize("cron", BAD_CRONS)
def test_publish_refuses_a_bad_cron(cron):
    workflow = make_workflow(
        slug="wf",
        rule_spec={},
        trigger_spec={"event_type": "report.tick", "schedule": {"cron": cron}},
        graph=GRAPH,
    )
    with pytest.raises(WorkflowValidationError) as caught:
        publish_version(workflow=workflow)
    assert caught.value.problems[0]["field"] == "trigger_spec.schedule.cron"
    assert not WorkflowVersion.objects.exists()


@pytest.mark.parametrize("cron", BAD_CRONS)
def test_import_refuses_a_bad_cron(cron, tmp_path):
    path = tmp_path / "wf.json"
    path.write_text(
        json.dumps(
            {
                "slug": "wf",
                "name": "Report",
                "trigger_spec": {"event_type": "report.tick", "schedule": {"cron": cron}},
                "graph": GRAPH,
            }
        )
    )
    with pytest.raises(CommandError) as caught:
        call_command("automate_import", file=str(path), publish=True)
    assert "trigger_spec.schedule.cron" in str(caught.value)
    assert not Workflow.objects.exists()


def test_import_says_why_a_six_field_cron_is_refused(tmp_path):
    path = tmp_path / "wf.json"
    path.write_text(
        json.dumps(
            {
                "slug": "wf",
                "name": "Report",
                "trigger_spec": {"event_type": "report.tick", "schedule": {"cron": "0 0 9 * * 1"}},
                "graph": GRAPH,
            }
        )
    )
    with pytest.raises(CommandError, match=SIX):
        call_command("automate_import", file=str(path))


@pytest.fixture
def studio():
    tenant = make_tenant("acme")
    user = make_studio_user("ed")
    tenant.members.add(user)
    client = Client()
    client.force_login(user)
    workflow = make_workflow(
        slug="wf",
        tenant=tenant,
        rule_spec={},
        trigger_spec={"event_type": "report.tick", "schedule": {"cron": "0 9 * * 1"}},
        graph=GRAPH,
    )
    return client, workflow


@pytest.mark.parametrize("cron", BAD_CRONS)
def test_the_studio_panel_refuses_a_bad_cron_and_saves_nothing(studio, cron):
    client, workflow = studio
    response = client.post(
        f"/studio/workflows/{workflow.pk}/nodes/trigger/panel/",
        {"event_type": "report.tick", "cron": cron, "timezone": "UTC", "missed": "skip"},
        HTTP_HX_REQUEST="true",
    )
    page = response.content.decode()
    assert "Nothing was saved" in page
    workflow.refresh_from_db()
    assert workflow.draft_trigger_spec["schedule"]["cron"] == "0 9 * * 1"
    assert workflow.draft_revision == 0


def test_the_studio_panel_says_why(studio):
    client, workflow = studio
    page = client.post(
        f"/studio/workflows/{workflow.pk}/nodes/trigger/panel/",
        {"event_type": "report.tick", "cron": "0 0 9 * * 1", "timezone": "UTC"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert SIX in page


@pytest.mark.parametrize("cron", BAD_CRONS)
def test_the_editor_draft_save_refuses_a_bad_cron(studio, cron):
    client, workflow = studio
    response = client.put(
        f"/studio/workflows/{workflow.pk}/draft.json",
        data=json.dumps(
            {
                "revision": 0,
                "trigger_spec": {"event_type": "report.tick", "schedule": {"cron": cron}},
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "message", "details", "trace_id"}
    assert "trigger_spec.schedule.cron" in body["details"]["fields"]
    workflow.refresh_from_db()
    assert workflow.draft_trigger_spec["schedule"]["cron"] == "0 9 * * 1"


@pytest.mark.parametrize("cron", BAD_CRONS)
def test_the_admin_refuses_a_bad_cron(cron):
    workflow = make_workflow(slug="wf", rule_spec={}, graph=GRAPH)
    client = Client()
    client.force_login(make_user(superuser=True))
    response = client.post(
        f"/admin/automate/workflow/{workflow.pk}/change/",
        {
            "tenant": workflow.tenant_id,
            "slug": "wf",
            "name": workflow.name,
            "description": "",
            "is_active": "on",
            "draft_trigger_spec": json.dumps(
                {"event_type": "report.tick", "schedule": {"cron": cron}}
            ),
            "draft_rule_spec": "{}",
            "draft_graph": json.dumps(GRAPH),
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "trigger_spec.schedule.cron" in response.content.decode()
    workflow.refresh_from_db()
    assert "schedule" not in workflow.draft_trigger_spec


def test_the_admin_saves_a_good_cron():
    workflow = make_workflow(slug="wf", rule_spec={}, graph=GRAPH)
    client = Client()
    client.force_login(make_user(superuser=True))
    response = client.post(
        f"/admin/automate/workflow/{workflow.pk}/change/",
        {
            "tenant": workflow.tenant_id,
            "slug": "wf",
            "name": workflow.name,
            "description": "",
            "is_active": "on",
            "draft_trigger_spec": json.dumps(
                {"event_type": "report.tick", "schedule": {"cron": "@daily"}}
            ),
            "draft_rule_spec": "{}",
            "draft_graph": json.dumps(GRAPH),
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    workflow.refresh_from_db()
    assert workflow.draft_trigger_spec["schedule"] == {"cron": "@daily"}
