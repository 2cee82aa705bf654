"""The expression editor and run data in the node panel (issue 13, "Expressions and data"),
in Chromium, on a workflow of its own beside the demo (the demo's events are its samples).

What a user does: clicks a variable to insert it; types `{{ ev` and picks a suggestion
with the keyboard; reads the live preview and a syntax error under the field; tests a
step and sees its input and output in the panel, then its output among the next step's
variables; follows the editor's link to this workflow's runs.
"""

from __future__ import annotations

import json
import re

import pytest

from e2e.conftest import screenshot

pytestmark = pytest.mark.e2e

SLUG = "expression-editor-e2e"
WORKFLOW = {
    "slug": SLUG,
    "name": "Expression editor (e2e)",
    "trigger_spec": {"event_type": "invoice.paid", "source": "stripe"},
    "rule_spec": {"==": [1, 1]},
    "graph": {
        "nodes": [
            {
                "id": "trigger",
                "type": "trigger",
                "label": "Stripe: invoice.paid",
                "position": {"x": 40, "y": 120},
            },
            {
                "id": "totals",
                "type": "transform",
                "label": "Totals",
                "position": {"x": 320, "y": 120},
                "inputs": {"cents": "{{ event.payload.data.object.amount_paid }}"},
            },
            {
                "id": "note",
                "type": "action",
                "label": "Write a note",
                "position": {"x": 600, "y": 120},
                "connector": "log",
                "action": "write",
                "inputs": {"message": "", "level": "info"},
            },
        ],
        "edges": [
            {"source": "trigger", "target": "totals"},
            {"source": "totals", "target": "note"},
        ],
    },
}


@pytest.fixture
def workflow_id(live_site, tmp_path) -> int:  # type: ignore[no-untyped-def]
    found = live_site.query("SELECT id FROM automate_workflow WHERE slug = ?", (SLUG,))
    if not found:
        path = tmp_path / "workflow.json"
        path.write_text(json.dumps(WORKFLOW))
        live_site.manage("automate_import", "--file", str(path))
        found = live_site.query("SELECT id FROM automate_workflow WHERE slug = ?", (SLUG,))
    return int(found[0][0])  # type: ignore[call-overload]


def log_in(page, live_site) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_site.url}/studio/login/")
    page.fill("input[name=username]", live_site.username)
    page.fill("input[name=password]", live_site.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_site.url}/studio/")


def open_node(page, node_id: str) -> None:  # type: ignore[no-untyped-def]
    page.locator(f'#canvas g.x6-node[data-cell-id="{node_id}"]').click()
    page.wait_for_selector(
        f'#node-panel[data-node-id="{node_id}"] #node-settings[data-autosave="on"]'
    )


def test_variables_autocomplete_and_live_preview(live_site, page, workflow_id):
    log_in(page, live_site)
    page.goto(f"{live_site.url}/studio/workflows/{workflow_id}/")
    page.wait_for_function("window.__editorReady !== undefined", timeout=15000)
    runs = page.locator("#wf-runs")
    assert runs.get_attribute("href") == f"/studio/runs/?workflow={workflow_id}"

    open_node(page, "note")
    field = page.locator("#id-input-message")
    field.fill("Paid ")
    field.press("End")
    page.locator('#node-variables [data-insert="event.payload.data.object.id"]').click()
    assert field.input_value() == "Paid {{ event.payload.data.object.id }}"
    preview = page.locator('.pn-expr-preview[data-preview-for="input.message"]')
    preview.locator(".pn-expr-value").wait_for()
    assert re.fullmatch(r"Paid in_demo_\d{4}", preview.locator(".pn-expr-value").inner_text())
    screenshot(page, "expressions-variable-inserted")

    field.press("End")
    field.type(" by {{ ev")
    suggestions = page.locator(".pn-ac:not([hidden]) li")
    suggestions.first.wait_for()
    assert suggestions.first.inner_text().startswith("event.")
    screenshot(page, "expressions-autocomplete")
    field.press("ArrowDown")
    field.press("ArrowUp")
    chosen = suggestions.first.locator("code").inner_text()
    field.press("Enter")
    assert field.input_value() == (
        "Paid {{ event.payload.data.object.id }} by {{ " + chosen + " }}"
    )
    assert page.locator(".pn-ac:not([hidden])").count() == 0
    page.wait_for_function(
        "document.querySelector('[data-preview-for=\"input.message\"] .pn-expr-value')"
        "?.textContent.includes(' by ')"
    )

    field.fill("Hello {{ event.id ")
    error = preview.locator(".pn-expr-error")
    error.wait_for()
    assert "Template syntax error" in error.inner_text()
    assert "is-error" in (preview.get_attribute("class") or "")
    screenshot(page, "expressions-syntax-error")

    # Escape closes the suggestions without touching the text.
    field.fill("{{ exec")
    suggestions.first.wait_for()
    field.press("Escape")
    assert page.locator(".pn-ac:not([hidden])").count() == 0
    assert field.input_value() == "{{ exec"
    field.fill("")


def test_a_tested_step_shows_its_input_and_output(live_site, page, workflow_id):
    log_in(page, live_site)
    page.goto(f"{live_site.url}/studio/workflows/{workflow_id}/")
    page.wait_for_function("window.__editorReady !== undefined", timeout=15000)
    open_node(page, "totals")
    run_data = page.locator("#node-run-data")
    page.click("#btn-test-step")
    test = run_data.locator('[data-run-data="test"]')
    test.wait_for()
    assert "Last test" in test.inner_text()
    assert "amount_paid" not in test.locator('[data-part="output"]').inner_text()
    assert '"cents"' in test.locator('[data-part="output"]').inner_text()
    assert '"cents"' in test.locator('[data-part="input"]').inner_text()
    run_data.scroll_into_view_if_needed()
    screenshot(page, "expressions-run-data-after-test")

    # The tested output is now a variable (and preview data) of the next step.
    open_node(page, "note")
    chip = page.locator('#node-variables [data-insert="steps.totals.output.cents"]')
    chip.wait_for()
    field = page.locator("#id-input-message")
    field.fill("")
    field.focus()
    chip.click()
    value = page.locator('[data-preview-for="input.message"] .pn-expr-value')
    value.wait_for()
    assert re.fullmatch(r"\d+", value.inner_text())
    screenshot(page, "expressions-step-output-preview")
    page.locator("#node-variables").scroll_into_view_if_needed()
    screenshot(page, "expressions-variables")
    field.fill("")


def test_a_real_run_shows_in_the_panel_with_a_link_to_it(live_site, page):
    """The demo's sample invoices ran through the demo workflow when the site started."""
    ((demo_id,),) = live_site.query(
        "SELECT id FROM automate_workflow WHERE slug = ?", ("invoice-paid-to-slack",)
    )
    for _ in range(100):  # the site's worker threads run the demo's events as it starts
        if live_site.query(
            "SELECT 1 FROM automate_steprun WHERE node_id = 'record_customer' LIMIT 1"
        ):
            break
        page.wait_for_timeout(200)
    log_in(page, live_site)
    page.goto(f"{live_site.url}/studio/workflows/{demo_id}/")
    page.wait_for_function("window.__editorReady !== undefined", timeout=15000)
    open_node(page, "record_customer")
    last_run = page.locator('#node-run-data [data-run-data="run"]')
    last_run.wait_for()
    assert "Last run" in last_run.inner_text()
    assert "stripe_id" in last_run.locator('[data-part="input"]').inner_text()
    last_run.scroll_into_view_if_needed()
    screenshot(page, "expressions-run-data-real-run")
    href = last_run.locator("[data-run-link]").get_attribute("href") or ""
    assert re.fullmatch(r"/studio/runs/[0-9a-f-]{36}/", href)
    last_run.locator("[data-run-link]").click()
    page.wait_for_url(f"{live_site.url}{href}")
    page.go_back()
    page.wait_for_function("window.__editorReady !== undefined", timeout=15000)
    page.click("#btn-more")  # Runs sits in the top bar's "More" menu
    page.click("#wf-runs")
    page.wait_for_url(re.compile(rf".*/studio/runs/\?workflow={demo_id}$"))
