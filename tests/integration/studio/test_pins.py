"""Pin data (issue 13): pin a sample event or a step's output to the draft, use it for
"Test this step" and the live preview, never ship it in a published version or a file."""

import html
import json

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from automate.events.services import record_event
from automate.execution.models import ExecutionRun, StepRun
from automate.governance.redaction import register_secret_value
from automate.workflows.models import PinnedData, Workflow, WorkflowVersion
from automate.workflows.services import publish_version
from tests.factories import make_studio_user, make_tenant, make_user, make_workflow

pytestmark = pytest.mark.django_db

GRAPH = {
    "nodes": [
        {"id": "trigger", "type": "trigger", "label": "Invoice paid"},
        {"id": "shape", "type": "transform", "inputs": {"cents": "{{ event.payload.amount }}"}},
        {
            "id": "notify",
            "type": "action",
            "connector": "log",
            "action": "write",
            "inputs": {"message": "Paid {{ event.payload.amount }}", "level": "info"},
        },
    ],
    "edges": [
        {"source": "trigger", "target": "shape"},
        {"source": "shape", "target": "notify"},
    ],
}
PINNED_MARK = "pinned-marker-7f3a"


@pytest.fixture
def tenant():
    return make_tenant("acme")


@pytest.fixture
def client(tenant):
    user = make_studio_user("ana")
    tenant.members.add(user)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def workflow(tenant):
    return make_workflow(
        slug="flow",
        tenant=tenant,
        trigger_spec={"event_type": "invoice.paid"},
        rule_spec={},
        graph=json.loads(json.dumps(GRAPH)),
    )


@pytest.fixture
def sample(tenant):
    event, _ = record_event(
        type="invoice.paid", source="stripe", payload={"amount": 42}, tenant="acme", enqueue=False
    )
    return event


def url(workflow, node, what="pin"):
    return f"/studio/workflows/{workflow.pk}/nodes/{node}/{what}/"


def revision(workflow):
    return Workflow.objects.get(pk=workflow.pk).draft_revision


def pin(client, workflow, node="trigger", **fields):
    fields.setdefault("revision", revision(workflow))
    if "data" in fields and not isinstance(fields["data"], str):
        fields["data"] = json.dumps(fields["data"])
    return client.post(url(workflow, node), fields, HTTP_ACCEPT="application/json")


def preview(client, workflow, template, node="notify"):
    return client.post(url(workflow, node, "preview"), {"template": template}).json()


def panel(client, workflow, node):
    response = client.get(url(workflow, node, "panel"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def a_run(workflow, event, node_id, *, outputs):
    version = WorkflowVersion.objects.create(
        workflow=workflow,
        version_num=WorkflowVersion.objects.filter(workflow=workflow).count() + 1,
        trigger_spec=workflow.draft_trigger_spec,
        rule_spec=workflow.draft_rule_spec,
        graph=workflow.draft_graph,
    )
    run = ExecutionRun.objects.create(
        tenant=workflow.tenant, workflow_version=version, event=event, trace_id="t" * 32
    )
    return StepRun.objects.create(
        run=run, node_id=node_id, status=StepRun.Status.SUCCEEDED, inputs={}, outputs=outputs
    )


# --- pin and unpin ------------------------------------------------------------------------


def test_pin_a_pasted_payload_then_unpin_it(client, workflow):
    before = revision(workflow)
    answer = pin(client, workflow, data={"amount": 7}, source="json")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["revision"] == before + 1 == revision(workflow)
    assert body["pinned"] is True
    assert body["pinned_nodes"] == ["trigger"]
    stored = PinnedData.objects.get(workflow=workflow, node_id="trigger")
    assert stored.data == {"amount": 7}
    assert stored.origin == "edited"
    # The canvas learns which nodes are pinned; the panel shows the marker and the JSON.
    assert client.get(f"/studio/workflows/{workflow.pk}/draft.json").json()["pinned"] == ["trigger"]
    page = panel(client, workflow, "trigger")
    assert "data-pin-marker" in page
    assert 'id="node-pin-form"' in page
    assert '"amount": 7' in page

    gone = pin(client, workflow, action="unpin")
    assert gone.status_code == 200
    assert gone.json()["pinned_nodes"] == []
    assert not PinnedData.objects.exists()
    assert revision(workflow) == before + 2
    assert "data-pin-marker" not in panel(client, workflow, "trigger")


def test_pin_a_recent_event_or_the_latest_one(client, workflow, sample, tenant):
    picked = pin(client, workflow, source="event", event_id=str(sample.pk))
    assert picked.status_code == 200
    stored = PinnedData.objects.get(node_id="trigger")
    assert (stored.data, stored.origin, stored.origin_id) == (
        {"amount": 42},
        "event",
        str(sample.pk),
    )
    latest = pin(client, workflow, source="last")
    assert latest.status_code == 200
    assert PinnedData.objects.get(node_id="trigger").origin_id == str(sample.pk)
    # Another tenant's event is not found (and not pinned).
    make_tenant("other")
    theirs, _ = record_event(type="invoice.paid", payload={"x": 1}, tenant="other", enqueue=False)
    refused = pin(client, workflow, source="event", event_id=str(theirs.pk))
    assert refused.status_code == 400
    assert "does not exist" in refused.json()["message"]
    assert PinnedData.objects.get(node_id="trigger").data == {"amount": 42}


def test_pin_a_steps_last_run_or_last_test(client, workflow, sample):
    nothing = pin(client, workflow, "shape", source="last")
    assert nothing.status_code == 400
    assert "no output yet" in nothing.json()["message"]
    step = a_run(workflow, sample, "shape", outputs={"cents": 4200})
    assert pin(client, workflow, "shape", source="last").status_code == 200
    stored = PinnedData.objects.get(node_id="shape")
    assert (stored.data, stored.origin, stored.origin_id) == (
        {"cents": 4200},
        "run",
        str(step.run_id),
    )
    # A newer "Test this step" is the last output then.
    tested = client.post(url(workflow, "shape", "test"), {"payload": '{"amount": 5}'})
    assert tested.status_code == 200
    assert pin(client, workflow, "shape", source="last").status_code == 200
    stored = PinnedData.objects.get(node_id="shape")
    assert (stored.data, stored.origin) == ({"cents": 5}, "test")


# --- bad input ----------------------------------------------------------------------------


def test_invalid_json_is_refused_and_nothing_is_saved(client, workflow):
    before = revision(workflow)
    bad = pin(client, workflow, data='{"amount": ', source="json")
    assert bad.status_code == 400
    body = bad.json()
    assert set(body) == {"code", "message", "details", "trace_id"}
    assert body["message"].startswith("Nothing was saved")
    assert "line 1" in body["message"]
    not_object = pin(client, workflow, data="[1, 2]", source="json")
    assert not_object.status_code == 400
    assert "JSON object" in not_object.json()["message"]
    empty = pin(client, workflow, data="", source="json")
    assert empty.status_code == 400
    assert pin(client, workflow, data="{}", source="nowhere").status_code == 400
    assert pin(client, workflow, data="{}", action="wipe").status_code == 400
    assert pin(client, workflow, data="{}", revision="").status_code == 400
    assert pin(client, workflow, data="{}", revision="x").status_code == 400
    # A step's output may be any JSON value, not only an object.
    assert revision(workflow) == before
    assert not PinnedData.objects.exists()
    assert pin(client, workflow, "shape", data="[1, 2]").status_code == 200


@override_settings(DJANGO_AUTOMATE={"RETENTION": {"max_payload_bytes": 2048}})
def test_pinned_data_over_the_payload_cap_is_a_413(client, workflow):
    big = pin(client, workflow, data={"text": "x" * 3000})
    assert big.status_code == 413
    assert big.json()["code"] == "payload_too_large"
    assert "max_payload_bytes" in big.json()["message"]
    assert not PinnedData.objects.exists()
    assert pin(client, workflow, data={"text": "x" * 1000}).status_code == 200


def test_a_stale_revision_conflicts_like_other_draft_edits(client, workflow):
    opened = revision(workflow)
    # Another tab saves the draft (the canvas autosave) …
    saved = client.put(
        f"/studio/workflows/{workflow.pk}/draft.json",
        json.dumps({"revision": opened, "name": "Renamed"}),
        content_type="application/json",
    )
    assert saved.status_code == 200
    # … so a pin made from the old revision is refused, and nothing is written.
    stale = pin(client, workflow, data={"amount": 1}, revision=opened)
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_draft"
    assert not PinnedData.objects.exists()
    # A pin moves the revision on: the other tab's canvas save conflicts too.
    assert pin(client, workflow, data={"amount": 1}).status_code == 200
    late = client.put(
        f"/studio/workflows/{workflow.pk}/draft.json",
        json.dumps({"revision": opened + 1, "name": "Again"}),
        content_type="application/json",
    )
    assert late.status_code == 409


def test_secret_looking_values_are_masked_before_they_are_stored(client, workflow):
    register_secret_value("resolved-secret-93ab1c")
    answer = pin(
        client,
        workflow,
        data={"api_key": "sk_live_abcdef", "note": "token resolved-secret-93ab1c here", "n": 1},
    )
    assert answer.status_code == 200
    assert answer.json()["masked"] == 2
    assert "looked like secrets" in answer.json()["message"]
    stored = PinnedData.objects.get(node_id="trigger").data
    assert stored["api_key"] == "********"
    assert "resolved-secret-93ab1c" not in json.dumps(stored)
    assert stored["n"] == 1


# --- tenancy and permissions --------------------------------------------------------------


def test_another_tenants_user_cannot_pin_or_see_pins(client, workflow):
    assert pin(client, workflow, data={"amount": 7}).status_code == 200
    stranger_tenant = make_tenant("other")
    stranger = make_studio_user("mallory")
    stranger_tenant.members.add(stranger)
    other = Client()
    other.force_login(stranger)
    refused = pin(other, workflow, data={"amount": 666})
    assert refused.status_code == 404
    assert refused.json()["code"] == "resource_not_found"
    assert pin(other, workflow, action="unpin").status_code == 404
    assert PinnedData.objects.get(node_id="trigger").data == {"amount": 7}
    assert other.get(f"/studio/workflows/{workflow.pk}/draft.json").status_code == 404


def test_pinning_needs_the_change_permission(workflow, tenant):
    viewer = make_user("viewer", perms=["automate.use_studio"])
    tenant.members.add(viewer)
    client = Client()
    client.force_login(viewer)
    refused = pin(client, workflow, data={"amount": 1})
    assert refused.status_code == 403
    assert not PinnedData.objects.exists()


def test_an_unknown_node_is_a_404(client, workflow):
    assert pin(client, workflow, "nope", data={}).status_code == 404


# --- publishing and files leave pins out --------------------------------------------------


def _definition_text(version):
    return json.dumps([version.trigger_spec, version.rule_spec, version.graph, version.notes])


def test_publishing_never_ships_pinned_data(client, workflow, tmp_path):
    assert pin(client, workflow, data={"mark": PINNED_MARK}).status_code == 200
    assert pin(client, workflow, "shape", data={"cents": PINNED_MARK}).status_code == 200
    # The studio's Publish button.
    published = client.post(
        f"/studio/workflows/{workflow.pk}/publish/", HTTP_ACCEPT="application/json"
    )
    assert published.status_code == 201, published.content
    # The Python API.
    again = publish_version(workflow=Workflow.objects.get(pk=workflow.pk))
    # automate_import --publish of a file onto the workflow that holds the pins.
    exported = client.get(f"/studio/workflows/{workflow.pk}/export.json")
    assert exported.status_code == 200
    assert PINNED_MARK not in exported.content.decode()
    assert "pinned" not in json.loads(exported.content)
    path = tmp_path / "flow.json"
    path.write_bytes(exported.content)
    call_command("automate_import", "--file", str(path), "--publish", "--tenant", "acme")
    versions = list(WorkflowVersion.objects.filter(workflow=workflow).order_by("version_num"))
    assert [v.version_num for v in versions] == [1, 2, 3]
    assert again == versions[1]
    for version in versions:
        assert PINNED_MARK not in _definition_text(version)
    # The draft keeps its pins for the next test.
    assert PinnedData.objects.filter(workflow=workflow).count() == 2


# --- the preview and "Test this step" use pins first --------------------------------------


def test_the_preview_uses_pinned_data_and_says_so(client, workflow, sample):
    a_run(workflow, sample, "shape", outputs={"cents": 4200})
    before = preview(
        client, workflow, "{{ event.payload.amount }} / {{ steps.shape.output.cents }}"
    )
    assert before["value"] == "42 / 4200"
    assert {s["name"]: s["from"] for s in before["sources"]} == {
        "event": "event",
        "steps.shape": "run",
    }
    assert pin(client, workflow, data={"amount": 7}).status_code == 200
    assert pin(client, workflow, "shape", data={"cents": 700}).status_code == 200
    after = preview(client, workflow, "{{ event.payload.amount }} / {{ steps.shape.output.cents }}")
    assert after["value"] == "7 / 700"
    assert after["source"] == "pinned data"
    one = preview(client, workflow, "{{ event.payload.amount }}")
    assert one["sources"] == [{"name": "event", "from": "pinned", "label": "pinned data"}]
    # The variables list offers the pinned payload's keys and says where they come from.
    page = panel(client, workflow, "notify")
    assert "Payload keys from the trigger's pinned data" in page
    assert "Pinned outputs used: shape" in page
    # Unpinned, the preview is back on the sample event.
    assert pin(client, workflow, action="unpin").status_code == 200
    assert preview(client, workflow, "{{ event.payload.amount }}")["source"] == "sample event"


def test_test_a_step_uses_the_pinned_event_and_pinned_outputs(client, workflow, sample):
    a_run(workflow, sample, "shape", outputs={"cents": 4200})
    assert pin(client, workflow, data={"amount": 9}).status_code == 200
    assert pin(client, workflow, "shape", data={"cents": 900}).status_code == 200
    notify = workflow.draft_graph["nodes"][2]
    notify["inputs"]["message"] = "{{ event.payload.amount }} {{ steps.shape.output.cents }}"
    Workflow.objects.filter(pk=workflow.pk).update(draft_graph=workflow.draft_graph)
    page = panel(client, workflow, "notify")
    assert '<option value="pinned" selected>' in page
    result = client.post(url(workflow, "notify", "test"), {"event_id": "pinned"})
    assert result.status_code == 200
    text = html.unescape(result.content.decode())
    assert '"message": "9 900"' in text
    assert "Data used:" in text
    assert 'data-source="pinned"' in text
    # Steps typed in the form win over their pins.
    typed = client.post(
        url(workflow, "notify", "test"),
        {"event_id": "pinned", "steps": '{"shape": {"cents": 1}}'},
    )
    assert '"message": "9 1"' in html.unescape(typed.content.decode())
    # Without a pin, the last run's output is used.
    assert pin(client, workflow, "shape", action="unpin").status_code == 200
    last = client.post(url(workflow, "notify", "test"), {"event_id": "pinned"})
    assert '"message": "9 4200"' in html.unescape(last.content.decode())
    # A pin removed in another tab: the form's "pinned" choice says so.
    assert pin(client, workflow, action="unpin").status_code == 200
    gone = client.post(url(workflow, "notify", "test"), {"event_id": "pinned"})
    assert "no pinned event any more" in html.unescape(gone.content.decode())


def test_pins_of_removed_nodes_are_not_used(client, workflow, sample):
    assert pin(client, workflow, "shape", data={"cents": 1}).status_code == 200
    graph = json.loads(json.dumps(GRAPH))
    graph["nodes"] = [n for n in graph["nodes"] if n["id"] != "shape"]
    graph["edges"] = [{"source": "trigger", "target": "notify"}]
    saved = client.put(
        f"/studio/workflows/{workflow.pk}/draft.json",
        json.dumps({"revision": revision(workflow), "graph": graph}),
        content_type="application/json",
    )
    assert saved.status_code == 200
    assert client.get(f"/studio/workflows/{workflow.pk}/draft.json").json()["pinned"] == []
    # The next pin write drops the orphan row.
    assert pin(client, workflow, data={"amount": 3}).status_code == 200
    assert list(PinnedData.objects.values_list("node_id", flat=True)) == ["trigger"]


def test_a_panel_opened_as_a_page_shows_the_pin_and_points_to_the_editor(client, workflow):
    assert pin(client, workflow, data={"amount": 7}).status_code == 200
    page = html.unescape(client.get(url(workflow, "trigger", "panel")).content.decode())
    assert '"amount": 7' in page
    assert "data-pin-marker" in page
    assert 'id="node-pin-form"' not in page
    assert "Open this workflow in the editor to change or unpin it." in page


def test_importing_a_file_into_the_draft_keeps_the_pins_and_the_file_has_none(client, workflow):
    assert pin(client, workflow, "shape", data={"cents": PINNED_MARK}).status_code == 200
    exported = client.get(f"/studio/workflows/{workflow.pk}/export.json").content
    assert PINNED_MARK.encode() not in exported
    imported = client.post(
        f"/studio/workflows/{workflow.pk}/import/?revision={revision(workflow)}",
        exported,
        content_type="application/json",
    )
    assert imported.status_code == 200, imported.content
    assert client.get(f"/studio/workflows/{workflow.pk}/draft.json").json()["pinned"] == ["shape"]
