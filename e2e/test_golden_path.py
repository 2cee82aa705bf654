"""The golden path on the demo site: a signed Stripe invoice.paid webhook, the rule
matches, Slack fails once and is retried with backoff, the customer is recorded."""

import time

import pytest

pytestmark = pytest.mark.e2e


def wait_for(fn, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = fn()
        if result:
            return result
        time.sleep(0.25)
    raise AssertionError("timed out")


def test_signed_invoice_webhook_runs_the_published_workflow(live_site):
    out = live_site.manage("automate_demo", "--send-invoice", "4321")
    assert "-> 202" in out
    event_id = out.split('"id": "')[1].split('"')[0].replace("-", "")

    run = wait_for(
        lambda: live_site.query(
            "SELECT id, status FROM automate_executionrun WHERE replace(event_id, '-', '') = ? "
            "AND status = 'succeeded'",
            (event_id,),
        )
    )
    steps = live_site.query(
        "SELECT node_id, attempt, status FROM automate_steprun WHERE run_id = ? ORDER BY node_id, attempt",
        (run[0][0],),
    )
    assert ("notify_slack", 1, "retrying") in steps, "the first Slack call failed and was retried"
    assert ("notify_slack", 2, "succeeded") in steps
    assert ("record_customer", 1, "succeeded") in steps
    posted = live_site.query("SELECT text FROM demo_crm_sandboxslackmessage")
    assert any("43.21 USD" in text for (text,) in posted)
    customers = live_site.query("SELECT last_amount_cents FROM demo_crm_customer")
    assert (4321,) in customers


def test_a_small_invoice_does_not_match_the_rule(live_site):
    before = live_site.query("SELECT count(*) FROM automate_executionrun")[0][0]
    out = live_site.manage("automate_demo", "--send-invoice", "999")
    assert "-> 202" in out
    time.sleep(2)
    assert live_site.query("SELECT count(*) FROM automate_executionrun")[0][0] == before
