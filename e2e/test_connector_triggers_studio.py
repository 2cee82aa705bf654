"""Connector triggers in the studio: the webhook trigger lists every connector's trigger
as a scheme, and pins the chosen trigger's sample payload as the trigger's sample."""

from __future__ import annotations

import json

import pytest

from e2e.conftest import LiveSite, screenshot
from e2e.test_triggers_studio import log_in, new_workflow_with_trigger, open_trigger_panel

pytestmark = pytest.mark.e2e


def test_a_slack_trigger_and_its_sample_payload(live_site: LiveSite, page) -> None:  # type: ignore[no-untyped-def]
    log_in(page, live_site)
    new_workflow_with_trigger(page, live_site, "Slack mentions", "When a webhook arrives")
    open_trigger_panel(page)
    page.wait_for_selector(
        "#webhook-settings select[name=scheme] option[value=slack]", state="attached"
    )
    options = page.locator("#webhook-settings select[name=scheme] option").evaluate_all(
        "(os) => os.map((o) => o.value)"
    )
    assert {"generic", "stripe", "github", "slack"} <= set(options)
    page.fill("#webhook-settings input[name=slug]", "slack-mentions")
    page.select_option("#webhook-settings select[name=scheme]", "slack")
    page.click("#btn-save-node")
    page.wait_for_selector("#webhook-url")  # saved: the endpoint exists
    # The panel shows what was saved when it opens again.
    page.reload()
    page.wait_for_function("window.__editorReady !== undefined", timeout=15000)
    open_trigger_panel(page)
    page.wait_for_selector("#webhook-scheme-note[data-scheme=slack]")
    assert "slack.*" in page.locator("#webhook-scheme-note").inner_text()
    page.locator("#webhook-settings").scroll_into_view_if_needed()
    screenshot(page, "connector-triggers-00-scheme-note")
    page.wait_for_selector("#btn-pin-sample")
    page.locator("#node-pin").scroll_into_view_if_needed()
    screenshot(page, "connector-triggers-01-slack-scheme")

    page.click("#btn-pin-sample")
    page.wait_for_selector('#node-pin[data-pinned="true"]', timeout=10000)
    pinned = json.loads(page.locator("#node-pin textarea[name=data]").input_value())
    assert pinned["type"] == "event_callback"
    assert pinned["event"]["type"] == "app_mention"
    page.locator("#node-pin").scroll_into_view_if_needed()
    screenshot(page, "connector-triggers-02-sample-pinned")
