"""The rule's autosave: ``rules/save/`` posted for JSON, with the draft revision.

What the editor's rule_autosave.js relies on: a valid rule is saved and answers the new
revision; an invalid rule (not JSON, not JSONLogic) saves nothing and answers 400 in the
error shape saying why; a stale revision is a 409 like the canvas autosave.
"""

import json

import pytest
from django.test import Client

from automate.workflows.models import Workflow
from tests.factories import make_studio_user, make_tenant, make_user, make_workflow

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}
ERROR_KEYS = {"code", "message", "details", "trace_id"}
RULE = {">": [{"var": "data.object.amount_paid"}, 1000]}


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
    return make_workflow(slug="flow", tenant=tenant, rule_spec=RULE)


def url(workflow):
    return f"/studio/workflows/{workflow.pk}/rules/save/"


def stored(workflow):
    fresh = Workflow.objects.get(pk=workflow.pk)
    return fresh.draft_rule_spec, fresh.draft_revision


def test_a_valid_rule_is_saved_and_answers_the_new_revision(client, workflow):
    rule = {">=": [{"var": "data.object.amount_paid"}, 500]}
    revision = workflow.draft_revision
    response = client.post(
        url(workflow), {"rule_spec": json.dumps(rule), "revision": revision}, **JSON
    )
    assert response.status_code == 200
    assert response.json() == {"revision": revision + 1}
    assert stored(workflow) == (rule, revision + 1)


def test_the_same_rule_again_keeps_the_revision(client, workflow):
    revision = workflow.draft_revision
    response = client.post(
        url(workflow), {"rule_spec": json.dumps(RULE), "revision": revision}, **JSON
    )
    assert response.json() == {"revision": revision}
    assert stored(workflow) == (RULE, revision)


@pytest.mark.parametrize(
    ("text", "says", "path"),
    [
        ('{">": [{"var": "total"}, 100', "not valid JSON", ""),
        ('{"and": [true, {"nope": 1}]}', "not valid JSONLogic at /and/1", "/and/1"),
    ],
)
def test_an_invalid_rule_is_a_400_in_the_error_shape_and_saves_nothing(
    client, workflow, text, says, path
):
    before = stored(workflow)
    response = client.post(
        url(workflow), {"rule_spec": text, "revision": workflow.draft_revision}, **JSON
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == "invalid_rule"
    assert says in body["message"]
    assert body["details"]["path"] == path
    assert stored(workflow) == before


def test_a_stale_revision_is_a_conflict_and_saves_nothing(client, workflow):
    before = stored(workflow)
    response = client.post(
        url(workflow),
        {"rule_spec": '{"==": [1, 1]}', "revision": workflow.draft_revision + 1},
        **JSON,
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "stale_draft"
    assert body["details"] == {"revision": workflow.draft_revision}
    assert stored(workflow) == before


def test_a_revision_that_is_not_a_number_is_refused(client, workflow):
    before = stored(workflow)
    response = client.post(url(workflow), {"rule_spec": "{}", "revision": "two"}, **JSON)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert stored(workflow) == before


def test_the_html_save_also_refuses_a_stale_revision(client, workflow):
    before = stored(workflow)
    response = client.post(
        url(workflow),
        {"rule_spec": "{}", "revision": workflow.draft_revision + 5},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert "Someone else changed this workflow" in response.content.decode()
    assert stored(workflow) == before


def test_other_tenants_and_missing_permission_save_nothing(client, workflow, tenant):
    other = make_workflow(slug="theirs", tenant=make_tenant("other"), rule_spec=RULE)
    response = client.post(url(other), {"rule_spec": "{}", "revision": 1}, **JSON)
    assert response.status_code == 404

    reader = make_user("reader", perms=["automate.use_studio"])
    tenant.members.add(reader)
    reading = Client()
    reading.force_login(reader)
    before = stored(workflow)
    response = reading.post(
        url(workflow), {"rule_spec": "{}", "revision": workflow.draft_revision}, **JSON
    )
    assert response.status_code == 403
    assert set(response.json()) == ERROR_KEYS
    assert stored(workflow) == before
    # Nor does the tab offer it the autosave.
    tab = reading.get(f"/studio/workflows/{workflow.pk}/rules/", HTTP_HX_REQUEST="true")
    assert "data-autosave-url" not in tab.content.decode()


def test_the_tab_carries_its_autosave_hooks(client, workflow):
    tab = client.get(f"/studio/workflows/{workflow.pk}/rules/", HTTP_HX_REQUEST="true")
    page = tab.content.decode()
    assert f'data-autosave-url="{url(workflow)}"' in page
    assert 'id="btn-discard-rule"' in page
    assert 'id="rule-save-result"' in page


@pytest.mark.parametrize("accept", [JSON, {"HTTP_HX_REQUEST": "true"}], ids=["autosave", "page"])
def test_a_save_without_the_rule_field_is_refused_and_keeps_the_rule(client, workflow, accept):
    # A post that lost its rule_spec (a broken client, a truncated form) must not clear
    # the trigger's rule into "match everything".
    before = stored(workflow)
    response = client.post(url(workflow), {"revision": workflow.draft_revision}, **accept)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == "invalid_request"
    assert body["details"] == {"field": "rule_spec"}
    assert "rule_spec" in body["message"]
    assert stored(workflow) == before


@pytest.mark.parametrize("text", ["{}", "", "  "])
def test_an_explicitly_empty_rule_is_still_saved_as_match_everything(client, workflow, text):
    revision = workflow.draft_revision
    response = client.post(url(workflow), {"rule_spec": text, "revision": revision}, **JSON)
    assert response.status_code == 200
    assert stored(workflow) == ({}, revision + 1)


@pytest.mark.parametrize("revision", [None, "", "  "], ids=["absent", "empty", "blank"])
def test_the_autosave_requires_the_revision(client, workflow, revision):
    # Without the revision the save would overwrite whatever another tab saved meanwhile.
    before = stored(workflow)
    data = {"rule_spec": '{"==": [1, 1]}'}
    if revision is not None:
        data["revision"] = revision
    response = client.post(url(workflow), data, **JSON)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == "invalid_request"
    assert body["details"] == {"field": "revision"}
    assert stored(workflow) == before
