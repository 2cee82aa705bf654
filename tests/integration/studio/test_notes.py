"""Sticky notes end to end on the server: the render endpoint (sanitized HTML, tenant-scoped,
size-capped), the draft (notes saved and rendered, bad ones refused with nothing saved),
publishing and running (notes ship in the version, never run, never a problem), the
version diff, and workflow files (round trip, bad notes refused)."""

from __future__ import annotations

import copy
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from automate.execution.models import ExecutionRun
from automate.runtime import emit_event
from automate.workflows.files import export_text, parse_workflow_file
from automate.workflows.models import Workflow
from automate.workflows.notes import MAX_NOTE_CHARS, MAX_NOTES
from automate.workflows.services import publish_problems, publish_version
from tests.factories import make_studio_user, make_tenant, make_user, make_workflow

pytestmark = pytest.mark.django_db

NOTE = {
    "id": "note_why",
    "text": "## Why\nBilling asked. <script>alert(1)</script> [x](javascript:alert(1))",
    "position": {"x": 40, "y": -120},
    "size": {"width": 280, "height": 180},
    "color": "blue",
}
GRAPH = {
    "nodes": [
        {"id": "trigger", "type": "trigger"},
        {
            "id": "say",
            "type": "action",
            "connector": "log",
            "action": "write",
            "inputs": {"message": "Order {{ event.payload.id }}"},
        },
    ],
    "edges": [{"source": "trigger", "target": "say"}],
    "notes": [NOTE],
}
TRIGGER = {"event_type": "order.created"}


@pytest.fixture
def editor(client):
    tenant = make_tenant("acme")
    user = make_studio_user("ed")
    tenant.members.add(user)
    client.force_login(user)
    client.tenant = tenant
    return client


def render_url(workflow):
    return f"/studio/workflows/{workflow.pk}/notes/render/"


def render(client, workflow, body):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(render_url(workflow), data, content_type="application/json")


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details", "trace_id"}
    assert body["code"] == code
    return body


def flow(tenant, **kwargs):
    kwargs.setdefault("graph", copy.deepcopy(GRAPH))
    return make_workflow(slug="orders", tenant=tenant, trigger_spec=TRIGGER, rule_spec={}, **kwargs)


# --- the render endpoint ------------------------------------------------------------------


def test_a_note_renders_as_sanitized_html(editor):
    workflow = flow(editor.tenant)
    response = render(editor, workflow, {"text": "# Hi\n\n**bold** <img src=x onerror=alert(1)>"})
    assert response.status_code == 200
    html = response.json()["html"]
    assert html.startswith("<h1>Hi</h1>")
    assert "<strong>bold</strong>" in html
    assert "<img" not in html
    assert "&lt;img" in html


def test_other_tenants_workflows_are_not_found(editor):
    theirs = flow(make_tenant("other"))
    assert_error(render(editor, theirs, {"text": "hi"}), 404, "resource_not_found")
    assert_error(
        editor.post(
            "/studio/workflows/999999/notes/render/", "{}", content_type="application/json"
        ),
        404,
        "resource_not_found",
    )


def test_login_and_the_studio_permission_are_required(client):
    workflow = flow(make_tenant("acme"))
    response = render(client, workflow, {"text": "hi"})
    assert response.status_code == 302
    assert response["Location"].startswith("/studio/login/")
    client.force_login(make_user())
    assert render(client, workflow, {"text": "hi"}).status_code == 403


def test_rendering_needs_csrf_and_post():
    tenant = make_tenant("acme")
    user = make_studio_user("ed")
    tenant.members.add(user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    workflow = flow(tenant)
    assert render(client, workflow, {"text": "hi"}).status_code == 403
    client = Client()
    client.force_login(user)
    assert client.get(render_url(workflow)).status_code == 405


def test_text_over_the_cap_is_refused_with_a_clear_400(editor):
    workflow = flow(editor.tenant)
    assert render(editor, workflow, {"text": "x" * MAX_NOTE_CHARS}).status_code == 200
    body = assert_error(
        render(editor, workflow, {"text": "x" * (MAX_NOTE_CHARS + 1)}), 400, "note_too_long"
    )
    assert "at most 10000 characters" in body["message"]
    assert body["details"] == {"limit": MAX_NOTE_CHARS, "length": MAX_NOTE_CHARS + 1}


@pytest.mark.parametrize("body", [{"text": 3}, {"words": "hi"}, [], "null", "{"])
def test_a_body_that_is_not_a_note_is_refused(editor, body):
    response = render(editor, flow(editor.tenant), body)
    assert response.status_code == 400
    assert response.json()["code"] in {"invalid_request", "malformed_request"}


def test_an_oversized_body_is_refused_by_the_guard(editor):
    response = render(editor, flow(editor.tenant), {"text": "\u2028" * (MAX_NOTE_CHARS * 2)})
    assert response.status_code == 413


# --- the draft ----------------------------------------------------------------------------


def test_the_draft_carries_its_notes_and_their_sanitized_html(editor):
    workflow = flow(editor.tenant)
    body = editor.get(f"/studio/workflows/{workflow.pk}/draft.json").json()
    assert body["graph"]["notes"] == [NOTE]
    html = body["notes_html"]["note_why"]
    assert html.startswith("<h2>Why</h2>")
    assert "<script" not in html
    assert "javascript:" not in html
    # Notes are not steps: no problem is about them.
    assert all("notes" not in p.get("field", "") for p in body["problems"])


def test_saving_notes_keeps_them_and_bad_notes_are_refused_with_nothing_saved(editor):
    workflow = flow(editor.tenant)
    url = f"/studio/workflows/{workflow.pk}/draft.json"
    graph = copy.deepcopy(GRAPH)
    graph["notes"].append({**NOTE, "id": "note_2", "text": "second", "color": "green"})
    saved = editor.put(url, json.dumps({"revision": 0, "graph": graph}), "application/json")
    assert saved.status_code == 200, saved.content
    workflow.refresh_from_db()
    assert [n["id"] for n in workflow.draft_graph["notes"]] == ["note_why", "note_2"]

    for bad in (
        {**NOTE, "text": "x" * (MAX_NOTE_CHARS + 1)},
        {**NOTE, "color": "red"},
        {**NOTE, "id": "say"},
        {**NOTE, "onclick": "alert(1)"},
    ):
        body = {"revision": 1, "graph": {**GRAPH, "notes": [bad]}}
        response = editor.put(url, json.dumps(body), "application/json")
        error = assert_error(response, 400, "invalid_workflow")
        assert error["details"]["problems"][0]["field"].startswith("graph.notes[0]")
    too_many = [{**NOTE, "id": f"n{i}"} for i in range(MAX_NOTES + 1)]
    response = editor.put(
        url, json.dumps({"revision": 1, "graph": {**GRAPH, "notes": too_many}}), "application/json"
    )
    assert_error(response, 400, "invalid_workflow")
    workflow.refresh_from_db()
    assert workflow.draft_revision == 1
    assert len(workflow.draft_graph["notes"]) == 2


# --- publishing and running ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_notes_ship_in_the_version_and_never_run():
    tenant = make_tenant("acme")
    workflow = flow(tenant)
    assert publish_problems(workflow) == []
    version = publish_version(workflow=workflow)
    assert version.graph["notes"] == [NOTE]
    emit_event("order.created", {"id": 7}, tenant=tenant)
    run = ExecutionRun.objects.get(workflow_version=version)
    assert run.status == "succeeded"
    assert sorted(run.steps.values_list("node_id", flat=True)) == ["say", "trigger"]


def test_publishing_refuses_a_bad_note_and_says_where():
    workflow = flow(make_tenant("acme"))
    workflow.draft_graph["notes"][0]["size"] = {"width": 1, "height": 1}
    workflow.save()  # written straight to the database, past the draft checks
    problems = publish_problems(workflow)
    assert [p["field"] for p in problems] == ["graph.notes[0].size"]


def test_the_version_diff_lists_notes_added_changed_and_removed(editor):
    workflow = flow(editor.tenant, graph={**GRAPH, "notes": []})
    publish_version(workflow=workflow)
    url = f"/studio/workflows/{workflow.pk}/diff/?a=live&b=draft"
    assert "No differences" in editor.get(url, HTTP_HX_REQUEST="true").content.decode()
    workflow.draft_graph = copy.deepcopy(GRAPH)
    workflow.save()
    page = editor.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Sticky note <strong>Why</strong> <code>note_why</code> added" in page
    publish_version(workflow=workflow)
    workflow.refresh_from_db()
    workflow.draft_graph["notes"][0]["color"] = "pink"
    workflow.save()
    page = editor.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Sticky note <strong>Why</strong> <code>note_why</code> changed:" in page
    assert '<span class="df-key">color</span>' in page


# --- workflow files -------------------------------------------------------------------------


def test_notes_round_trip_through_a_workflow_file(editor):
    workflow = flow(editor.tenant)
    text = editor.get(f"/studio/workflows/{workflow.pk}/export.json").content.decode()
    assert json.loads(text)["graph"]["notes"] == [NOTE]
    workflow.refresh_from_db()  # PostgreSQL's jsonb orders keys its own way
    assert text.strip() == export_text(workflow)
    data = json.loads(text)
    data["slug"] = "orders-copy"
    response = editor.post("/studio/import/", json.dumps(data), content_type="application/json")
    assert response.status_code in {200, 201}, response.content
    copied = Workflow.objects.get(slug="orders-copy")
    assert copied.draft_graph["notes"] == [NOTE]


def test_a_file_with_a_bad_note_is_refused_and_nothing_is_written(editor):
    workflow = flow(editor.tenant)
    data = json.loads(export_text(workflow))
    data["slug"] = "bad-notes"
    data["graph"]["notes"][0]["text"] = "x" * (MAX_NOTE_CHARS + 1)
    response = editor.post("/studio/import/", json.dumps(data), content_type="application/json")
    assert response.status_code == 400
    assert "graph.notes[0].text" in response.content.decode()
    assert not Workflow.objects.filter(slug="bad-notes").exists()
    data["graph"]["notes"][0]["text"] = "fine"
    assert parse_workflow_file(json.dumps(data))["graph"]["notes"][0]["text"] == "fine"


def test_automate_export_and_automate_import_round_trip_notes(tmp_path):
    tenant = make_tenant("acme")
    flow(tenant)
    out = tmp_path / "orders.json"
    call_command(
        "automate_export",
        "--workflow",
        "orders",
        "--tenant",
        "acme",
        "--draft",
        "--file",
        str(out),
        stdout=StringIO(),
    )
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["graph"]["notes"] == [NOTE]
    data["slug"] = "orders-again"
    out.write_text(json.dumps(data), encoding="utf-8")
    call_command("automate_import", "--file", str(out), "--tenant", "acme", stdout=StringIO())
    assert Workflow.objects.get(slug="orders-again").draft_graph["notes"] == [NOTE]
    data["slug"] = "orders-bad"
    data["graph"]["notes"][0]["color"] = "teal"
    out.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CommandError, match=r"graph\.notes\[0\]\.color"):
        call_command("automate_import", "--file", str(out), "--tenant", "acme", stdout=StringIO())
    assert not Workflow.objects.filter(slug="orders-bad").exists()
