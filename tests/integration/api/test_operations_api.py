"""Runs, dead letters, rules, the connector catalog, secrets, audit, triggers, the
copilot and tokens over the API."""

from __future__ import annotations

import json

import pytest

from automate.api.models import ApiToken
from automate.events.models import Event
from automate.execution.models import ExecutionRun, OutboxJob
from automate.execution.services import start_run
from automate.governance.models import AuditLogEntry, StoredSecret
from automate.workflows.models import Workflow
from tests.integration.api.helpers import TokenClient, assert_error, token_client

pytestmark = pytest.mark.django_db


# --- runs and dead letters --------------------------------------------------------------


def test_runs_list_filters_and_detail(sides):
    a, _ = sides
    client = a.client
    rows = client.get("/api/v1/runs/").json()["results"]
    assert [r["id"] for r in rows] == [str(a.run.pk)]
    assert rows[0]["workflow_slug"] == "acme-flow"
    assert client.get("/api/v1/runs/", {"status": "succeeded"}).json()["results"] == []
    assert client.get("/api/v1/runs/", {"workflow": a.workflow.pk}).json()["results"]
    assert client.get("/api/v1/runs/", {"trace_id": a.run.trace_id}).json()["results"]
    assert_error(client.get("/api/v1/runs/", {"status": "bogus"}), 400, "invalid_request")
    assert_error(client.get("/api/v1/runs/", {"since": "yesterday"}), 400, "invalid_request")
    assert_error(client.get("/api/v1/runs/", {"workflow": "x"}), 400, "invalid_request")
    detail = client.get(f"/api/v1/runs/{a.run.pk}/").json()
    assert detail["steps"] == [] or isinstance(detail["steps"], list)
    assert detail["version"] == 1


def test_runs_page_stably_while_runs_start(sides):
    a, _ = sides
    for n in range(4):
        event = Event.objects.create(tenant=a.tenant, type="invoice.paid", payload={"n": n})
        start_run(event=event, version=a.version)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = a.client.get("/api/v1/runs/", params).json()
        seen += [row["id"] for row in page["results"]]
        late = Event.objects.create(tenant=a.tenant, type="invoice.paid", payload={})
        start_run(event=late, version=a.version)
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 5


def test_cancel_rerun_retry_and_replay(sides):
    a, _ = sides
    client = a.client
    url = f"/api/v1/runs/{a.run.pk}/"
    cancelled = client.post(f"{url}cancel/")
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["status"] == "cancelled"
    assert_error(client.post(f"{url}cancel/"), 409)
    # The live version already ran this event: one run per (event, version).
    assert_error(client.post(f"{url}rerun/"), 409)
    assert_error(client.post(f"{url}steps/shape/retry/"), 409)
    assert_error(client.post(f"{url}resume/", {}), 400, "invalid_request")
    replayed = client.post(f"/api/v1/dead-letters/{a.dead.pk}/replay/")
    assert replayed.status_code == 200, replayed.content
    assert OutboxJob.objects.get(pk=a.dead.pk).status == OutboxJob.Status.PENDING
    assert client.get("/api/v1/dead-letters/").json()["results"] == []


def test_operating_runs_needs_write_scope_and_permission(sides):
    a, _ = sides
    reader = token_client(a.tenant, scopes=["read"])
    assert_error(reader.post(f"/api/v1/runs/{a.run.pk}/cancel/"), 403)
    no_perm = token_client(a.tenant, perms=[])
    assert_error(no_perm.post(f"/api/v1/dead-letters/{a.dead.pk}/replay/"), 403)
    assert ExecutionRun.objects.get(pk=a.run.pk).status != "cancelled"


def test_dead_letters_list(sides):
    a, _ = sides
    rows = a.client.get("/api/v1/dead-letters/").json()["results"]
    assert [r["id"] for r in rows] == [a.dead.pk]
    assert rows[0]["last_error"] == "boom"


# --- rules ------------------------------------------------------------------------------


def test_rule_test_explains_and_backtest_counts(sides):
    a, _ = sides
    base = f"/api/v1/workflows/{a.workflow.pk}/rules/"
    rule = {">": [{"var": "amount"}, 100]}
    hit = a.client.post(f"{base}test/", {"rule_spec": rule, "payload": {"amount": 500}}).json()
    assert hit["matched"] is True
    assert hit["tree"]["passed"] is True
    miss = a.client.post(f"{base}test/", {"rule_spec": rule, "payload": {"amount": 5}}).json()
    assert miss["matched"] is False
    by_event = a.client.post(f"{base}test/", {"rule_spec": rule, "event": str(a.event.pk)})
    assert by_event.json()["matched"] is False
    assert_error(a.client.post(f"{base}test/", {"rule_spec": {"bogus_op": [1]}}), 400)
    for n in (50, 500):
        Event.objects.create(tenant=a.tenant, type="invoice.paid", payload={"amount": n})
    result = a.client.post(f"{base}backtest/", {"rule_spec": rule, "limit": 10}).json()
    assert (result["total"], result["matched"]) == (3, 1)
    assert_error(a.client.post(f"{base}backtest/", {"limit": 0}), 400, "invalid_request")
    # Testing only reads: a read token may.
    reader = token_client(a.tenant, scopes=["read"])
    assert reader.post(f"{base}test/", {"payload": {}}).status_code == 200


# --- catalog, secrets, audit, triggers --------------------------------------------------


def test_connector_catalog(sides):
    a, _ = sides
    connectors = a.client.get("/api/v1/connectors/").json()
    codes = [c["code"] for c in connectors]
    assert "http" in codes
    http = a.client.get("/api/v1/connectors/http/").json()
    assert http["actions"]
    assert "input_schema" in http["actions"][0]
    assert_error(a.client.get("/api/v1/connectors/nope/"), 404)


def test_secrets_show_names_only_and_take_values_write_only(sides):
    a, _ = sides
    listed = a.client.get("/api/v1/secrets/")
    assert [s["name"] for s in listed.json()["results"]] == ["ACME_KEY"]
    assert "s3cr3t" not in listed.content.decode()
    created = a.client.post("/api/v1/secrets/", {"name": "NEW_ONE", "value": "v-123456789"})
    assert created.status_code == 201, created.content
    assert "v-123456789" not in created.content.decode()
    assert_error(a.client.post("/api/v1/secrets/", {"name": "NEW_ONE", "value": "x"}), 409)
    rotated = a.client.post("/api/v1/secrets/NEW_ONE/rotate/", {"value": "v-987654321"})
    assert rotated.status_code == 200
    assert rotated.json()["rotated_at"]
    assert "v-987654321" not in rotated.content.decode()
    entries = AuditLogEntry.objects.filter(action__startswith="secret.")
    assert "v-987654321" not in json.dumps(list(entries.values("details")))
    writer = token_client(a.tenant, scopes=["read", "write"])
    assert_error(writer.get("/api/v1/secrets/"), 403)
    assert StoredSecret.objects.filter(tenant=a.tenant).count() == 2


def test_audit_log_pages_and_filters(sides):
    a, _ = sides
    page = a.client.get("/api/v1/audit/", {"action": "test.entry"}).json()
    assert [e["id"] for e in page["results"]] == [a.entry.pk]
    assert page["next_cursor"] is None
    first = a.client.get("/api/v1/audit/", {"limit": 1}).json()
    assert len(first["results"]) == 1
    assert first["next_cursor"]
    reader = token_client(a.tenant, scopes=["read"], perms=[])
    assert_error(reader.get("/api/v1/audit/"), 403)


def test_webhook_endpoints_and_schedules(sides):
    a, _ = sides
    hooks = a.client.get("/api/v1/webhook-endpoints/").json()["results"]
    assert hooks[0]["path"] == "/hooks/acme-hook/"
    schedules = a.client.get("/api/v1/schedules/").json()["results"]
    assert [s["workflow_slug"] for s in schedules] == ["acme-nightly"]
    assert schedules[0]["cron"] == "0 3 * * *"
    assert len(schedules[0]["next"]) == 5


# --- copilot ----------------------------------------------------------------------------


def test_the_copilot_proposes_and_changes_nothing(sides):
    a, _ = sides
    before = Workflow.objects.get(pk=a.workflow.pk).draft_revision
    new = a.client.post("/api/v1/copilot/drafts/", {"prompt": "When an invoice is paid, log it"})
    assert new.status_code == 200, new.content
    assert "definition" in new.json()
    edit = a.client.post(
        f"/api/v1/workflows/{a.workflow.pk}/copilot/", {"prompt": "add a log step"}
    )
    assert edit.status_code == 200, edit.content
    assert Workflow.objects.get(pk=a.workflow.pk).draft_revision == before
    assert_error(a.client.post("/api/v1/copilot/drafts/", {"prompt": ""}), 400)


# --- tokens -----------------------------------------------------------------------------


def test_tokens_are_created_once_listed_without_secrets_and_revoked(sides):
    a, _ = sides
    created = a.client.post("/api/v1/tokens/", {"name": "CI", "scopes": ["read"]})
    assert created.status_code == 201, created.content
    text = created.json()["token"]
    listed = a.client.get("/api/v1/tokens/").content.decode()
    assert text not in listed
    assert text.rsplit("_", 1)[1] not in listed
    new_client = TokenClient(text)
    assert new_client.get("/api/v1/events/").status_code == 200
    assert a.client.delete(f"/api/v1/tokens/{created.json()['id']}/").status_code == 204
    assert_error(new_client.get("/api/v1/events/"), 401)
    assert ApiToken.objects.get(pk=created.json()["id"]).revoked_at is not None


def test_a_token_cannot_mint_more_scopes_than_it_has(sides):
    a, _ = sides
    limited = token_client(a.tenant, scopes=["read", "admin"], user=a.client.user)
    refused = limited.post("/api/v1/tokens/", {"name": "x", "scopes": ["write"]})
    assert_error(refused, 403)
    assert_error(a.client.post("/api/v1/tokens/", {"name": "x", "scopes": ["root"]}), 400)


def test_secrets_cannot_be_written_without_the_db_backend(sides, settings):
    a, _ = sides
    settings.DJANGO_AUTOMATE = {**settings.DJANGO_AUTOMATE, "SECRETS": {"backend": "env"}}
    body = assert_error(
        a.client.post("/api/v1/secrets/", {"name": "X_KEY", "value": "v-123456789"}), 409
    )
    assert body["code"] == "secrets_backend_read_only"
    assert not StoredSecret.objects.filter(name="X_KEY").exists()
