"""The rule tester: validate as you type, explain on a payload, backtest, save."""

import html
import json
import re

import pytest
from django.test import Client

from automate.events.services import record_event
from automate.workflows.models import Workflow
from tests.factories import make_studio_user, make_tenant, make_workflow

pytestmark = pytest.mark.django_db

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


def invoice(amount, *, tenant="acme", type="invoice.paid", source="stripe"):
    event, _ = record_event(
        type=type,
        source=source,
        payload={"data": {"object": {"amount_paid": amount}}},
        tenant=tenant,
        enqueue=False,
    )
    return event


def post(client, workflow, what, data):
    response = client.post(
        f"/studio/workflows/{workflow.pk}/rules/{what}/", data, HTTP_HX_REQUEST="true"
    )
    response.content = html.unescape(response.content.decode()).encode()
    return response


def test_the_rules_tab_shows_the_rule_and_recent_events(client, workflow):
    event = invoice(2500)
    invoice(10, type="invoice.created")  # another type: not offered
    page = client.get(
        f"/studio/workflows/{workflow.pk}/rules/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "data.object.amount_paid" in page
    assert str(event.pk) in page
    assert page.count('<option value="') == 2  # "use the pasted payload" + one event
    assert 'hx-trigger="input changed delay:400ms"' in page  # typing and pasting


def test_validate_as_you_type(client, workflow):
    assert (
        "Valid rule"
        in post(client, workflow, "validate", {"rule_spec": json.dumps(RULE)}).content.decode()
    )
    page = post(
        client, workflow, "validate", {"rule_spec": '{"and": [true, {"contains": [1, 2]}]}'}
    ).content.decode()
    assert "/and/1" in page
    assert 'unknown operator "contains"' in page
    page = post(client, workflow, "validate", {"rule_spec": "{oops"}).content.decode()
    assert "not valid JSON" in page
    assert "line 1" in page


def hidden(page, name):
    return re.search(rf'name="{name}" value="([0-9a-f]+)"', page).group(1)


def test_checking_changed_text_clears_the_results_about_the_old_text(client, workflow):
    # "Not saved: invalid JSON" stayed next to "Valid rule" (issue 13): each result says
    # which text it is about, and the check of another text clears it, out of band.
    bad, good = "{oops", json.dumps(RULE)
    saved = post(client, workflow, "save", {"rule_spec": bad}).content.decode()
    assert "Not saved" in saved
    tested = post(client, workflow, "test", {"rule_spec": bad, "payload": "{}"}).content.decode()
    backtested = post(client, workflow, "backtest", {"rule_spec": bad}).content.decode()
    shown = {
        "saved_rule": hidden(saved, "saved_rule"),
        "tested_rule": hidden(tested, "tested_rule"),
        "backtested_rule": hidden(backtested, "backtested_rule"),
    }
    page = post(client, workflow, "validate", {"rule_spec": good, **shown}).content.decode()
    assert "Valid rule" in page
    for target in ("rule-save-result", "rule-result", "backtest-result"):
        assert re.search(rf'<div id="{target}"[^>]*hx-swap-oob="true"></div>', page), target

    # A result about the text as it is stays (the check of a just-saved text came later).
    saved = post(client, workflow, "save", {"rule_spec": good}).content.decode()
    assert "Saved to the draft" in saved
    same = {"saved_rule": hidden(saved, "saved_rule")}
    page = post(client, workflow, "validate", {"rule_spec": good, **same}).content.decode()
    assert "hx-swap-oob" not in page
    tab = client.get(f"/studio/workflows/{workflow.pk}/rules/", HTTP_HX_REQUEST="true")
    assert "hx-swap-oob" not in tab.content.decode()


def test_explain_tree_on_a_pasted_payload(client, workflow):
    rule = {"and": [{">": [{"var": "amount"}, 1000]}, {"==": [{"var": "currency"}, "usd"]}]}
    response = post(
        client,
        workflow,
        "test",
        {"rule_spec": json.dumps(rule), "payload": '{"amount": 500, "currency": "usd"}'},
    )
    page = response.content.decode()
    assert "No match" in page
    assert 'class="ex-node ex-failed" data-path="/and/0"' in page
    assert 'class="ex-node ex-skipped" data-path="/and/1"' in page
    page = post(
        client,
        workflow,
        "test",
        {"rule_spec": json.dumps(rule), "payload": '{"amount": 5000, "currency": "usd"}'},
    ).content.decode()
    assert "Matches" in page
    assert 'class="ex-node ex-passed" data-path=""' in page


def test_explain_on_a_real_event(client, workflow):
    event = invoice(2500)
    page = post(
        client, workflow, "test", {"rule_spec": json.dumps(RULE), "event_id": str(event.pk)}
    ).content.decode()
    assert "Matches" in page
    assert "2500" in page
    other = invoice(3000, tenant=make_tenant("other"))
    page = post(
        client, workflow, "test", {"rule_spec": json.dumps(RULE), "event_id": str(other.pk)}
    ).content.decode()
    assert "does not exist" in page


def test_bad_rule_or_payload_is_a_clear_error(client, workflow):
    page = post(
        client, workflow, "test", {"rule_spec": '{"nope": []}', "payload": "{}"}
    ).content.decode()
    assert "not valid JSONLogic" in page
    page = post(client, workflow, "test", {"rule_spec": "{}", "payload": "[1,"}).content.decode()
    assert "The test payload is not valid JSON" in page


def test_backtest_counts_matches_over_known_events(client, workflow):
    for amount in [2500, 400, 125000, 999, 1800]:
        invoice(amount)
    invoice(99999, source="paypal")  # another source: the trigger ignores it
    invoice(99999, tenant=make_tenant("other"))  # another tenant
    page = post(
        client, workflow, "backtest", {"rule_spec": json.dumps(RULE), "limit": "500"}
    ).content.decode()
    assert "3 of 5" in page
    assert "60.0%" in page
    assert page.count("/admin/automate/event/") == 5
    page = post(
        client, workflow, "backtest", {"rule_spec": json.dumps(RULE), "limit": "2"}
    ).content.decode()
    assert "of 2<" in page


def test_backtest_limits_and_errors(client, workflow):
    for limit in ["0", "5001", "many"]:
        page = post(
            client, workflow, "backtest", {"rule_spec": "{}", "limit": limit}
        ).content.decode()
        assert "from 1 to 5000" in page
    page = post(client, workflow, "backtest", {"rule_spec": '{"x": 1}'}).content.decode()
    assert "not valid JSONLogic" in page
    page = post(client, workflow, "backtest", {"rule_spec": "{}"}).content.decode()
    assert "No <code>invoice.paid</code> events yet" in page


def test_save_stores_a_valid_rule_only(client, workflow):
    new_rule = {"<": [{"var": "amount"}, 5]}
    response = post(client, workflow, "save", {"rule_spec": json.dumps(new_rule)})
    workflow.refresh_from_db()
    assert workflow.draft_rule_spec == new_rule
    assert json.loads(response["HX-Trigger"]) == {
        "automate:draft-changed": {"revision": workflow.draft_revision}
    }
    for bad in ['{"nope": 1}', "{bad json"]:
        response = post(client, workflow, "save", {"rule_spec": bad})
        assert "Not saved" in response.content.decode()
        assert "HX-Trigger" not in response
    after = Workflow.objects.get(pk=workflow.pk)
    assert after.draft_rule_spec == new_rule
    assert after.draft_revision == workflow.draft_revision


def test_an_empty_rule_saves_as_match_all(client, workflow):
    post(client, workflow, "save", {"rule_spec": ""})
    workflow.refresh_from_db()
    assert workflow.draft_rule_spec == {}


def test_rules_are_tenant_scoped_and_need_csrf(client, workflow):
    other = make_workflow(slug="theirs", tenant=make_tenant("other"))
    assert client.get(f"/studio/workflows/{other.pk}/rules/").status_code == 404
    assert post(client, other, "save", {"rule_spec": "{}"}).status_code == 404
    assert post(client, other, "backtest", {"rule_spec": "{}"}).status_code == 404
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(make_studio_user("bob"))
    assert (
        strict.post(f"/studio/workflows/{workflow.pk}/rules/save/", {"rule_spec": "{}"}).status_code
        == 403
    )
    assert Client().get(f"/studio/workflows/{workflow.pk}/rules/").status_code == 302
    assert client.get(f"/studio/workflows/{workflow.pk}/rules/save/").status_code == 405
