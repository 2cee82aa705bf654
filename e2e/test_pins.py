"""Pin data in the editor (issue 13), in Chromium, on a workflow of its own beside the demo.

What a user does: opens the trigger's panel, pastes a sample event payload and pins it;
sees the pin marker on the trigger's card and in its panel; opens a later step and sees
the live preview render the pinned payload, saying it used pinned data; types invalid JSON
and is told so before anything is sent; unpins.
"""

from __future__ import annotations

import json

import pytest

from e2e.conftest import screenshot
from e2e.test_expressions import log_in, open_node

pytestmark = pytest.mark.e2e

SLUG = "pin-data-e2e"
WORKFLOW = {
    "slug": SLUG,
    "name": "Pin data (e2e)",
    "trigger_spec": {"event_type": "invoice.paid", "source": "stripe"},
    "rule_spec": {},
    "graph": {
        "nodes": [
            {
                "id": "trigger",
                "type": "trigger",
                "label": "Invoice paid",
                "position": {"x": 40, "y": 120},
            },
            {
                "id": "note",
                "type": "action",
                "label": "Write a note",
                "position": {"x": 340, "y": 120},
                "connector": "log",
                "action": "write",
                "inputs": {"message": "", "level": "info"},
            },
        ],
        "edges": [{"source": "trigger", "target": "note"}],
    },
}
PINNED = {"data": {"object": {"id": "in_pinned_0042", "amount_paid": 4200}}}


@pytest.fixture
def workflow_id(live_site, tmp_path) -> int:  # type: ignore[no-untyped-def]
    found = live_site.query("SELECT id FROM automate_workflow WHERE slug = ?", (SLUG,))
    if not found:
        path = tmp_path / "workflow.json"
        path.write_text(json.dumps(WORKFLOW))
        live_site.manage("automate_import", "--file", str(path))
        found = live_site.query("SELECT id FROM automate_workflow WHERE slug = ?", (SLUG,))
    return int(found[0][0])  # type: ignore[call-overload]


def test_pin_an_event_see_the_marker_and_the_preview_use_it(live_site, page, workflow_id):
    log_in(page, live_site)
    page.goto(f"{live_site.url}/studio/workflows/{workflow_id}/")
    page.wait_for_function("window.__editorReady !== undefined", timeout=15000)
    # The card's marker is an X6 tool, drawn above the card.
    marker = page.locator(
        '#canvas [data-cell-id="trigger"][data-tools-name="pin"] [data-pin-marker]'
    )
    assert marker.count() == 0

    open_node(page, "trigger")
    section = page.locator("#node-pin")
    section.wait_for()
    assert "publishing and exporting never include it" in section.inner_text()
    textarea = section.locator("textarea[data-pin-json]")

    # Invalid JSON is caught before anything is sent.
    textarea.fill('{"data": ')
    page.click("#btn-pin-json")
    error = page.locator("#node-pin-error")
    error.wait_for(state="visible")
    assert "Not valid JSON" in error.inner_text()
    assert live_site.query(
        "SELECT COUNT(*) FROM automate_pinneddata p JOIN automate_workflow w"
        " ON p.workflow_id = w.id WHERE w.slug = ?",
        (SLUG,),
    ) == [(0,)]

    textarea.fill(json.dumps(PINNED, indent=2))
    page.click("#btn-pin-json")
    page.locator('#node-panel[data-node-id="trigger"] .pn-title [data-pin-marker]').wait_for()
    marker.wait_for()
    assert page.locator("#node-pin").get_attribute("data-pinned") == "true"
    assert "Typed or edited JSON" in page.locator("#node-pin .pn-pin-meta").inner_text()
    stored = live_site.query(
        "SELECT p.data FROM automate_pinneddata p JOIN automate_workflow w"
        " ON p.workflow_id = w.id WHERE w.slug = ? AND p.node_id = 'trigger'",
        (SLUG,),
    )
    assert json.loads(str(stored[0][0])) == PINNED
    page.locator("#node-pin").scroll_into_view_if_needed()
    screenshot(page, "pins-trigger-panel")
    page.locator("#node-panel .pn-head").scroll_into_view_if_needed()
    screenshot(page, "pins-trigger-panel-head")

    # A later step's live preview renders the pinned payload, and says so.
    open_node(page, "note")
    field = page.locator("#id-input-message")
    field.fill("Paid {{ event.payload.data.object.id }}")
    preview = page.locator('.pn-expr-preview[data-preview-for="input.message"]')
    preview.locator(".pn-expr-value").wait_for()
    page.wait_for_function(
        "document.querySelector('[data-preview-for=\"input.message\"] .pn-expr-value')"
        "?.textContent === 'Paid in_pinned_0042'"
    )
    source = preview.locator(".pn-expr-source")
    assert "pinned data" in source.inner_text()
    assert source.get_attribute("data-source") == "pinned"
    # The variables list offers the pinned payload's keys.
    assert (
        page.locator(
            '#node-variables [data-insert="event.payload.data.object.amount_paid"]'
        ).count()
        == 1
    )
    # "Test this step" starts from the pinned event.
    assert page.locator('#step-test select[name="event_id"]').input_value() == "pinned"
    screenshot(page, "pins-preview-uses-pinned-data")
    page.click("#btn-test-step")
    used = page.locator("#step-test-output [data-test-sources]")
    used.wait_for()
    assert "pinned data" in used.inner_text()
    assert "in_pinned_0042" in page.locator("#step-test-output").inner_text()
    used.scroll_into_view_if_needed()
    screenshot(page, "pins-test-step-uses-pinned-data")

    # Unpin: the marker goes, on the card and in the panel.
    open_node(page, "trigger")
    page.click("#btn-unpin")
    page.wait_for_function("document.querySelector('#node-pin')?.dataset.pinned === 'false'")
    marker.wait_for(state="detached")
    assert page.locator("#node-panel .pn-title [data-pin-marker]").count() == 0
