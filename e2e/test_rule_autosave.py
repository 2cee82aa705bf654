"""The rule saves itself (issue 13, item 3, the Rules tab), in Chromium on the demo.

What a user does: types a rule and goes to another tab, another node, or reloads; types an
invalid rule and tries to leave. What the server stored is read from the site's database.
"""

from __future__ import annotations

import json

import pytest

from e2e.conftest import screenshot
from e2e.test_panel_autosave import SLUG, log_in, open_editor

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_draft_restored")]


def stored_rule(live_site) -> object:  # type: ignore[no-untyped-def]
    ((rule,),) = live_site.query(
        "SELECT draft_rule_spec FROM automate_workflow WHERE slug = ?", (SLUG,)
    )
    return json.loads(str(rule))


def wait_for_rule(live_site, expected, page) -> None:  # type: ignore[no-untyped-def]
    for _ in range(50):
        if stored_rule(live_site) == expected:
            return
        page.wait_for_timeout(100)
    assert stored_rule(live_site) == expected


def open_rules(page) -> None:  # type: ignore[no-untyped-def]
    page.click("#tab-rules")
    page.wait_for_selector("#rules-panel #rule-spec[data-autosave-url]")


def rule_of(amount: int) -> dict:
    return {">": [{"var": "data.object.amount_paid"}, amount]}


def test_a_typed_rule_is_saved_when_another_tab_or_node_opens(live_site, page):
    log_in(page, live_site)
    open_editor(page, live_site)
    open_rules(page)
    # Typed, and the History tab at once (before the typing pause saves it).
    page.fill("#rule-spec", json.dumps(rule_of(2000)))
    page.click("#tab-history")
    page.wait_for_selector("#tab-history.active")
    page.wait_for_function("!document.querySelector('#rules-panel')")
    wait_for_rule(live_site, rule_of(2000), page)

    # Typed, then a node on the canvas.
    open_rules(page)
    assert json.loads(page.input_value("#rule-spec")) == rule_of(2000)
    page.fill("#rule-spec", json.dumps(rule_of(3000)))
    page.locator('#canvas g.x6-node[data-cell-id="notify_slack"]').click()
    page.wait_for_selector('#node-panel[data-node-id="notify_slack"]')
    wait_for_rule(live_site, rule_of(3000), page)

    # Typed, waited: the tab says it is saved; the canvas saves on top without a conflict.
    open_rules(page)
    page.fill("#rule-spec", json.dumps(rule_of(4000)))
    page.wait_for_selector("#rule-save-result[data-state='saved']")
    assert "Saved to the draft" in page.inner_text("#rule-save-result")
    wait_for_rule(live_site, rule_of(4000), page)
    screenshot(page, "rule-autosave-1-saved")
    page.fill("#wf-name", "Invoice paid → Slack (renamed)")
    page.wait_for_function("document.querySelector('#save-state').dataset.state === 'saved'")
    assert page.locator("#stale-banner").is_hidden()
    assert stored_rule(live_site) == rule_of(4000)  # the canvas save kept the rule

    # After a reload the tab shows what was saved.
    page.reload()
    page.wait_for_function("window.__editorReady !== undefined", timeout=15000)
    open_rules(page)
    assert json.loads(page.input_value("#rule-spec")) == rule_of(4000)


def test_a_rule_typed_just_before_a_reload_is_saved(live_site, page):
    log_in(page, live_site)
    open_editor(page, live_site)
    open_rules(page)
    page.fill("#rule-spec", json.dumps(rule_of(5000)))
    page.reload()  # at once: the keepalive save on unload
    page.wait_for_function("window.__editorReady !== undefined", timeout=15000)
    wait_for_rule(live_site, rule_of(5000), page)
    open_rules(page)
    assert json.loads(page.input_value("#rule-spec")) == rule_of(5000)


def test_an_invalid_rule_is_not_saved_and_stays_with_its_error(live_site, page):
    log_in(page, live_site)
    open_editor(page, live_site)
    open_rules(page)
    before = stored_rule(live_site)
    for text, reason in (
        ('{">": [{"var": "data.object.amount_paid"}, 1000', "not valid JSON"),
        ('{"and": [true, {"nope": 1}]}', "not valid JSONLogic"),
    ):
        page.fill("#rule-spec", text)
        page.wait_for_selector("#rule-save-result[data-state='refused']")
        assert reason in page.inner_text("#rule-save-result")
        assert "Not saved" in page.inner_text("#rule-save-result")
        page.wait_for_selector("#rule-validation .pn-error")
        assert stored_rule(live_site) == before

    # Leaving is held: the tab stays, with the text and its error.
    page.click("#tab-history")
    page.wait_for_selector("#tab-rules.active")
    assert page.locator("#rules-panel").count() == 1
    assert page.input_value("#rule-spec") == '{"and": [true, {"nope": 1}]}'
    assert page.locator("#btn-discard-rule").is_visible()
    page.locator("#rules-panel").scroll_into_view_if_needed()
    screenshot(page, "rule-autosave-2-invalid-held")
    page.locator('#canvas g.x6-node[data-cell-id="notify_slack"]').click()
    page.wait_for_timeout(500)
    assert page.input_value("#rule-spec") == '{"and": [true, {"nope": 1}]}'
    assert stored_rule(live_site) == before

    # Fixed: saved, and leaving goes ahead.
    page.fill("#rule-spec", json.dumps(rule_of(6000)))
    page.wait_for_selector("#rule-save-result[data-state='saved']")
    wait_for_rule(live_site, rule_of(6000), page)
    page.click("#tab-history")
    page.wait_for_function("!document.querySelector('#rules-panel')")

    # Invalid again, then discarded: the tab shows the saved rule.
    open_rules(page)
    page.fill("#rule-spec", "{oops")
    page.wait_for_selector("#rule-save-result[data-state='refused']")
    page.click("#btn-discard-rule")
    page.wait_for_function(
        "document.querySelector('#rule-spec')?.value.includes('6000')"
        " && document.querySelector('#rule-save-result').dataset.state === 'clean'"
    )
    assert stored_rule(live_site) == rule_of(6000)


def leaving_asks(page) -> bool:  # type: ignore[no-untyped-def]
    """Whether the page would make the browser ask before unloading now."""
    return page.evaluate(
        "(() => { const e = new Event('beforeunload', {cancelable: true});"
        " window.dispatchEvent(e); return e.defaultPrevented; })()"
    )


def test_leaving_asks_first_for_a_refused_rule_and_an_unasked_prompt(live_site, page):
    log_in(page, live_site)
    open_editor(page, live_site)
    assert not leaving_asks(page)
    open_rules(page)
    page.fill("#rule-spec", "{oops")
    page.wait_for_selector("#rule-save-result[data-state='refused']")
    assert leaving_asks(page)
    page.click("#btn-discard-rule")
    page.wait_for_function("document.querySelector('#rule-save-result')?.dataset.state === 'clean'")
    assert not leaving_asks(page)

    page.click("#tab-copilot")
    page.fill("#copilot-prompt", "When an invoice is paid, email finance@example.com")
    assert leaving_asks(page)
    page.fill("#copilot-prompt", "")
    assert not leaving_asks(page)


def test_a_rule_changed_in_another_tab_is_a_conflict_not_an_overwrite(live_site, page):
    log_in(page, live_site)
    open_editor(page, live_site)
    open_rules(page)
    other = page.context.new_page()
    open_editor(other, live_site)
    open_rules(other)

    page.fill("#rule-spec", json.dumps(rule_of(7000)))
    page.wait_for_selector("#rule-save-result[data-state='saved']")
    other.fill("#rule-spec", json.dumps(rule_of(8000)))
    other.wait_for_selector("#rule-save-result[data-state='stale']")
    assert "someone else changed this workflow" in other.inner_text("#rule-save-result")
    assert other.locator("#stale-banner").is_visible()
    assert json.loads(other.input_value("#rule-spec")) == rule_of(8000)  # kept to copy
    assert stored_rule(live_site) == rule_of(7000)
    screenshot(other, "rule-autosave-3-conflict")
    # Reload shows the rule as the other tab saved it.
    other.click("#reload-draft")
    other.wait_for_function("document.querySelector('#rule-spec')?.value.includes('7000')")
    other.close()
