"""The studio's schedule trigger: cron and time zone checked as typed, the next five
fire times, and the missed-tick policy saved into the trigger."""

from datetime import datetime

import pytest
from django.test import Client

from automate.workflows.models import Workflow
from tests.factories import make_studio_user, make_tenant, make_workflow

pytestmark = pytest.mark.django_db

GRAPH = {
    "nodes": [{"id": "trigger", "type": "trigger", "trigger_kind": "schedule"}],
    "edges": [],
}


@pytest.fixture
def editor():
    tenant = make_tenant("acme")
    user = make_studio_user("ed")
    tenant.members.add(user)
    client = Client()
    client.force_login(user)
    client.workflow = make_workflow(slug="report", tenant=tenant, graph=GRAPH, rule_spec={})
    return client


def preview(client, **params):
    return client.get(f"/studio/workflows/{client.workflow.pk}/trigger/schedule/preview/", params)


def test_the_next_five_fire_times_are_in_the_schedules_zone(editor):
    response = preview(editor, cron="0 9 * * 1-5", timezone="Europe/Paris")
    assert response.status_code == 200
    ticks = [datetime.fromisoformat(t) for t in response.json()["next"]]
    assert len(ticks) == 5
    assert ticks == sorted(ticks)
    assert all((t.hour, t.minute) == (9, 0) and t.isoweekday() <= 5 for t in ticks)
    assert {t.utcoffset().total_seconds() for t in ticks} <= {3600, 7200}

    html = editor.get(
        f"/studio/workflows/{editor.workflow.pk}/trigger/schedule/preview/",
        {"cron": "*/15 * * * *"},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert html.count("<li>") == 5
    assert "Next five fire times" in html


@pytest.mark.parametrize(
    ("cron", "tz", "field", "message"),
    [
        ("0 0 9 * * 1", "UTC", "cron", "this one has 6"),
        ("60 * * * *", "UTC", "cron", "out of range"),
        ("0 0 30 2 *", "UTC", "cron", "never fires"),
        ("", "UTC", "cron", "Type a cron expression"),
        ("0 9 * * *", "Mars/Olympus", "timezone", "unknown time zone"),
    ],
)
def test_a_bad_cron_or_time_zone_is_a_clear_4xx(editor, cron, tz, field, message):
    response = preview(editor, cron=cron, timezone=tz)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_schedule"
    assert message in body["details"]["fields"][field]
    html = editor.get(
        f"/studio/workflows/{editor.workflow.pk}/trigger/schedule/preview/",
        {"cron": cron, "timezone": tz},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert message in html
    assert "<li>" not in html


def save(client, **fields):
    workflow = Workflow.objects.get(pk=client.workflow.pk)
    data = {"label": "", "event_type": "", "revision": workflow.draft_revision, **fields}
    return client.post(
        f"/studio/workflows/{workflow.pk}/nodes/trigger/panel/",
        data,
        headers={"Accept": "application/json"},
    )


def test_saving_a_schedule_trigger_stores_cron_zone_and_missed_policy(editor):
    response = save(editor, cron="30 2 * * *", timezone="Europe/Paris", missed="run_once")
    assert response.status_code == 200, response.content
    spec = Workflow.objects.get(pk=editor.workflow.pk).draft_trigger_spec
    assert spec["schedule"] == {
        "cron": "30 2 * * *",
        "timezone": "Europe/Paris",
        "missed": "run_once",
    }
    assert spec["event_type"] == "schedule.tick"
    assert "webhook" not in spec
    assert "source" not in spec


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"cron": "", "timezone": "UTC"}, "cron"),
        ({"cron": "0 24 * * *", "timezone": "UTC"}, "cron"),
        ({"cron": "0 9 * * *", "timezone": "Nowhere/City"}, "timezone"),
        ({"cron": "0 9 * * *", "timezone": "UTC", "missed": "all"}, "missed"),
    ],
)
def test_a_schedule_trigger_that_cannot_run_is_not_saved(editor, fields, field):
    before = Workflow.objects.get(pk=editor.workflow.pk)
    response = save(editor, **fields)
    assert response.status_code == 400
    assert field in response.json()["details"]["fields"]
    after = Workflow.objects.get(pk=editor.workflow.pk)
    assert (after.draft_revision, after.draft_trigger_spec) == (
        before.draft_revision,
        before.draft_trigger_spec,
    )
