"""Icons are SVG from the Lucide sprite everywhere in the studio, never emoji.

Chromium here has no emoji font, like many Linux desktops: emoji would be drawn as empty
boxes. Each icon's <use> must point into the sprite at a symbol that exists and draw
something; the text of node cards, the palette, the toolbar and the explorer must hold
no pictograph.
"""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest

from e2e.conftest import screenshot

pytestmark = pytest.mark.e2e

#: The demo's workflow (backend/automate/demo/invoice_paid_to_slack.json): trigger, Slack, CRM.
DEMO_SLUG = "invoice-paid-to-slack"

PICTOGRAPHS = re.compile(
    "[\u2300-\u23ff\u25a0-\u25ff\u2600-\u27bf\u2900-\u297f\u2b00-\u2bff\U0001f000-\U0001faff\ufe0f]"
)

# For every <use> under `root`: its href, whether the sprite has that symbol, its size.
ICONS_UNDER = """(root) => {
  const uses = [...document.querySelectorAll(root + " use")];
  return uses.map((use) => {
    const href = use.getAttribute("href") || use.getAttribute("xlink:href") || "";
    const box = use.getBoundingClientRect();
    return { href, width: box.width, height: box.height };
  });
}"""

SPRITE_SYMBOLS = """async () => {
  const url = document.body.dataset.iconSprite;
  const text = await (await fetch(url)).text();
  return [...text.matchAll(/<symbol id="([a-z0-9-]+)"/g)].map((m) => m[1]);
}"""


def log_in(page, live_site) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_site.url}/studio/login/")
    page.fill("input[name=username]", live_site.username)
    page.fill("input[name=password]", live_site.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_site.url}/studio/")


def assert_svg_icons(page, root: str, symbols: set[str], at_least: int) -> list[str]:  # type: ignore[no-untyped-def]
    icons = page.evaluate(ICONS_UNDER, root)
    assert len(icons) >= at_least, f"{root}: {len(icons)} icons, expected {at_least}+"
    names = []
    for found in icons:
        sprite, _, name = found["href"].partition("#")
        assert sprite.endswith("/vendor/lucide/sprite.svg"), found
        assert name in symbols, f"{root}: the sprite has no icon {name!r}"
        assert min(found["width"], found["height"]) > 4, f"{root}: {name} is not drawn"
        names.append(name)
    return names


def assert_no_pictographs(page, selector: str) -> None:  # type: ignore[no-untyped-def]
    # textContent: SVG elements (the canvas cards) have no innerText.
    texts = page.evaluate(
        "(s) => [...document.querySelectorAll(s)].map((e) => e.textContent || '')", selector
    )
    assert texts, f"nothing matches {selector}"
    shown = [t for t in texts if PICTOGRAPHS.search(t)]
    assert shown == [], f"{selector} shows emoji/pictographs: {shown}"


def test_editor_palette_and_explorer_draw_svg_icons_not_emoji(live_site, page):
    log_in(page, live_site)
    symbols = set(page.evaluate(SPRITE_SYMBOLS))
    assert {"zap", "plug", "message-square", "database"} <= symbols
    assert assert_svg_icons(page, ".brand-mark", symbols, 1) == ["zap"]

    # The editor: node cards, palette, toolbar.
    # The demo's workflow (the dashboard's first row may be another test's workflow).
    ((demo_id,),) = live_site.query("SELECT id FROM automate_workflow WHERE slug = ?", (DEMO_SLUG,))
    page.goto(f"{live_site.url}/studio/workflows/{demo_id}/")
    page.wait_for_function("window.__editorReady !== undefined", timeout=15000)
    page.wait_for_selector("#canvas g.x6-node use")
    nodes = page.locator("#canvas g.x6-node").count()
    card_icons = assert_svg_icons(page, "#canvas g.x6-node", symbols, nodes)
    assert "zap" in card_icons  # the trigger
    assert {"message-square", "database"} <= set(card_icons)  # Slack and the CRM model
    assert_no_pictographs(page, "#canvas g.x6-node")
    palette_icons = assert_svg_icons(page, "#palette-list .ed-item-icon", symbols, 10)
    assert {"split", "timer", "globe", "mail"} <= set(palette_icons)
    assert_no_pictographs(page, "#palette-list .ed-item")
    assert_svg_icons(page, ".ed-tools", symbols, 5)
    assert_no_pictographs(page, ".ed-tools button")
    for label in ("Undo (Ctrl+Z)", "Zoom in (+)", "Keyboard shortcuts (?)"):
        assert page.locator(f".ed-tools button[aria-label='{label}']").count() == 1
    screenshot(page, "icons-editor")
    page.locator("#palette-list .ed-item").last.scroll_into_view_if_needed()
    screenshot(page, "icons-palette")

    # The rule tester: "Valid rule" and the explain tree's marks are icons too.
    page.click("#tab-rules")
    rule = page.locator("#rule-spec")
    rule.fill(rule.input_value() + " ")
    rule.press("End")
    page.wait_for_selector("#rule-validation .pn-valid svg")
    assert assert_svg_icons(page, "#rule-validation", symbols, 1) == ["circle-check"]
    page.fill("#rule-payload", json.dumps({"data": {"object": {"amount_paid": 5000}}}))
    page.click("#btn-test-rule")
    page.wait_for_selector("#rule-explain .ex-tree")
    explain_icons = assert_svg_icons(page, "#rule-explain", symbols, 2)
    assert explain_icons[0] == "circle-check"
    assert "check" in explain_icons
    assert_no_pictographs(page, "#rules-panel")
    page.locator("#rule-explain").scroll_into_view_if_needed()
    screenshot(page, "icons-rule-tester")

    # The explorer: a run of the demo workflow (its sample events start runs).
    # (Found in the database: the newest run of the site may be another test's workflow.)
    sql = (
        "SELECT r.id FROM automate_executionrun r"
        " JOIN automate_workflowversion v ON r.workflow_version_id = v.id"
        " JOIN automate_workflow w ON v.workflow_id = w.id"
        " WHERE w.slug = ? ORDER BY r.created_at LIMIT 1"
    )
    deadline = time.monotonic() + 20
    while not (found := live_site.query(sql, (DEMO_SLUG,))) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert found, "the demo's sample events started no run"
    run_id = uuid.UUID(hex=str(found[0][0]).replace("-", ""))
    page.goto(f"{live_site.url}/studio/runs/{run_id}/")
    page.wait_for_selector("#run-canvas g.x6-node use")
    run_icons = assert_svg_icons(page, "#run-canvas g.x6-node", symbols, 3)
    assert "zap" in run_icons
    assert "message-square" in run_icons
    assert_no_pictographs(page, "#run-canvas g.x6-node")
    page.click('#run-canvas [data-cell-id="trigger"]')
    page.wait_for_selector("#step-panel .node-icon svg")
    assert assert_svg_icons(page, "#step-panel .node-icon", symbols, 1) == ["zap"]
    assert_no_pictographs(page, "#step-panel h2")
    screenshot(page, "icons-explorer")
