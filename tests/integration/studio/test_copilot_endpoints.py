"""The copilot's studio endpoints: a proposal with its diff, a decision, tenancy,
permissions, bad bodies (4xx in the error shape, nothing changed).

A fake drafter stands in for whichever one the service picks (the drafters themselves
are tested with the service), so these tests see exactly what the studio gets.
"""

from __future__ import annotations

import json
from copy import deepcopy

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from automate.copilot import service
from automate.copilot.exceptions import CopilotRateLimitedError, CopilotUnavailableError
from automate.copilot.types import Answer
from automate.governance.budget import BudgetExceededError
from automate.governance.models import AuditLogEntry
from automate.workflows.models import Workflow
from tests.factories import make_studio_user, make_tenant, make_user, make_workflow

pytestmark = pytest.mark.django_db

SENTENCE = "When an invoice is paid over 1000, write a note to the log"
NOTE = {
    "id": "note",
    "type": "action",
    "connector": "log",
    "action": "write",
    "label": "Note it",
    "inputs": {"message": "Paid {{ event.payload.amount }}"},
    "position": {"x": 340, "y": 120},
}


class FakeDrafter:
    """Adds a log step after the trigger (or, asked to "remove the note", removes it)."""

    kind = "offline"
    calls: list[dict] = []

    def draft(self, *, prompt, current, catalog, conversation=()):
        type(self).calls.append(
            {"prompt": prompt, "current": current, "conversation": conversation}
        )
        definition = deepcopy(current)
        graph = definition["graph"]
        if "remove" in prompt:
            graph["nodes"] = [n for n in graph["nodes"] if n["id"] != "note"]
            graph["edges"] = [e for e in graph["edges"] if "note" not in (e["source"], e["target"])]
            return Answer(definition=definition)
        definition["trigger_spec"] = {"event_type": "invoice.paid"}
        definition["rule_spec"] = {">": [{"var": "amount"}, 1000]}
        graph["nodes"].append(dict(NOTE))
        graph["edges"].append({"source": "trigger", "target": "note"})
        return Answer(
            definition=definition,
            explanations={"note": "Writes the amount to the log"},
            assumptions=["I assumed the amount is in `amount`"],
            not_understood=["over 1000"] if "fuzzy" in prompt else [],
            notes=[],
        )


@pytest.fixture(autouse=True)
def fake_drafter(monkeypatch):
    FakeDrafter.calls = []
    monkeypatch.setattr(service, "OfflineDrafter", FakeDrafter)
    return FakeDrafter


@pytest.fixture
def workflow(author):
    return make_workflow(
        slug="flow",
        tenant=author.tenant,
        trigger_spec={"event_type": "invoice.paid", "source": "stripe"},
        rule_spec={},
        graph={
            "nodes": [{"id": "trigger", "type": "trigger", "position": {"x": 40, "y": 120}}],
            "edges": [],
        },
    )


def url(workflow):
    return f"/studio/workflows/{workflow.pk}/copilot/"


def post(client, path, body):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json")


def state(workflow):
    workflow.refresh_from_db()
    return (
        workflow.draft_revision,
        workflow.draft_graph,
        workflow.draft_trigger_spec,
        workflow.draft_rule_spec,
    )


def current_of(workflow):
    return {
        "trigger_spec": workflow.draft_trigger_spec,
        "rule_spec": workflow.draft_rule_spec,
        "graph": workflow.draft_graph,
    }


def test_a_proposal_comes_with_its_diff_and_leaves_the_draft_as_it_was(author, workflow):
    before = state(workflow)
    response = post(author, url(workflow), {"prompt": SENTENCE, "current": current_of(workflow)})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["complete"] is True
    assert body["drafter"] == "offline"
    assert [n["id"] for n in body["definition"]["graph"]["nodes"]] == ["trigger", "note"]
    assert body["explanations"] == {"note": "Writes the amount to the log"}
    assert body["assumptions"] == ["I assumed the amount is in `amount`"]
    diff = body["diff"]
    assert [n["id"] for n in diff["nodes_added"]] == ["note"]
    assert diff["edges_added"] == [{"source": "trigger", "target": "note", "branch": ""}]
    assert diff["nodes_removed"] == []
    assert diff["edges_removed"] == []
    assert {c["key"] for c in diff["trigger_changes"]} == {"source"}
    assert diff["rule_changed"] is True
    assert diff["rule_after"] == {">": [{"var": "amount"}, 1000]}
    assert state(workflow) == before
    assert AuditLogEntry.objects.filter(action="copilot.proposed", resource_id=body["id"]).exists()


def test_the_canvas_state_and_the_conversation_are_what_the_drafter_starts_from(author, workflow):
    unsaved = current_of(workflow)
    unsaved["graph"]["nodes"].append(dict(NOTE))
    unsaved["graph"]["edges"].append({"source": "trigger", "target": "note"})
    response = post(
        author,
        url(workflow),
        {"prompt": "remove the note", "current": unsaved, "conversation": [SENTENCE]},
    )
    assert response.status_code == 200, response.content
    call = FakeDrafter.calls[-1]
    assert [n["id"] for n in call["current"]["graph"]["nodes"]] == ["trigger", "note"]
    assert list(call["conversation"]) == [SENTENCE]
    diff = response.json()["diff"]
    assert [n["id"] for n in diff["nodes_removed"]] == ["note"]
    assert diff["edges_removed"] == [{"source": "trigger", "target": "note", "branch": ""}]


def test_without_current_the_saved_draft_is_the_starting_point(author, workflow):
    response = post(author, url(workflow), {"prompt": SENTENCE})
    assert response.status_code == 200, response.content
    assert FakeDrafter.calls[-1]["current"]["graph"] == workflow.draft_graph


def test_a_changed_node_lists_its_changed_keys(author, workflow, fake_drafter, monkeypatch):
    current = current_of(workflow)
    current["graph"]["nodes"].append(dict(NOTE))
    current["graph"]["edges"].append({"source": "trigger", "target": "note"})

    class Retry(FakeDrafter):
        def draft(self, *, prompt, current, catalog, conversation=()):
            definition = deepcopy(current)
            definition["trigger_spec"] = {"event_type": "invoice.paid"}
            definition["graph"]["nodes"][1]["retry"] = {"max_retries": 3}
            return Answer(definition=definition)

    monkeypatch.setattr(service, "OfflineDrafter", Retry)
    response = post(author, url(workflow), {"prompt": "add a retry", "current": current})
    diff = response.json()["diff"]
    assert diff["nodes_changed"] == [
        {"id": "note", "label": "Note it", "keys": ["retry"], "layout_only": False}
    ]


def test_the_decision_is_audited_once(author, workflow):
    proposal = post(author, url(workflow), {"prompt": SENTENCE}).json()
    decision = f"{url(workflow)}{proposal['id']}/decision/"
    response = post(author, decision, {"accepted": True})
    assert response.status_code == 200, response.content
    assert response.json() == {"id": proposal["id"], "decision": "accepted"}
    # A second answer (a double click) does not change or repeat the decision.
    again = post(author, decision, {"accepted": False})
    assert again.json()["decision"] == "accepted"
    entries = AuditLogEntry.objects.filter(resource_id=proposal["id"])
    assert sorted(entries.values_list("action", flat=True)) == [
        "copilot.accepted",
        "copilot.proposed",
    ]
    decided = entries.get(action="copilot.accepted")
    assert decided.actor_repr == get_user_model().objects.get(pk=decided.actor_id).get_username()
    assert decided.actor_repr.startswith("ed")


def test_a_rejection_is_audited_and_changes_nothing(author, workflow):
    before = state(workflow)
    proposal = post(author, url(workflow), {"prompt": SENTENCE}).json()
    response = post(author, f"{url(workflow)}{proposal['id']}/decision/", {"accepted": False})
    assert response.json()["decision"] == "rejected"
    assert AuditLogEntry.objects.filter(action="copilot.rejected").count() == 1
    assert state(workflow) == before


@pytest.mark.parametrize("proposal_id", ["0" * 32, "not-a-proposal", "A" * 32, "a.b-c", "x" * 300])
def test_a_decision_on_an_unknown_proposal_is_a_404(author, workflow, proposal_id):
    response = post(author, f"{url(workflow)}{proposal_id}/decision/", {"accepted": True})
    assert response.status_code == 404
    assert response.json()["code"] == "resource_not_found"
    assert not AuditLogEntry.objects.filter(action__startswith="copilot.").exists()


def test_a_decision_on_another_workflows_proposal_is_a_404(author, workflow):
    other = make_workflow(slug="other", tenant=author.tenant)
    proposal = post(author, url(other), {"prompt": SENTENCE}).json()
    response = post(author, f"{url(workflow)}{proposal['id']}/decision/", {"accepted": True})
    assert response.status_code == 404


@pytest.mark.parametrize(
    "body", [{}, {"accepted": "yes"}, {"accepted": 1}, [], {"accepted": True, "x": 1}]
)
def test_a_decision_must_be_true_or_false(author, workflow, body):
    proposal = post(author, url(workflow), {"prompt": SENTENCE}).json()
    response = post(author, f"{url(workflow)}{proposal['id']}/decision/", body)
    assert response.status_code == 400
    assert set(response.json()) == {"code", "message", "details", "trace_id"}
    assert not AuditLogEntry.objects.filter(action="copilot.accepted").exists()


def test_another_tenants_workflow_is_a_404_and_asks_nothing(workflow):
    stranger = make_studio_user("mallory")
    make_tenant("evil").members.add(stranger)
    client = Client()
    client.force_login(stranger)
    response = post(client, url(workflow), {"prompt": SENTENCE})
    assert response.status_code == 404
    assert response.json()["code"] == "resource_not_found"
    assert FakeDrafter.calls == []
    proposal_author = Client()
    proposal_author.force_login(workflow.created_by or make_user("x", superuser=True))
    proposal = post(proposal_author, url(workflow), {"prompt": SENTENCE}).json()
    decision = post(client, f"{url(workflow)}{proposal['id']}/decision/", {"accepted": True})
    assert decision.status_code == 404
    # Nor through the wizard's decision endpoint (the proposal is in acme, not evil).
    wizard = post(client, f"/studio/copilot/{proposal['id']}/decision/", {"accepted": False})
    assert wizard.status_code == 404
    assert not AuditLogEntry.objects.filter(action__in=["copilot.accepted", "copilot.rejected"])


def test_a_viewer_without_the_change_permission_gets_a_403_in_the_error_shape(workflow):
    viewer = make_user("viewer", perms=["automate.use_studio"])
    workflow.tenant.members.add(viewer)
    client = Client()
    client.force_login(viewer)
    for path in (url(workflow), "/studio/copilot/"):
        response = post(client, path, {"prompt": SENTENCE})
        assert response.status_code == 403
        body = response.json()
        assert body["code"] == "permission_denied"
        assert set(body) == {"code", "message", "details", "trace_id"}
    assert FakeDrafter.calls == []


def test_a_get_is_not_a_proposal(author, workflow):
    assert author.get(url(workflow)).status_code == 405


BAD_BODIES = {
    "not JSON": b"When an invoice is paid",
    "a list": [SENTENCE],
    "prompt missing": {"current": None},
    "prompt empty": {"prompt": "   "},
    "prompt not a string": {"prompt": ["post to slack"]},
    "prompt too long": {"prompt": "a" * (service.MAX_PROMPT_CHARS + 1)},
    "current not an object": {"prompt": SENTENCE, "current": "trigger → slack"},
    "current graph without lists": {"prompt": SENTENCE, "current": {"graph": {"nodes": {}}}},
    "current with a node that is not an object": {
        "prompt": SENTENCE,
        "current": {"graph": {"nodes": ["trigger"], "edges": []}},
    },
    "current trigger not an object": {"prompt": SENTENCE, "current": {"trigger_spec": []}},
    "current with unknown keys": {"prompt": SENTENCE, "current": {"secrets": {}}},
    "conversation not a list": {"prompt": SENTENCE, "conversation": "earlier"},
    "conversation of numbers": {"prompt": SENTENCE, "conversation": [1, 2]},
    "conversation too long": {"prompt": SENTENCE, "conversation": ["x"] * 21},
    "an unknown key": {"prompt": SENTENCE, "publish": True},
    "nested too deep": b'{"prompt": "x", "current": ' + b'{"a":' * 5000 + b"1" + b"}" * 5001,
}


@pytest.mark.parametrize("label", sorted(BAD_BODIES))
def test_bad_bodies_are_a_400_in_the_error_shape_and_change_nothing(author, workflow, label):
    before = state(workflow)
    response = post(author, url(workflow), BAD_BODIES[label])
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert set(body) == {"code", "message", "details", "trace_id"}
    assert FakeDrafter.calls == []
    assert state(workflow) == before
    assert not AuditLogEntry.objects.filter(action__startswith="copilot.").exists()


def test_a_current_graph_over_the_limits_is_refused(author, workflow, settings):
    settings.DJANGO_AUTOMATE = {"LIMITS": {"max_definition_bytes": 5_000}}
    nodes = [{"id": "trigger", "type": "trigger"}] + [
        {"id": f"n{i}", "type": "transform", "inputs": {}} for i in range(300)
    ]
    current = {"graph": {"nodes": nodes, "edges": []}}
    response = post(author, url(workflow), {"prompt": SENTENCE, "current": current})
    assert 400 <= response.status_code < 500
    assert set(response.json()) == {"code", "message", "details", "trace_id"}
    assert FakeDrafter.calls == []


def test_a_huge_body_is_a_413(author, workflow, settings):
    settings.DJANGO_AUTOMATE = {"LIMITS": {"max_body_bytes": 10_000}}
    response = post(author, url(workflow), {"prompt": SENTENCE, "conversation": ["y" * 20_000]})
    assert response.status_code == 413
    assert response.json()["code"]


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (CopilotRateLimitedError("Too many requests.", details={"retry_after": 12.5}), 429, None),
        (BudgetExceededError("Today's budget is spent."), 429, "budget_exceeded"),
        (CopilotUnavailableError("The model did not answer."), 502, "copilot_unavailable"),
    ],
)
def test_copilot_errors_keep_their_status_and_code(
    author, workflow, monkeypatch, error, status, code
):
    class Failing(FakeDrafter):
        def draft(self, **kwargs):
            raise error

    monkeypatch.setattr(service, "OfflineDrafter", Failing)
    before = state(workflow)
    response = post(author, url(workflow), {"prompt": SENTENCE})
    assert response.status_code == status
    body = response.json()
    assert body["code"] == (code or error.code)
    assert body["message"] == error.message
    if status == 429 and "retry_after" in (error.details or {}):
        assert response["Retry-After"] == "13"
    assert state(workflow) == before


def test_the_wizard_copilot_starts_from_nothing(author):
    response = post(author, "/studio/copilot/", {"prompt": SENTENCE})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["before"]["graph"] == {"nodes": [], "edges": []}
    assert FakeDrafter.calls[-1]["current"]["graph"] == {"nodes": [], "edges": []}
    refused = post(author, "/studio/copilot/", {"prompt": SENTENCE, "current": {}})
    assert refused.status_code == 400
    assert Workflow.objects.count() == 0


def test_a_post_without_the_csrf_token_is_refused(workflow):
    user = make_studio_user("csrf-ed")
    workflow.tenant.members.add(user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = post(client, url(workflow), {"prompt": SENTENCE})
    assert response.status_code == 403
    assert FakeDrafter.calls == []
