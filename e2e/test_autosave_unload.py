"""Leaving the editor while a save is under way (issue: autosave on unload), in Chromium.

What a user does: types in a node panel or the rule, and leaves the page (a reload, a link)
while the previous save is still on its way, or while the canvas has changes of its own;
the browser asks "Leave site?" and the user stays. Nothing typed may be lost silently and
the user's own saves must never come back as "someone else changed this workflow".

A save "under way" is held by a Playwright route until the test lets it go; "the user
stays" is a beforeunload event without the pagehide that a real departure would bring.
"""

from __future__ import annotations

import json

import pytest

from e2e.conftest import screenshot
from e2e.test_panel_autosave import log_in, open_editor, open_node, stored_node, wait_for_value
from e2e.test_rule_autosave import open_rules, rule_of, wait_for_rule

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_draft_restored")]

LABEL = "#node-settings input[name=label]"

#: Dispatches beforeunload as the browser does before leaving; true when the page asked
#: the browser to warn. The user then clicks "Stay": no pagehide follows.
STAY = (
    "(() => { const e = new Event('beforeunload', {cancelable: true});"
    " window.dispatchEvent(e); return e.defaultPrevented; })()"
)


class HeldSaves:
    """POSTs to `url` are held until `release()`; `posts` counts every one sent."""

    def __init__(self, page, url: str) -> None:  # type: ignore[no-untyped-def]
        self.url = url
        self.held: list = []
        self.posts = 0
        self.holding = True
        page.route(lambda u: u.endswith(url), self.handle)
        self.page = page

    def handle(self, route) -> None:  # type: ignore[no-untyped-def]
        if route.request.method != "POST":
            route.continue_()
            return
        self.posts += 1
        if self.holding:
            self.held.append(route)
        else:
            route.continue_()

    def wait_for_posts(self, count: int) -> None:
        for _ in range(100):
            if self.posts >= count:
                return
            self.page.wait_for_timeout(50)
        assert self.posts >= count

    def release(self) -> None:
        self.holding = False
        held, self.held = self.held, []
        for route in held:
            route.continue_()


def canvas_saves_cleanly(page) -> None:  # type: ignore[no-untyped-def]
    """The canvas saves on top of what the panel saved, without a conflict."""
    page.evaluate("window.__editor.autosaver.schedule()")
    page.evaluate("window.__editor.autosaver.flush()")
    page.wait_for_function("window.__editor.autosaver.state === 'saved'")
    assert page.locator("#stale-banner").is_hidden()


def test_staying_while_a_panel_save_is_under_way_keeps_the_last_edit(live_site, page):
    log_in(page, live_site)
    open_editor(page, live_site)
    open_node(page, "record_customer")
    saves = HeldSaves(page, page.get_attribute("#node-settings", "data-autosave-url"))
    page.fill(LABEL, "Record the customer (first)")
    saves.wait_for_posts(1)  # the debounced save is on its way, not answered yet
    page.fill(LABEL, "Record the customer (last)")

    # Leaving now: the browser asks, and no save goes out with a revision that is stale.
    assert page.evaluate(STAY) is True
    page.wait_for_timeout(300)
    assert saves.posts == 1

    # The user stayed: the save under way is answered, then the last edit is saved.
    saves.release()
    wait_for_value(
        live_site, "record_customer", lambda n: n.get("label"), "Record the customer (last)", page
    )
    page.wait_for_function("document.querySelector('#panel-save-state').dataset.state === 'saved'")
    assert page.locator("#stale-banner").is_hidden()
    canvas_saves_cleanly(page)
    assert stored_node(live_site, "record_customer")["label"] == "Record the customer (last)"
    screenshot(page, "autosave-unload-1-stayed")


def test_staying_with_canvas_changes_unsaved_is_no_conflict_with_oneself(live_site, page):
    log_in(page, live_site)
    open_editor(page, live_site)
    open_node(page, "record_customer")
    saves = HeldSaves(page, page.get_attribute("#node-settings", "data-autosave-url"))
    saves.holding = False
    # The canvas has a change not saved yet, the panel a typed edit; then leaving.
    asked = page.evaluate(
        """(() => {
          const input = document.querySelector('#node-settings input[name=label]');
          input.value = 'Record the customer (canvas busy)';
          input.dispatchEvent(new Event('input', {bubbles: true}));
          window.__editor.autosaver.schedule();
          const e = new Event('beforeunload', {cancelable: true});
          window.dispatchEvent(e);
          return e.defaultPrevented;
        })()"""
    )
    assert asked is True
    assert saves.posts == 0  # no keepalive behind the canvas's back

    # The user stayed: both saves go through in turn, with no "someone else changed it".
    wait_for_value(
        live_site,
        "record_customer",
        lambda n: n.get("label"),
        "Record the customer (canvas busy)",
        page,
    )
    page.wait_for_function("window.__editor.autosaver.state === 'saved'")
    page.wait_for_timeout(300)
    assert page.locator("#stale-banner").is_hidden()
    canvas_saves_cleanly(page)


def test_leaving_with_nothing_under_way_sends_the_edit_without_asking(live_site, page):
    log_in(page, live_site)
    open_editor(page, live_site)
    open_node(page, "record_customer")
    page.fill(LABEL, "Record the customer (keepalive)")
    # Nothing in flight: no prompt, and the keepalive save goes out as the page goes.
    assert page.evaluate(STAY) is False
    page.reload()
    page.wait_for_function("window.__editorReady !== undefined", timeout=15000)
    wait_for_value(
        live_site,
        "record_customer",
        lambda n: n.get("label"),
        "Record the customer (keepalive)",
        page,
    )


def test_staying_while_a_rule_save_is_under_way_keeps_the_last_rule(live_site, page):
    log_in(page, live_site)
    open_editor(page, live_site)
    open_rules(page)
    saves = HeldSaves(page, page.get_attribute("#rule-spec", "data-autosave-url"))
    page.fill("#rule-spec", json.dumps(rule_of(7000)))
    saves.wait_for_posts(1)
    page.fill("#rule-spec", json.dumps(rule_of(8000)))

    assert page.evaluate(STAY) is True
    page.wait_for_timeout(300)
    assert saves.posts == 1

    saves.release()
    wait_for_rule(live_site, rule_of(8000), page)
    page.wait_for_selector("#rule-save-result[data-state='saved']")
    assert page.locator("#stale-banner").is_hidden()
    canvas_saves_cleanly(page)
    screenshot(page, "autosave-unload-2-rule-stayed")


def test_staying_with_canvas_changes_unsaved_keeps_the_rule_without_conflict(live_site, page):
    log_in(page, live_site)
    open_editor(page, live_site)
    open_rules(page)
    saves = HeldSaves(page, page.get_attribute("#rule-spec", "data-autosave-url"))
    saves.holding = False
    asked = page.evaluate(
        """((text) => {
          const field = document.querySelector('#rule-spec');
          field.value = text;
          field.dispatchEvent(new Event('input', {bubbles: true}));
          window.__editor.autosaver.schedule();
          const e = new Event('beforeunload', {cancelable: true});
          window.dispatchEvent(e);
          return e.defaultPrevented;
        })"""
        + f"({json.dumps(json.dumps(rule_of(9000)))})"
    )
    assert asked is True
    assert saves.posts == 0
    wait_for_rule(live_site, rule_of(9000), page)
    page.wait_for_function("window.__editor.autosaver.state === 'saved'")
    page.wait_for_timeout(300)
    assert page.locator("#stale-banner").is_hidden()
    canvas_saves_cleanly(page)
