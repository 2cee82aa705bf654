"""What the node panel and the rule share in saving themselves (editor/autosave_base.js),
in Chromium on the demo: what the other autosave e2e files do not show.

What a user does: types while the server cannot be reached (the save is retried by
itself and lands); types something the server refuses, is asked before leaving, and
discards the change (the panel shows what is saved again).
"""

from __future__ import annotations

import json
import re

import pytest

from e2e.conftest import screenshot
from e2e.test_autosave_unload import STAY
from e2e.test_panel_autosave import (
    log_in,
    open_editor,
    open_node,
    save_state,
    stored_node,
    wait_for_value,
)
from e2e.test_rule_autosave import open_rules, rule_of, wait_for_rule

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_draft_restored")]

UNREACHED = "the server could not be reached; trying again"


class Failing:
    """POSTs to `pattern` fail while `failing` (`how`: "abort", a network error, or an HTTP
    status); `posts` counts them. Once `failing` is False they reach the server."""

    def __init__(self, page, pattern, how: object) -> None:  # type: ignore[no-untyped-def]
        self.how = how
        self.failing = True
        self.posts = 0
        page.route(pattern, self.handle)

    def handle(self, route) -> None:  # type: ignore[no-untyped-def]
        if route.request.method != "POST":
            route.continue_()
            return
        self.posts += 1
        if not self.failing:
            route.continue_()
        elif self.how == "abort":
            route.abort("connectionrefused")
        else:
            route.fulfill(status=int(str(self.how)), body="Bad gateway")


def test_a_panel_save_that_does_not_reach_the_server_is_retried(live_site, page):
    log_in(page, live_site)
    open_editor(page, live_site)
    open_node(page, "notify_slack")
    server = Failing(page, re.compile(r".*/nodes/notify_slack/panel/$"), "abort")
    page.fill("#id-input-channel", "#retried")
    page.wait_for_function("document.querySelector('#panel-save-state').dataset.state === 'error'")
    assert save_state(page) == f"Not saved: {UNREACHED}"
    page.locator("#panel-save-state").scroll_into_view_if_needed()
    screenshot(page, "autosave-parts-1-panel-retrying")
    # While the server stays away the save is tried again after a pause, not at once.
    page.wait_for_timeout(2000)
    assert server.posts == 1
    for _ in range(60):  # the next try, about three seconds after the first
        if server.posts >= 2:
            break
        page.wait_for_timeout(100)
    page.wait_for_function("document.querySelector('#panel-save-state').dataset.state === 'error'")
    assert 2 <= server.posts <= 3
    # The server is back: nothing to do for the user, the next try lands.
    server.failing = False
    page.wait_for_function(
        "document.querySelector('#panel-save-state').dataset.state === 'saved'", timeout=10000
    )
    wait_for_value(live_site, "notify_slack", lambda n: n["inputs"]["channel"], "#retried", page)
    assert page.locator("#stale-banner").is_hidden()


def test_a_rule_save_the_server_fails_is_retried(live_site, page):
    log_in(page, live_site)
    open_editor(page, live_site)
    open_rules(page)
    server = Failing(page, re.compile(r".*/rules/save/$"), 502)
    page.fill("#rule-spec", json.dumps(rule_of(4500)))
    page.wait_for_selector("#rule-save-result[data-state='error']")
    assert page.inner_text("#rule-save-result") == f"Not saved: {UNREACHED}"
    assert server.posts == 1
    server.failing = False
    page.wait_for_selector("#rule-save-result[data-state='saved']", timeout=10000)
    assert "Saved to the draft" in page.inner_text("#rule-save-result")
    wait_for_rule(live_site, rule_of(4500), page)
    assert page.locator("#stale-banner").is_hidden()


def test_refused_panel_input_asks_before_leaving_and_discard_shows_the_saved_step(live_site, page):
    log_in(page, live_site)
    open_editor(page, live_site)
    open_node(page, "record_customer")
    before = stored_node(live_site, "record_customer")
    assert page.evaluate(STAY) is False
    page.fill("#id-input-lookup", '{"stripe_id": ')
    page.wait_for_function(
        "document.querySelector('#panel-save-state').dataset.state === 'refused'"
    )
    assert page.locator("#btn-discard-node").is_visible()
    # Leaving would lose the refused text: the browser asks; none of it was sent.
    assert page.evaluate(STAY) is True
    assert stored_node(live_site, "record_customer") == before

    # The Save button sends it again (through the autosave): still refused, still asked.
    with page.expect_response(
        lambda r: r.request.method == "POST" and "/nodes/record_customer/panel/" in r.url
    ) as answered:
        page.click("#btn-save-node")
    assert answered.value.status == 400
    page.wait_for_function(
        "document.querySelector('#panel-save-state').dataset.state === 'refused'"
    )
    assert "not valid JSON" in save_state(page)
    assert page.evaluate(STAY) is True

    # Discarded: the panel shows the step as saved, and leaving asks nothing.
    page.click("#btn-discard-node")
    page.wait_for_function(
        "document.querySelector('#id-input-lookup')?.value !== '{\"stripe_id\": '"
        " && document.querySelector('#panel-save-state').dataset.state === 'saved'"
    )
    assert json.loads(page.input_value("#id-input-lookup")) == before["inputs"]["lookup"]
    assert page.locator("#btn-discard-node").is_hidden()
    assert page.evaluate(STAY) is False
    assert stored_node(live_site, "record_customer") == before
