"""Who may do what in the studio: every state-changing endpoint against a matrix of users.

Opening the studio needs ``automate.use_studio``; editing needs ``change_workflow``,
publishing and rolling back ``publish_workflow``, steering runs ``operate_run``; staff
status alone grants nothing and superusers hold everything. A refused change answers 403
in the studio's error display and changes nothing in the database.
"""

import itertools
import json

import pytest
from django.test import Client

from automate.execution.models import ExecutionRun, OutboxJob, StepRun
from automate.governance.models import AuditLogEntry
from automate.runtime import emit_event
from automate.workflows.models import Workflow, WorkflowVersion
from automate.workflows.services import publish_version
from tests.factories import make_tenant, make_user, make_workflow

USE = "automate.use_studio"
CHANGE = "automate.change_workflow"
PUBLISH = "automate.publish_workflow"
OPERATE = "automate.operate_run"

#: The users of the matrix: how each is made, and the permissions it holds.
ROLES = {
    "staff-no-perms": {"staff": True},
    "use-studio": {"perms": [USE]},
    "change": {"perms": [USE, CHANGE]},
    "publish": {"perms": [USE, PUBLISH]},
    "operate": {"perms": [USE, OPERATE]},
    "superuser": {"superuser": True},
}


def holds(role, perm):
    spec = ROLES[role]
    return bool(spec.get("superuser")) or perm in spec.get("perms", [])


def login(role, tenant):
    user = make_user(f"{role}-user", **ROLES[role])
    tenant.members.add(user)
    client = Client()
    client.force_login(user)
    return client, user


GRAPH = {
    "nodes": [
        {"id": "trigger", "type": "trigger"},
        {"id": "shape", "type": "transform", "inputs": {"cents": "{{ event.payload.amount }}"}},
    ],
    "edges": [{"source": "trigger", "target": "shape"}],
}


def assert_refused(response, perm, before, after):
    assert response.status_code == 403
    body = response.content.decode()
    assert perm in body, body[:400]
    assert "Nothing was saved" in body or response.json()["code"] == "permission_denied"
    assert after == before, "a refused request changed the database"


# --- workflows: edit, test, create, publish, roll back -------------------------------------


def workflow_state(workflow):
    workflow.refresh_from_db()
    return {
        "workflows": Workflow.objects.count(),
        "versions": WorkflowVersion.objects.count(),
        "live": workflow.live_version_id,
        "revision": workflow.draft_revision,
        "graph": workflow.draft_graph,
        "rule": workflow.draft_rule_spec,
        "audit": AuditLogEntry.objects.count(),
    }


def _draft_put(client, workflow):
    body = {"revision": workflow.draft_revision, "name": "Renamed"}
    return client.put(
        f"/studio/workflows/{workflow.pk}/draft.json",
        json.dumps(body),
        content_type="application/json",
    )


WORKFLOW_ENDPOINTS = {
    "publish": (PUBLISH, lambda c, w: c.post(f"/studio/workflows/{w.pk}/publish/", **HX)),
    "rollback": (PUBLISH, lambda c, w: c.post(f"/studio/workflows/{w.pk}/rollback/1/", **HX)),
    "draft-save": (CHANGE, _draft_put),
    "panel-save": (
        CHANGE,
        lambda c, w: c.post(
            f"/studio/workflows/{w.pk}/nodes/shape/panel/",
            {"label": "Shape it", "mapping": '{"cents": "{{ event.payload.amount }}"}'},
            **HX,
        ),
    ),
    "test-step": (
        CHANGE,
        lambda c, w: c.post(
            f"/studio/workflows/{w.pk}/nodes/shape/test/", {"payload": '{"amount": 4}'}, **HX
        ),
    ),
    "rules-save": (
        CHANGE,
        lambda c, w: c.post(
            f"/studio/workflows/{w.pk}/rules/save/", {"rule_spec": '{"==": [1, 1]}'}, **HX
        ),
    ),
    "create-workflow": (CHANGE, lambda c, w: c.post("/studio/wizard/", {"name": "Brand new"})),
}
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def tenant(db):
    return make_tenant("acme")


@pytest.fixture
def workflow(tenant):
    workflow = make_workflow(slug="flow", tenant=tenant, graph=GRAPH, rule_spec={})
    publish_version(workflow=workflow)
    publish_version(workflow=workflow)  # v2 is live: rolling back to v1 is possible
    workflow.refresh_from_db()
    return workflow


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", WORKFLOW_ENDPOINTS)
def test_workflow_changes_need_their_permission(endpoint, role, tenant, workflow):
    perm, call = WORKFLOW_ENDPOINTS[endpoint]
    client, _user = login(role, tenant)
    before = workflow_state(workflow)
    response = call(client, workflow)
    after = workflow_state(workflow)
    if role == "staff-no-perms":
        assert response.status_code == 403
        assert after == before
    elif holds(role, perm):
        assert response.status_code in (200, 302), response.content.decode()[:400]
        assert after != before, "an allowed request changed nothing"
    else:
        assert_refused(response, perm, before, after)


# --- runs: retry, resume, cancel, replay ---------------------------------------------------


def _step(node_id, act, **inputs):
    return {"id": node_id, "type": "action", "connector": "testkit", "action": act, **inputs}


def run_with(tenant, node):
    ids = ["trigger", node["id"]]
    workflow = make_workflow(
        slug="runs",
        tenant=tenant,
        rule_spec={},
        trigger_spec={"event_type": "invoice.paid"},
        graph={
            "nodes": [{"id": "trigger", "type": "trigger"}, node],
            "edges": [{"source": a, "target": b} for a, b in itertools.pairwise(ids)],
        },
    )
    publish_version(workflow=workflow)
    emit_event("invoice.paid", {}, tenant=tenant)
    return ExecutionRun.objects.get()


def run_state():
    return {
        "runs": list(ExecutionRun.objects.values_list("status", flat=True)),
        "steps": StepRun.objects.count(),
        "jobs": list(OutboxJob.objects.order_by("pk").values_list("status", flat=True)),
        "audit": AuditLogEntry.objects.count(),
    }


def _failing(tenant):
    return run_with(tenant, _step("flaky", "fail", inputs={"retryable": False, "times": 1}))


def _dead_job(tenant):
    _failing(tenant)
    return OutboxJob.objects.get(kind="step", status__in=["FAILED", "DEAD"])


RUN_ENDPOINTS = {
    "retry": lambda c, t: c.post(
        f"/studio/runs/{_failing(t).pk}/retry/", {"node_id": "flaky"}, **HX
    ),
    "resume": lambda c, t: c.post(
        f"/studio/runs/{_failing(t).pk}/resume/", {"node_id": "flaky"}, **HX
    ),
    "cancel": lambda c, t: c.post(
        f"/studio/runs/{run_with(t, _step('slow', 'fail', inputs={'retryable': True})).pk}/cancel/",
        **HX,
    ),
    "replay": lambda c, t: c.post(f"/studio/runs/dead-letters/{_dead_job(t).pk}/replay/"),
}


class _Snapshot:
    """Takes the state after the endpoint's set-up (inside the call), before the POST."""

    def __init__(self, client):
        self.client, self.before = client, None

    def post(self, *args, **kwargs):
        self.before = run_state()
        return self.client.post(*args, **kwargs)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", RUN_ENDPOINTS)
def test_run_operations_need_operate_run(endpoint, role):
    tenant = make_tenant("acme")
    client, _user = login(role, tenant)
    snapshot = _Snapshot(client)
    response = RUN_ENDPOINTS[endpoint](snapshot, tenant)
    after = run_state()
    if role == "staff-no-perms":
        assert response.status_code == 403
        assert after == snapshot.before
    elif holds(role, OPERATE):
        assert response.status_code in (200, 302), response.content.decode()[:400]
        assert after != snapshot.before, "an allowed request changed nothing"
    else:
        assert_refused(response, OPERATE, snapshot.before, after)


# --- pages, buttons, tooltips --------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_pages_need_use_studio_only(role, tenant, workflow):
    client, _user = login(role, tenant)
    pages = [
        "/studio/",
        "/studio/wizard/",
        "/studio/runs/",
        "/studio/runs/?view=dead",
        "/studio/palette.json",
        f"/studio/workflows/{workflow.pk}/",
        f"/studio/workflows/{workflow.pk}/draft.json",
        f"/studio/workflows/{workflow.pk}/nodes/shape/panel/",
        f"/studio/workflows/{workflow.pk}/rules/",
        f"/studio/workflows/{workflow.pk}/history/",
        f"/studio/workflows/{workflow.pk}/diff/",
    ]
    expected = 403 if role == "staff-no-perms" else 200
    assert {page: client.get(page).status_code for page in pages} == dict.fromkeys(pages, expected)


def disabled_with_tooltip(html, element_id, perm):
    start = html.index(f'id="{element_id}"')
    tag = html[html.rindex("<", 0, start) : html.index(">", start)]
    return ("disabled" in tag or "readonly" in tag) and perm in tag


@pytest.mark.django_db
def test_a_reader_sees_disabled_buttons_that_name_the_missing_permission(tenant, workflow):
    reader, _user = login("use-studio", tenant)
    editor = reader.get(f"/studio/workflows/{workflow.pk}/").content.decode()
    assert disabled_with_tooltip(editor, "btn-publish", PUBLISH)
    assert disabled_with_tooltip(editor, "wf-name", CHANGE)  # the name is read-only
    assert 'id="wf-read-only"' in editor
    panel = reader.get(f"/studio/workflows/{workflow.pk}/nodes/shape/panel/", **HX)
    assert disabled_with_tooltip(panel.content.decode(), "btn-save-node", CHANGE)
    assert disabled_with_tooltip(panel.content.decode(), "btn-test-step", CHANGE)
    rules = reader.get(f"/studio/workflows/{workflow.pk}/rules/", **HX).content.decode()
    assert disabled_with_tooltip(rules, "btn-save-rule", CHANGE)
    history = reader.get(f"/studio/workflows/{workflow.pk}/history/", **HX).content.decode()
    tooltip = f"You need the “Can publish and roll back workflows” permission ({PUBLISH})."
    assert f'disabled title="{tooltip}"' in history
    wizard = reader.get("/studio/wizard/").content.decode()
    assert "disabled" in wizard
    assert CHANGE in wizard


@pytest.mark.django_db
def test_an_author_sees_enabled_buttons(tenant, workflow):
    author, _user = login("superuser", tenant)
    editor = author.get(f"/studio/workflows/{workflow.pk}/").content.decode()
    assert not disabled_with_tooltip(editor, "btn-publish", PUBLISH)
    assert 'id="wf-read-only"' not in editor
    panel = author.get(f"/studio/workflows/{workflow.pk}/nodes/shape/panel/", **HX)
    assert not disabled_with_tooltip(panel.content.decode(), "btn-save-node", CHANGE)
    publisher, _user = login("publish", tenant)
    editor = publisher.get(f"/studio/workflows/{workflow.pk}/").content.decode()
    assert not disabled_with_tooltip(editor, "btn-publish", PUBLISH)
    assert disabled_with_tooltip(editor, "wf-name", CHANGE)


@pytest.mark.django_db(transaction=True)
def test_run_buttons_are_disabled_without_operate_run():
    tenant = make_tenant("acme")
    run = _failing(tenant)
    reader, _user = login("use-studio", tenant)
    step = reader.get(f"/studio/runs/{run.pk}/steps/flaky/").content.decode()
    assert disabled_with_tooltip(step, "retry-step", OPERATE)
    assert disabled_with_tooltip(step, "resume-step", OPERATE)
    dead = reader.get("/studio/runs/?view=dead").content.decode()
    assert f"({OPERATE})" in dead
    operator, _user = login("operate", tenant)
    step = operator.get(f"/studio/runs/{run.pk}/steps/flaky/").content.decode()
    assert not disabled_with_tooltip(step, "retry-step", OPERATE)
