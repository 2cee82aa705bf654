"""The studio marks values the worker stored truncated (automate.payload_caps): the
explorer's step panel, the dead letters list, the editor's run data and "Test this step"."""

import html
import itertools
import re

import pytest
from django.template.defaultfilters import filesizeformat

from automate.execution.models import ExecutionRun
from automate.runtime import emit_event
from tests.factories import make_published, make_studio_user

pytestmark = pytest.mark.django_db(transaction=True)


def publish(nodes):
    ids = ["trigger", *(n["id"] for n in nodes)]
    return make_published(
        slug="caps",
        rule_spec={},
        trigger_spec={"event_type": "caps.test"},
        graph={
            "nodes": [{"id": "trigger", "type": "trigger"}, *nodes],
            "edges": [{"source": a, "target": b} for a, b in itertools.pairwise(ids)],
        },
    )


def action(node_id, act, **inputs):
    return {
        "id": node_id,
        "type": "action",
        "connector": "testkit",
        "action": act,
        "inputs": inputs,
    }


@pytest.fixture
def staff(client):
    client.force_login(make_studio_user())


def text_of(page):
    return html.unescape(re.sub(r"\s+", " ", page))


def test_the_step_panel_shows_a_truncated_output_with_its_badge_and_preview(client, staff):
    publish([action("fetch", "big", bytes=1_000_000), action("small", "echo", text="hi")])
    emit_event("caps.test", {})
    run = ExecutionRun.objects.get()
    assert run.status == "succeeded"

    panel = client.get(f"/studio/runs/{run.pk}/steps/fetch/", HTTP_HX_REQUEST="true")
    page = text_of(panel.content.decode())
    original = run.steps.get(node_id="fetch").outputs["original_bytes"]
    assert 'class="badge badge-truncated"' in page
    assert f'data-truncated="{original}"' in page
    shown = filesizeformat(original).replace("\xa0", " ")
    assert shown == "975.4 KB"
    assert f"Truncated — {shown} stored as a 250.0 KB preview" in page
    assert "Only the start of its JSON text was kept" in page
    # The preview is shown as text (the JSON's start), not as the marker's own JSON.
    assert '<pre class="json truncated-preview" data-truncated-preview>{"rows":[{"id":0,' in page
    assert '"_truncated"' not in page

    other = text_of(client.get(f"/studio/runs/{run.pk}/steps/small/").content.decode())
    assert "badge-truncated" not in other
    assert '"text": "hi"' in other


def test_a_truncated_error_is_marked_in_the_panel_and_the_dead_letters(client, staff):
    publish([action("call", "fail_long", bytes=100_000)])
    emit_event("caps.test", {})
    run = ExecutionRun.objects.get()

    panel = text_of(client.get(f"/studio/runs/{run.pk}/steps/call/").content.decode())
    assert "… [truncated: 100,015 bytes, limit 8,000]" in panel
    assert "Truncated — 97.7 KB stored as a 7.8 KB preview" in panel

    dead = text_of(client.get("/studio/runs/?view=dead").content.decode())
    assert "Truncated — 97.7 KB stored as a 7.8 KB preview" in dead


def test_the_editor_shows_the_last_runs_truncated_output(client, staff):
    version = publish([action("fetch", "big", bytes=400_000)])
    emit_event("caps.test", {})
    workflow = version.workflow
    panel = client.get(f"/studio/workflows/{workflow.pk}/nodes/fetch/panel/")
    assert panel.status_code == 200, panel.content[:300]
    page = text_of(panel.content.decode())
    assert "Truncated — 389.5 KB stored as a 250.0 KB preview" in page
    assert 'data-truncated-preview>{"rows":[{"id":0,' in page


def test_test_this_step_shows_a_large_output_as_a_run_would_store_it(client, staff):
    workflow = publish([action("fetch", "big", bytes=400_000)]).workflow
    response = client.post(
        f"/studio/workflows/{workflow.pk}/nodes/fetch/test/",
        {"payload": "{}", "confirm_side_effects": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    page = text_of(response.content.decode())
    assert "Succeeded" in page
    # The result (capped at RETENTION max_payload_bytes), then the run data kept in the
    # session (capped again, at 32,000 bytes), each with its badge and preview.
    assert "Truncated — 389.5 KB stored as a 250.0 KB preview" in page
    assert "Truncated — 389.5 KB stored as a 31.2 KB preview" in page
    assert 'data-truncated-preview>{"rows":[{"id":0,' in page
