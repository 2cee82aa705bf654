"""One broken live workflow never stops the tenant's others.

The broken versions are written straight into the database, as older data or a bypassed
save would be, since today's save and publish limits refuse them.
"""

import logging
import sys

import pytest
from django.utils import timezone

from automate.execution.models import ExecutionRun, OutboxJob
from automate.governance.models import AuditLogEntry
from automate.runtime import emit_event
from automate.workflows.models import WorkflowVersion
from tests.factories import make_published, make_studio_user, make_tenant, make_workflow
from tests.support.databases import MARIADB_JSON_DEPTH, on_mysql

pytestmark = pytest.mark.django_db(transaction=True)

TRIGGER = {"event_type": "invoice.paid"}
GOOD_GRAPH = {
    "nodes": [
        {"id": "trigger", "type": "trigger"},
        {"id": "note", "type": "transform", "inputs": {"total": "{{ event.payload.amount }}"}},
    ],
    "edges": [{"source": "trigger", "target": "note"}],
}


def nested(depth, leaf):
    value = leaf
    for _ in range(depth):
        value = {"and": [value, True]}
    return value


def deep_input(depth):
    value = "x"
    for _ in range(depth):
        value = [value]
    return value


def with_high_recursion_limit(function):
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)
    try:
        return function()
    finally:
        sys.setrecursionlimit(old)


def broken_live_version(tenant, slug, **definition):
    """A live version written directly, as the limits would refuse it today."""
    workflow = make_workflow(slug=slug, tenant=tenant, trigger_spec=TRIGGER, rule_spec={})
    version = with_high_recursion_limit(
        lambda: WorkflowVersion.objects.create(
            workflow=workflow,
            version_num=1,
            trigger_spec=definition.get("trigger_spec", TRIGGER),
            rule_spec=definition.get("rule_spec", {}),
            graph=definition.get("graph", GOOD_GRAPH),
            published_at=timezone.now(),
        )
    )
    workflow.live_version = version
    workflow.save(update_fields=["live_version"])
    return version


BROKEN = {
    "a rule nested 900 deep (RecursionError when compiled)": {
        "rule_spec": nested(900, {"==": [1, 1]})
    },
    "a transform input nested 900 deep": {
        "graph": {
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {"id": "deep", "type": "transform", "inputs": {"x": deep_input(900)}},
            ],
            "edges": [{"source": "trigger", "target": "deep"}],
        }
    },
    "a rule that is not JSONLogic": {"rule_spec": {"no_such_operator": [1]}},
    "a trigger spec that is not an object": {"trigger_spec": ["invoice.paid"]},
    "a graph with no trigger": {"graph": {"nodes": [{"id": "a", "type": "merge"}], "edges": []}},
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_a_broken_live_workflow_is_recorded_and_the_others_still_run(kind, caplog):
    if "900 deep" in kind and on_mysql():
        pytest.skip(MARIADB_JSON_DEPTH)
    tenant = make_tenant("acme")
    before = make_published(
        slug="a-good", tenant=tenant, trigger_spec=TRIGGER, rule_spec={}, graph=GOOD_GRAPH
    )
    broken = broken_live_version(tenant, "m-broken", **BROKEN[kind])
    after = make_published(
        slug="z-good", tenant=tenant, trigger_spec=TRIGGER, rule_spec={}, graph=GOOD_GRAPH
    )

    with caplog.at_level(logging.ERROR, logger="automate.execution"):
        emit_event("invoice.paid", {"amount": 5}, tenant=tenant)
        emit_event("invoice.paid", {"amount": 6}, tenant=tenant)

    for good in (before, after):
        runs = ExecutionRun.objects.filter(workflow_version=good)
        assert runs.count() == 2, kind
        assert set(runs.values_list("status", flat=True)) == {"succeeded"}
    event_jobs = OutboxJob.objects.filter(kind=OutboxJob.Kind.EVENT)
    assert set(event_jobs.values_list("status", flat=True)) == {"COMPLETED"}
    # The broken one is recorded: one audit entry (not one per event), a log line per event.
    entries = AuditLogEntry.objects.filter(action="workflow.broken")
    assert entries.count() == 1
    entry = entries.get()
    assert entry.resource_type == "workflow_version"
    assert entry.resource_id == str(broken.pk)
    assert entry.tenant == tenant
    assert entry.details["workflow"] == broken.workflow_id
    assert entry.details["stage"] in ("load", "match", "start")
    assert entry.details["error"]
    lines = [r for r in caplog.records if "is broken" in r.getMessage()]
    assert len(lines) == 2
    assert str(broken.workflow_id) in lines[0].getMessage()


def test_the_studio_shows_the_broken_workflow_on_the_dashboard_and_in_the_editor(client):
    tenant = make_tenant("acme")
    good = make_published(
        slug="good", tenant=tenant, trigger_spec=TRIGGER, rule_spec={}, graph=GOOD_GRAPH
    )
    broken = broken_live_version(tenant, "broken", rule_spec={"no_such_operator": [1]})
    emit_event("invoice.paid", {"amount": 5}, tenant=tenant)
    user = make_studio_user()
    tenant.members.add(user)
    client.force_login(user)

    page = client.get("/studio/").content.decode()
    assert page.count("badge-broken") == 1
    assert "Fails to match on events" in page
    row = page.split(f"/studio/workflows/{broken.workflow_id}/")[1].split("</tr>")[0]
    assert "badge-broken" in row
    assert (
        "badge-broken"
        not in page.split(f"/studio/workflows/{good.workflow_id}/")[1].split("</tr>")[0]
    )
    editor = client.get(f"/studio/workflows/{broken.workflow_id}/").content.decode()
    assert 'id="wf-broken"' in editor
    assert "live version broken" in editor
    assert (
        'id="wf-broken"'
        not in client.get(f"/studio/workflows/{good.workflow_id}/").content.decode()
    )


def test_a_republished_fixed_workflow_is_no_longer_shown_as_broken(client):
    tenant = make_tenant("acme")
    broken = broken_live_version(tenant, "broken", rule_spec={"no_such_operator": [1]})
    emit_event("invoice.paid", {"amount": 5}, tenant=tenant)
    workflow = broken.workflow
    workflow.draft_rule_spec = {}
    workflow.draft_graph = GOOD_GRAPH
    workflow.save()
    from automate.workflows.services import publish_version

    fixed = publish_version(workflow=workflow)
    emit_event("invoice.paid", {"amount": 6}, tenant=tenant)
    assert ExecutionRun.objects.filter(workflow_version=fixed).count() == 1
    user = make_studio_user()
    tenant.members.add(user)
    client.force_login(user)
    assert "badge-broken" not in client.get("/studio/").content.decode()
