"""The service around the offline drafter: what the user is told when nothing is usable."""

import pytest

from automate.copilot import propose
from automate.copilot.types import empty_definition
from tests.factories import make_tenant

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("prompt", ["make me a sandwich", "lorem ipsum dolor", "???"])
def test_nothing_understood_on_a_new_workflow_is_no_change_not_a_list_of_problems(prompt):
    proposal = propose(tenant=make_tenant(), prompt=prompt)

    assert proposal.definition == empty_definition()
    assert proposal.problems == []  # the empty draft's own problems are not the proposal's
    assert proposal.not_understood
    assert any("offline drafter" in note for note in proposal.notes)


def test_a_step_whose_secret_is_missing_lists_it_to_create():
    tenant = make_tenant()
    current = {
        "trigger_spec": {"event_type": "invoice.paid"},
        "rule_spec": {},
        "graph": {"nodes": [{"id": "trigger", "type": "trigger"}], "edges": []},
    }
    proposal = propose(tenant=tenant, prompt="post to #billing on Slack", current=current)

    # No Slack secret exists: the step is drafted with a note to create one.
    assert proposal.secrets_to_create == [
        {"name": "SLACK_BOT_TOKEN", "node_id": "slack_billing", "field": "inputs.token"}
    ]
    assert any("SLACK_BOT_TOKEN" in note for note in proposal.notes)
