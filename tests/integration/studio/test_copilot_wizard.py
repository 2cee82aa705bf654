"""Starting a workflow from a copilot proposal on the wizard: the definition the browser
sends back is checked again (shape, limits, unsafe templates, literal secrets) before a
workflow is created; a tampered one creates nothing."""

from __future__ import annotations

import json
from copy import deepcopy

import pytest
from django.test import Client

from automate.governance.models import AuditLogEntry
from automate.workflows.models import Workflow
from tests.factories import make_tenant, make_user

pytestmark = pytest.mark.django_db

DEFINITION = {
    "trigger_spec": {"event_type": "invoice.paid"},
    "rule_spec": {">": [{"var": "amount"}, 1000]},
    "graph": {
        "nodes": [
            {"id": "trigger", "type": "trigger", "position": {"x": 40, "y": 120}},
            {
                "id": "notify",
                "type": "action",
                "connector": "slack",
                "action": "post_message",
                "label": "Post to #billing",
                "inputs": {
                    "token": {"$secret": "SLACK_TOKEN"},
                    "channel": "#billing",
                    "text": "Paid {{ event.payload.amount }}",
                },
                "position": {"x": 340, "y": 120},
            },
        ],
        "edges": [{"source": "trigger", "target": "notify"}],
    },
}
CREATE = "/studio/wizard/from-proposal/"


def proposed(tenant, proposal_id="ab" * 16):
    AuditLogEntry.objects.create(
        tenant=tenant,
        action="copilot.proposed",
        resource_type="copilot_proposal",
        resource_id=proposal_id,
        details={"workflow_id": None},
    )
    return proposal_id


def test_an_accepted_proposal_becomes_the_new_workflows_draft(author):
    proposal_id = proposed(author.tenant)
    response = author.post(
        CREATE,
        {
            "workflow_name": "Big invoices",
            "definition": json.dumps(DEFINITION),
            "proposal_id": proposal_id,
        },
    )
    workflow = Workflow.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/studio/workflows/{workflow.pk}/"
    assert workflow.name == "Big invoices"
    assert workflow.tenant == author.tenant
    assert workflow.draft_graph == DEFINITION["graph"]
    assert workflow.draft_trigger_spec == DEFINITION["trigger_spec"]
    assert workflow.draft_rule_spec == DEFINITION["rule_spec"]
    assert workflow.live_version is None  # the copilot never publishes
    assert AuditLogEntry.objects.filter(
        action="copilot.accepted", resource_id=proposal_id, tenant=author.tenant
    ).exists()


def test_a_second_workflow_of_the_same_name_gets_its_own_slug(author):
    for _ in range(2):
        author.post(CREATE, {"workflow_name": "Big invoices", "definition": json.dumps(DEFINITION)})
    assert sorted(Workflow.objects.values_list("slug", flat=True)) == [
        "big-invoices",
        "big-invoices-2",
    ]


def _tampered(change):
    definition = deepcopy(DEFINITION)
    change(definition)
    return json.dumps(definition)


def _literal_secret(d):
    d["graph"]["nodes"][1]["inputs"]["token"] = "xoxb-1234567890-literal"


def _unsafe_template(d):
    # A secret cut up (not printed whole) could leak it bit by bit: refused at save.
    d["graph"]["nodes"][1]["inputs"]["text"] = "{{ secrets.SLACK_TOKEN[:4] }}"


def _oversized(d):
    d["graph"]["nodes"] += [
        {"id": f"n{i}", "type": "transform", "inputs": {"x": "y" * 100}} for i in range(500)
    ]


TAMPERED = {
    "a literal secret value": _tampered(_literal_secret),
    "an unsafe template": _tampered(_unsafe_template),
    "a graph over the size limit": _tampered(_oversized),
    "a graph without edges": _tampered(lambda d: d["graph"].pop("edges")),
    "no rule_spec": _tampered(lambda d: d.pop("rule_spec")),
    "an extra key": _tampered(lambda d: d.update(publish=True)),
    "a list": json.dumps([DEFINITION]),
    "nothing": "",
    "not JSON": "{trigger",
}


@pytest.mark.parametrize("label", sorted(TAMPERED))
def test_a_tampered_definition_is_refused_and_creates_nothing(author, settings, label):
    settings.DJANGO_AUTOMATE = {"LIMITS": {"max_definition_bytes": 20_000}}
    response = author.post(CREATE, {"workflow_name": "Sneaky", "definition": TAMPERED[label]})
    assert response.status_code == 400
    assert Workflow.objects.count() == 0
    assert not AuditLogEntry.objects.filter(action="copilot.accepted").exists()
    if label == "a literal secret value":
        assert "xoxb-1234567890-literal" not in response.content.decode()
        assert "secret" in response.content.decode()


def test_a_name_over_200_characters_is_refused(author):
    response = author.post(
        CREATE, {"workflow_name": "N" * 201, "definition": json.dumps(DEFINITION)}
    )
    assert response.status_code == 400
    assert Workflow.objects.count() == 0


def test_another_tenants_proposal_is_not_marked_accepted(author):
    other = make_tenant("other")
    proposal_id = proposed(other)
    author.post(
        CREATE,
        {"workflow_name": "Mine", "definition": json.dumps(DEFINITION), "proposal_id": proposal_id},
    )
    assert Workflow.objects.get().tenant == author.tenant
    assert not AuditLogEntry.objects.filter(action="copilot.accepted").exists()


def test_a_viewer_cannot_create_from_a_proposal(author):
    viewer = make_user("viewer", perms=["automate.use_studio"])
    author.tenant.members.add(viewer)
    client = Client()
    client.force_login(viewer)
    response = client.post(CREATE, {"workflow_name": "Nope", "definition": json.dumps(DEFINITION)})
    assert response.status_code == 403
    assert Workflow.objects.count() == 0


def test_the_wizard_shows_the_describe_box_and_the_manual_form(author):
    page = author.get("/studio/wizard/").content.decode()
    assert 'id="copilot-prompt"' in page
    assert 'id="new-workflow"' in page
    assert 'id="wizard-copilot-data"' in page
