"""Node panels save themselves (issue 13, item 3) and the rule tester shows no stale status
(item 11), in Chromium on the demo workflow.

What a user does: types in a panel and clicks another node, or reloads; types something
invalid; edits the same step in two tabs; in the rule tester, saves invalid JSON and then
fixes it. What the server stored is read from the site's database.
"""

from __future__ import annotations

import json
import re

import pytest

from e2e.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_draft_restored")]

SLUG = "invoice-paid-to-slack"


def log_in(page, live_site) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_site.url}/studio/login/")
    page.fill("input[name=username]", live_site.username)
    page.fill("input[name=password]", live_site.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_site.url}/studio/")


def workflow_id(live_site) -> int:  # type: ignore[no-untyped-def]
    ((found,),) = live_site.query("SELECT id FROM automate_workflow WHERE slug = ?", (SLUG,))
    return int(found)  # type: ignore[call-overload]


def open_editor(page, live_site) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_site.url}/studio/workflows/{workflow_id(live_site)}/")
    page.wait_for_function("window.__editorReady !== undefined", timeout=15000)


def stored_node(live_site, node_id: str) -> dict:  # type: ignore[no-untyped-def]
    ((graph,),) = live_site.query(
        "SELECT draft_graph FROM automate_workflow WHERE slug = ?", (SLUG,)
    )
    return next(n for n in json.loads(str(graph))["nodes"] if n["id"] == node_id)


def open_node(page, node_id: str) -> None:  # type: ignore[no-untyped-def]
    page.locator(f'#canvas g.x6-node[data-cell-id="{node_id}"]').click()
    page.wait_for_selector(
        f'#node-panel[data-node-id="{node_id}"] #node-settings[data-autosave="on"]'
    )


def save_state(page) -> str:  # type: ignore[no-untyped-def]
    return page.inner_text("#panel-save-state")


def wait_for_value(live_site, node_id: str, read, expected, page) -> None:  # type: ignore[no-untyped-def]
    for _ in range(50):
        if read(stored_node(live_site, node_id)) == expected:
            return
        page.wait_for_timeout(100)
    assert read(stored_node(live_site, node_id)) == expected


def test_typing_then_clicking_another_node_saves_the_edit(live_site, page):
    log_in(page, live_site)
    open_editor(page, live_site)
    open_node(page, "notify_slack")
    assert save_state(page).strip() == "Saved"

    # Hold the save on its way, to see the panel say so.
    held = []
    pattern = re.compile(r".*/nodes/notify_slack/panel/$")
    page.route(
        pattern,
        lambda route: held.append(route) if route.request.method == "POST" else route.continue_(),
    )
    page.fill("#id-input-channel", "#finance")
    page.wait_for_function("document.querySelector('#panel-save-state').dataset.state === 'saving'")
    assert save_state(page) == "Saving…"
    page.locator("#id-input-channel").scroll_into_view_if_needed()
    screenshot(page, "panel-autosave-1-saving")
    held[0].continue_()
    page.unroute(pattern)
    page.wait_for_function("document.querySelector('#panel-save-state').dataset.state === 'saved'")
    assert stored_node(live_site, "notify_slack")["inputs"]["channel"] == "#finance"
    screenshot(page, "panel-autosave-2-saved")

    # A step test shown before a change is marked as made with the earlier settings.
    page.fill("#step-test textarea[name=payload]", "{")  # refused before anything runs
    page.check("#step-test input[name=confirm_side_effects]")
    page.click("#btn-test-step")
    page.wait_for_selector("#step-test-output")
    assert page.locator("#step-test-output .pn-stale-note").count() == 0
    page.fill("#id-input-channel", "#finance-ops")
    page.wait_for_selector("#step-test-output.pn-result-stale .pn-stale-note")

    # Type and click another node at once: the edit is saved before the panel changes.
    page.fill("#id-input-channel", "#finance-team")
    open_node(page, "record_customer")
    assert stored_node(live_site, "notify_slack")["inputs"]["channel"] == "#finance-team"
    assert page.locator("#stale-banner").is_hidden()

    # The canvas took the change too: its next save does not put the old value back.
    page.reload()
    page.wait_for_function("window.__editorReady !== undefined", timeout=15000)
    open_node(page, "notify_slack")
    assert page.input_value("#id-input-channel") == "#finance-team"
    page.evaluate("window.__editor.autosaver.schedule()")
    page.evaluate("window.__editor.autosaver.flush()")
    page.wait_for_function("window.__editor.autosaver.state === 'saved'")
    assert stored_node(live_site, "notify_slack")["inputs"]["channel"] == "#finance-team"


def test_typing_then_reloading_keeps_the_edit(live_site, page):
    log_in(page, live_site)
    open_editor(page, live_site)
    open_node(page, "record_customer")
    page.on("dialog", lambda dialog: dialog.accept())
    page.fill("#node-settings input[name=label]", "Record the customer (CRM)")
    page.reload()  # before the debounced save: the unload sends it
    page.wait_for_function("window.__editorReady !== undefined", timeout=15000)
    wait_for_value(
        live_site, "record_customer", lambda n: n.get("label"), "Record the customer (CRM)", page
    )
    open_node(page, "record_customer")
    assert page.input_value("#node-settings input[name=label]") == "Record the customer (CRM)"


def test_invalid_input_shows_its_error_keeps_the_text_and_saves_nothing(live_site, page):
    log_in(page, live_site)
    open_editor(page, live_site)
    open_node(page, "record_customer")
    before = stored_node(live_site, "record_customer")
    lookup = page.locator("#id-input-lookup")
    lookup.fill('{"stripe_id": ')
    page.wait_for_function(
        "document.querySelector('#panel-save-state').dataset.state === 'refused'"
    )
    assert save_state(page).startswith("Not saved:")
    assert "not valid JSON" in save_state(page)
    error = page.locator('[data-msgs-for="input.lookup"] .pn-error')
    assert "not valid JSON" in error.inner_text()
    assert "pn-invalid" in (lookup.get_attribute("class") or "")
    assert lookup.input_value() == '{"stripe_id": '
    assert stored_node(live_site, "record_customer") == before
    lookup.scroll_into_view_if_needed()
    screenshot(page, "panel-autosave-3-refused")

    # Clicking another node does not throw the typed text away: the panel stays.
    page.locator('#canvas g.x6-node[data-cell-id="notify_slack"]').click()
    page.wait_for_selector(".toast-error")
    assert page.locator('#node-panel[data-node-id="record_customer"]').count() == 1
    assert lookup.input_value() == '{"stripe_id": '

    # Fixing it saves it, and the error goes.
    lookup.fill('{"stripe_id": "{{ event.payload.data.object.customer }}", "plan": "pro"}')
    page.wait_for_function("document.querySelector('#panel-save-state').dataset.state === 'saved'")
    assert error.count() == 0
    assert "pn-invalid" not in (lookup.get_attribute("class") or "")
    assert stored_node(live_site, "record_customer")["inputs"]["lookup"]["plan"] == "pro"
    open_node(page, "notify_slack")


def test_two_tabs_editing_the_same_step_conflict_instead_of_overwriting(live_site, page):
    log_in(page, live_site)
    other = page.context.new_page()
    open_editor(page, live_site)
    open_editor(other, live_site)
    open_node(page, "notify_slack")
    open_node(other, "notify_slack")
    page.fill("#id-input-channel", "#tab-one")
    page.wait_for_function("document.querySelector('#panel-save-state').dataset.state === 'saved'")
    other.fill("#id-input-channel", "#tab-two")
    other.wait_for_function("document.querySelector('#panel-save-state').dataset.state === 'stale'")
    assert "someone else changed this workflow" in other.inner_text("#panel-save-state")
    assert other.locator("#stale-banner").is_visible()
    assert other.input_value("#id-input-channel") == "#tab-two"  # still there to copy
    assert stored_node(live_site, "notify_slack")["inputs"]["channel"] == "#tab-one"
    screenshot(other, "panel-autosave-4-conflict")
    # Reload takes the other tab's change, in the canvas and in the panel.
    other.click("#reload-draft")
    other.wait_for_function("document.querySelector('#id-input-channel')?.value === '#tab-one'")
    other.close()


def test_rule_tester_shows_no_stale_status(live_site, page):
    log_in(page, live_site)
    open_editor(page, live_site)
    page.click("#tab-rules")
    page.wait_for_selector("#rules-panel")
    rule = page.locator("#rule-spec")
    original = rule.input_value()
    rule.fill('{">": [{"var": "data.object.amount_paid"}, 1000')
    page.wait_for_selector("#rule-validation .pn-error")
    page.click("#btn-save-rule")
    page.wait_for_selector("#rule-save-result .pn-error")
    assert "Not saved" in page.inner_text("#rule-save-result")
    page.click("#btn-test-rule")
    page.wait_for_selector("#rule-explain .alert-error")
    page.locator("#rule-validation").scroll_into_view_if_needed()
    screenshot(page, "rule-tester-invalid")

    rule.fill(original)
    page.wait_for_selector("#rule-validation .pn-valid")
    # The fixed text is saved by itself (rule_autosave.js): "Not saved" went with the old text.
    page.wait_for_selector("#rule-save-result[data-state='saved']")
    assert page.locator("#rule-explain").count() == 0  # the test of the old text went too
    statuses = page.locator("#rules-panel .pn-error, #rules-panel .alert-error")
    assert statuses.count() == 0
    assert page.inner_text("#rule-validation").strip() == "Valid rule"
    screenshot(page, "rule-tester-no-stale-status")

    # A save of this text stays shown: the check that follows is about the same text.
    page.click("#btn-save-rule")
    page.wait_for_selector("#rule-save-result .pn-valid")
    page.wait_for_timeout(800)
    assert "Saved to the draft" in page.inner_text("#rule-save-result")

    # A changed payload is tested again by itself.
    page.fill("#rule-payload", json.dumps({"data": {"object": {"amount_paid": 5000}}}))
    page.wait_for_selector("#rule-explain .pn-verdict-yes")
    page.fill("#rule-payload", json.dumps({"data": {"object": {"amount_paid": 5}}}))
    page.wait_for_selector("#rule-explain .pn-verdict-no")
