"""Export and import of workflow files in the studio: the exact ``automate_export`` text,
secrets only as references, imports validated like ``automate_import``, every refusal in
the error shape with nothing written, tenant-scoped and permission-checked."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from automate.workflows.models import Workflow
from automate.workflows.services import publish_version
from tests.factories import make_studio_user, make_tenant, make_user, make_workflow

pytestmark = pytest.mark.django_db

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
}
FILE = {
    "slug": "order-flow",
    "name": "Order flow",
    "description": "Tell the team about big orders.",
    "trigger_spec": {"event_type": "order.created"},
    "rule_spec": {">": [{"var": "total"}, 100]},
    "graph": GRAPH,
}


def post_file(client, url, data):
    body = data if isinstance(data, str | bytes) else json.dumps(data)
    return client.post(url, body, content_type="application/json")


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details", "trace_id"}
    assert body["code"] == code
    return body


# --- export -------------------------------------------------------------------------------


def test_the_draft_downloads_exactly_as_automate_export_writes_it(author, tmp_path):
    workflow = make_workflow(slug="order-flow", tenant=author.tenant, graph=GRAPH)
    response = author.get(f"/studio/workflows/{workflow.pk}/export.json")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="order-flow.json"'
    out = tmp_path / "out.json"
    call_command(
        "automate_export",
        "--workflow",
        "order-flow",
        "--tenant",
        "acme",
        "--draft",
        "--file",
        str(out),
        stdout=StringIO(),
    )
    assert response.content.decode() == out.read_text(encoding="utf-8")
    assert json.loads(response.content)["graph"] == GRAPH


def test_a_version_downloads_as_it_was_published(author):
    workflow = make_workflow(slug="order-flow", tenant=author.tenant, graph=GRAPH)
    publish_version(workflow=workflow)
    workflow.draft_rule_spec = {"==": [1, 2]}
    workflow.save()
    response = author.get(f"/studio/workflows/{workflow.pk}/export.json?version=1")
    assert response["Content-Disposition"] == 'attachment; filename="order-flow-v1.json"'
    assert json.loads(response.content)["rule_spec"] == {">": [{"var": "amount"}, 1000]}
    missing = author.get(f"/studio/workflows/{workflow.pk}/export.json?version=7")
    assert_error(missing, 404, "resource_not_found")


def test_an_export_holds_secret_references_never_values(author):
    graph = {
        "nodes": [
            {"id": "trigger", "type": "trigger"},
            {
                "id": "notify",
                "type": "action",
                "connector": "slack",
                "action": "post_message",
                # A draft may hold a typed-in token until publish refuses it.
                "inputs": {"channel": "#a", "text": "hi", "token": "xoxb-real-token-value"},
            },
            {
                "id": "fetch",
                "type": "action",
                "connector": "http",
                "action": "request",
                "inputs": {
                    "url": "https://api.example.com/",
                    "auth": {"type": "bearer", "token": "nested-literal-token"},
                },
            },
            {
                "id": "notify2",
                "type": "action",
                "connector": "slack",
                "action": "post_message",
                "inputs": {"channel": "#b", "text": "hi", "token": {"$secret": "SLACK_TOKEN"}},
            },
        ],
        "edges": [
            {"source": "trigger", "target": "notify"},
            {"source": "trigger", "target": "notify2"},
            {"source": "trigger", "target": "fetch"},
        ],
    }
    workflow = make_workflow(tenant=author.tenant, graph=graph)
    text = author.get(f"/studio/workflows/{workflow.pk}/export.json").content.decode()
    assert "xoxb-real-token-value" not in text
    nodes = {n["id"]: n for n in json.loads(text)["graph"]["nodes"]}
    assert "nested-literal-token" not in text
    assert "token" not in nodes["notify"]["inputs"]
    assert nodes["fetch"]["inputs"]["auth"] == {"type": "bearer"}
    assert nodes["notify2"]["inputs"]["token"] == {"$secret": "SLACK_TOKEN"}
    workflow.refresh_from_db()
    assert workflow.draft_graph == graph, "the export does not change the draft"


def test_another_tenants_workflow_does_not_export(author):
    theirs = make_workflow(tenant=make_tenant("globex"), graph=GRAPH)
    assert_error(
        author.get(f"/studio/workflows/{theirs.pk}/export.json"), 404, "resource_not_found"
    )


# --- import: a new workflow ---------------------------------------------------------------


def test_a_file_becomes_a_new_draft_in_the_users_tenant(author):
    response = post_file(author, "/studio/import/", FILE)
    assert response.status_code == 201, response.content
    workflow = Workflow.objects.get(slug="order-flow")
    assert workflow.tenant == author.tenant
    assert response.json()["url"] == f"/studio/workflows/{workflow.pk}/"
    assert workflow.draft_graph == GRAPH
    assert workflow.live_version is None
    exported = author.get(f"/studio/workflows/{workflow.pk}/export.json")
    assert json.loads(exported.content) == FILE, "export and import are each other's inverse"


def test_a_taken_slug_asks_for_another_and_overwrites_nothing(author):
    existing = make_workflow(slug="order-flow", tenant=author.tenant, graph=GRAPH)
    before = existing.draft_revision
    body = assert_error(post_file(author, "/studio/import/", FILE), 409, "workflow_exists")
    assert body["details"]["suggestion"] == "order-flow-2"
    existing.refresh_from_db()
    assert existing.draft_revision == before
    assert existing.name != "Order flow"
    again = post_file(author, "/studio/import/?slug=order-flow-2", FILE)
    assert again.status_code == 201
    assert Workflow.objects.get(slug="order-flow-2").name == "Order flow"
    assert_error(
        post_file(author, "/studio/import/?slug=no%20spaces", FILE), 400, "invalid_request"
    )


def test_the_same_slug_in_another_tenant_is_no_conflict(author):
    make_workflow(slug="order-flow", tenant=make_tenant("globex"), graph=GRAPH)
    assert post_file(author, "/studio/import/", FILE).status_code == 201
    assert Workflow.objects.filter(slug="order-flow").count() == 2


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("{oops", "not valid JSON"),
        ("[1, 2]", "is not of type 'object'"),
        ({**FILE, "trigger": {}}, "Additional properties are not allowed"),
        ({k: v for k, v in FILE.items() if k != "graph"}, "'graph' is a required property"),
        ({**FILE, "rule_spec": {"nope": [1]}}, "rule_spec"),
        (
            {
                **FILE,
                "graph": {
                    **GRAPH,
                    "nodes": [GRAPH["nodes"][0], {**GRAPH["nodes"][1], "connector": "nope"}],
                },
            },
            "unknown connector",
        ),
        ('{"slug": "a\\u0000b"}', "NUL"),
        (b"\xff\xfe{}", "UTF-8"),
    ],
    ids=[
        "bad-json",
        "not-an-object",
        "unknown-key",
        "missing-graph",
        "bad-rule",
        "bad-connector",
        "nul",
        "not-utf8",
    ],
)
def test_a_file_that_is_not_a_valid_workflow_writes_nothing(author, body, expected):
    response = post_file(author, "/studio/import/", body)
    error = assert_error(response, 400, "invalid_workflow")
    assert expected in json.dumps(error["details"]["problems"]) + error["message"]
    assert not Workflow.objects.exists()


def test_a_file_over_the_size_limit_is_refused_in_the_error_shape(author, settings):
    settings.DJANGO_AUTOMATE = {**settings.DJANGO_AUTOMATE, "LIMITS": {"max_body_bytes": 2000}}
    big = {**FILE, "description": "x" * 5000}
    assert_error(post_file(author, "/studio/import/", big), 413, "payload_too_large")
    assert not Workflow.objects.exists()


def test_importing_needs_the_change_permission():
    client = Client()
    client.force_login(make_user("viewer", perms=["automate.use_studio"]))
    body = assert_error(post_file(client, "/studio/import/", FILE), 403, "permission_denied")
    assert body["details"]["permission"] == "automate.change_workflow"
    assert not Workflow.objects.exists()


# --- import: replace a draft --------------------------------------------------------------


def test_a_file_replaces_a_draft_at_the_revision_it_was_opened_on(author):
    workflow = make_workflow(slug="mine", tenant=author.tenant)
    url = f"/studio/workflows/{workflow.pk}/import/?revision={workflow.draft_revision}"
    response = post_file(author, url, FILE)
    assert response.status_code == 200, response.content
    workflow.refresh_from_db()
    assert workflow.slug == "mine", "the workflow keeps its slug"
    assert workflow.name == "Order flow"
    assert workflow.draft_graph == GRAPH
    stale = assert_error(post_file(author, url, {**FILE, "name": "Later"}), 409, "stale_draft")
    assert stale["details"]["revision"] == workflow.draft_revision
    workflow.refresh_from_db()
    assert workflow.name == "Order flow"


def test_replacing_needs_a_revision_and_a_valid_file(author):
    workflow = make_workflow(slug="mine", tenant=author.tenant)
    before = (workflow.name, workflow.draft_revision)
    assert_error(
        post_file(author, f"/studio/workflows/{workflow.pk}/import/", FILE), 400, "invalid_request"
    )
    url = f"/studio/workflows/{workflow.pk}/import/?revision={workflow.draft_revision}"
    assert_error(post_file(author, url, {**FILE, "graph": {}}), 400, "invalid_workflow")
    workflow.refresh_from_db()
    assert (workflow.name, workflow.draft_revision) == before


def test_another_tenants_draft_cannot_be_replaced(author):
    theirs = make_workflow(slug="theirs", tenant=make_tenant("globex"))
    url = f"/studio/workflows/{theirs.pk}/import/?revision={theirs.draft_revision}"
    assert_error(post_file(author, url, FILE), 404, "resource_not_found")
    theirs.refresh_from_db()
    assert theirs.name != "Order flow"


def test_replacing_a_draft_needs_the_change_permission():
    tenant = make_tenant("acme")
    viewer = make_user("viewer", perms=["automate.use_studio"])
    tenant.members.add(viewer)
    workflow = make_workflow(slug="mine", tenant=tenant)
    client = Client()
    client.force_login(viewer)
    url = f"/studio/workflows/{workflow.pk}/import/?revision={workflow.draft_revision}"
    assert_error(post_file(client, url, FILE), 403, "permission_denied")
    # Reading is allowed: the export needs only the studio.
    assert client.get(f"/studio/workflows/{workflow.pk}/export.json").status_code == 200


def test_the_editor_offers_the_file_menu(author):
    workflow = make_workflow(slug="mine", tenant=author.tenant)
    publish_version(workflow=workflow)
    page = author.get(f"/studio/workflows/{workflow.pk}/").content.decode()
    assert f'href="/studio/workflows/{workflow.pk}/export.json"' in page
    assert f'href="/studio/workflows/{workflow.pk}/export.json?version=1"' in page
    assert f'data-import-url="/studio/workflows/{workflow.pk}/import/"' in page


def test_a_studio_user_without_tenants_of_their_own_gets_the_default(db):
    client = Client()
    client.force_login(make_studio_user("solo"))
    assert post_file(client, "/studio/import/", FILE).status_code == 201


# --- round trips: what the studio exports, it imports -------------------------------------


def test_an_exported_draft_with_inputs_to_fill_in_imports_again(author):
    """A draft from a starter template (placeholders empty) and a draft whose typed-in
    token the export left out both import as drafts, listing what is still to fill in."""
    from automate.workflows.models import Workflow as WorkflowModel

    use = author.post("/studio/wizard/templates/webhook-to-slack/use/", {"name": "From tpl"})
    assert use.status_code in (200, 201, 302), use.content
    from_template = WorkflowModel.objects.get(name="From tpl")
    leaky = make_workflow(
        slug="leaky",
        tenant=author.tenant,
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {
                    "id": "notify",
                    "type": "action",
                    "connector": "slack",
                    "action": "post_message",
                    "inputs": {"channel": "#a", "text": "hi", "token": "xoxb-typed-in-value"},
                },
            ],
            "edges": [{"source": "trigger", "target": "notify"}],
        },
    )
    for workflow in (from_template, leaky):
        text = author.get(f"/studio/workflows/{workflow.pk}/export.json").content.decode()
        assert "xoxb-typed-in-value" not in text
        response = post_file(author, f"/studio/import/?slug={workflow.slug}-copy", text)
        assert response.status_code == 201, response.content
        problems = response.json()["problems"]
        assert problems, "what is still to fill in is said"
        assert {p["kind"] for p in problems} <= {"required", "placeholder"}
        copy = WorkflowModel.objects.get(slug=f"{workflow.slug}-copy")
        assert copy.live_version is None  # a draft: publishing still refuses it
        # Replacing its own draft with the same file (a backup) works too.
        again = post_file(
            author,
            f"/studio/workflows/{copy.pk}/import/?revision={copy.draft_revision}",
            text,
        )
        assert again.status_code == 200, again.content


def test_automate_import_takes_a_draft_to_fill_in_but_refuses_to_publish_it(tmp_path):
    from django.core.management.base import CommandError

    document = {
        **FILE,
        "slug": "to-fill",
        "graph": {
            "nodes": [
                GRAPH["nodes"][0],
                {
                    "id": "say",
                    "type": "action",
                    "connector": "log",
                    "action": "write",
                    "inputs": {},
                },
            ],
            "edges": GRAPH["edges"],
        },
    }
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(CommandError, match="message"):
        call_command("automate_import", "--file", str(path), "--publish", stdout=StringIO())
    assert not Workflow.objects.filter(slug="to-fill").exists()
    out = StringIO()
    call_command("automate_import", "--file", str(path), stdout=out)
    assert Workflow.objects.get(slug="to-fill").live_version is None
    assert "To fill in before publishing: node 'say' inputs.message" in out.getvalue()


@pytest.mark.parametrize("slug", ["a" * 101, "a" * 150, "bad slug", "ümlaut"])
def test_a_slug_the_format_does_not_allow_is_refused_before_anything_is_written(author, slug):
    from urllib.parse import quote

    response = post_file(author, f"/studio/import/?slug={quote(slug)}", FILE)
    assert_error(response, 400, "invalid_request")
    assert not Workflow.objects.exists()
