"""The llm step's panel offers the provider input (automate.providers) in the studio."""

from __future__ import annotations

import re

import pytest

from e2e.conftest import screenshot
from e2e.test_editor import drag_from_palette, log_in, node_box, wait_ready

pytestmark = pytest.mark.e2e


def test_the_llm_steps_panel_has_a_provider_field(live_site, page):
    log_in(page, live_site)
    page.goto(f"{live_site.url}/studio/wizard/")
    page.fill("input[name=name]", "Provider field e2e")
    page.fill("input[name=event_type]", "note.added")
    page.click("#new-workflow button[type=submit]")
    page.wait_for_url(re.compile(r".*/studio/workflows/\d+/$"))
    wait_ready(page)
    trigger = node_box(page, "trigger")
    drag_from_palette(page, "Chat completion", (trigger["x"] + 420, trigger["y"] + 30))
    page.wait_for_function(
        "window.__editor.graph.getNodes().some(n => n.getData().raw.connector === 'llm')"
    )
    node_id = page.evaluate(
        "window.__editor.graph.getNodes().find(n => n.getData().raw.connector === 'llm').id"
    )
    box = node_box(page, node_id)
    page.mouse.click(box["x"] + 100, box["y"] + 30)
    field = page.locator("#panel-body .pn-field-string", has_text="Provider")
    field.wait_for()
    assert field.locator("input[type=text]").count() == 1
    assert "AUTOMATE_PROVIDERS" in field.inner_text()
    field.scroll_into_view_if_needed()
    screenshot(page, "llm-provider-field")
