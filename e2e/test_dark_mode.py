"""Dark mode follows the system setting on every studio screen (pages, the editor's canvas and
minimap, the run graph, the charts), also when the setting changes while a page is open; and
every screen is usable at 1024x768 in both themes: no sideways page scroll, the main
controls in view, the editor's canvas not covered by its panels."""

from __future__ import annotations

import re
import time
import uuid

import pytest

from e2e.conftest import DEMO_SLUG, screenshot

pytestmark = pytest.mark.e2e

# The luminance (0 dark to 1 light) of a computed CSS colour or SVG fill.
LUMINANCE = """(value) => {
  const probe = document.createElement("span");
  probe.style.color = value;
  document.body.append(probe);
  const rgb = getComputedStyle(probe).color.match(/[\\d.]+/g).slice(0, 3).map(Number);
  probe.remove();
  const [r, g, b] = rgb.map((c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}"""
PAGE_COLOURS = f"""() => {{
  const luminance = {LUMINANCE};
  const body = getComputedStyle(document.body);
  const card = document.querySelector(".card, .table, .ed-side");
  return {{
    background: luminance(body.backgroundColor),
    text: luminance(body.color),
    card: card ? luminance(getComputedStyle(card).backgroundColor) : null,
    scheme: getComputedStyle(document.documentElement).colorScheme,
  }};
}}"""
CARD_COLOURS = f"""(selector) => {{
  const luminance = {LUMINANCE};
  const node = document.querySelector(selector);
  const rect = node.querySelector("rect");
  const text = node.querySelector("text");
  const background = node.closest(".x6-graph").querySelector(".x6-graph-background");
  return {{
    card: luminance(rect.getAttribute("fill")),
    label: luminance(text.getAttribute("fill")),
    canvas: luminance(getComputedStyle(background).backgroundColor),
  }};
}}"""


#: Tables and cards of a page reaching past the right edge of its content box.
SPILLED = """() => {
  const main = document.querySelector("main.page");
  if (!main) return [];
  const edge = main.getBoundingClientRect().right - parseFloat(getComputedStyle(main).paddingRight);
  return [...main.querySelectorAll(".table, .card")]
    .filter((el) => el.getBoundingClientRect().right > edge + 0.5)
    .map((el) => `${el.id || el.className}: ${Math.round(el.getBoundingClientRect().right)} > ${Math.round(edge)}`);
}"""


def log_in(page, live_site) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_site.url}/studio/login/")
    page.fill("input[name=username]", live_site.username)
    page.fill("input[name=password]", live_site.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_site.url}/studio/")


@pytest.fixture(scope="module")
def demo(live_site, browser) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The demo workflow's editor and a run of it (its sample events start runs)."""
    ((workflow_id,),) = live_site.query(
        "SELECT id FROM automate_workflow WHERE slug = ?", (DEMO_SLUG,)
    )
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
    # A long name on the dashboard, as people write them.
    page = new_page(browser, live_site, "light")
    page.goto(f"{live_site.url}/studio/wizard/")
    page.fill("input[name=name]", "Nightly reconciliation of unpaid invoices with the CRM")
    page.click("#new-workflow button[type=submit]")
    page.wait_for_url(re.compile(r".*/studio/workflows/\d+/$"))
    page.context.close()
    return {
        "editor": f"{live_site.url}/studio/workflows/{workflow_id}/",
        "run": f"{live_site.url}/studio/runs/{run_id}/",
        "insights": f"{live_site.url}/studio/workflows/{workflow_id}/insights/",
    }


def new_page(
    browser, live_site, scheme: str, width: int = 1280, height: int = 800, locale: str = "en-US"
):  # type: ignore[no-untyped-def]
    context = browser.new_context(
        viewport={"width": width, "height": height}, color_scheme=scheme, locale=locale
    )
    page = context.new_page()
    log_in(page, live_site)
    return page


def open_editor(page, url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    page.wait_for_function("window.__editorReady !== undefined", timeout=15000)
    page.wait_for_selector('#canvas [data-cell-id="trigger"]')


def chart_text(page, chart_id: str) -> float:  # type: ignore[no-untyped-def]
    """The luminance of a chart's axis labels, as Chart.js draws them."""
    page.wait_for_function(f"window.Chart && Chart.getChart('{chart_id}')")
    return page.evaluate(
        f"""(id) => ({LUMINANCE})(Chart.getChart(id).scales.x.options.ticks.color)""", chart_id
    )


def test_the_studio_is_dark_when_the_system_is(browser, live_site, demo):  # type: ignore[no-untyped-def]
    page = new_page(browser, live_site, "dark")
    # The dashboard: a dark page, light text, dark cards, readable chart labels.
    page.wait_for_selector("#ins-runs-chart")
    colours = page.evaluate(PAGE_COLOURS)
    assert colours["background"] < 0.02, colours
    assert colours["card"] < 0.03, colours
    assert colours["text"] > 0.7, colours
    assert "dark" in colours["scheme"]
    assert chart_text(page, "ins-runs-chart") > 0.3  # light grey labels on a dark card
    screenshot(page, "dark-dashboard")

    # The editor: dark canvas, dark cards with light titles, a dark minimap.
    open_editor(page, demo["editor"])
    card = page.evaluate(CARD_COLOURS, '#canvas [data-cell-id="trigger"]')
    assert card["canvas"] < 0.02, card
    assert card["card"] < 0.03, card
    assert card["label"] > 0.7, card
    minimap = page.evaluate(
        f"({LUMINANCE})(getComputedStyle(document.querySelector('#minimap')).backgroundColor)"
    )
    assert minimap < 0.03
    ports = page.evaluate(
        f"""[...document.querySelectorAll('#canvas .x6-port-body')]
              .map((port) => ({LUMINANCE})(getComputedStyle(port).fill))"""
    )
    assert ports
    assert max(ports) < 0.03  # not white dots
    page.click('#canvas [data-cell-id="trigger"]')
    page.wait_for_selector("#panel-body .pn")
    panel = page.evaluate(
        f"""(() => {{ const l = {LUMINANCE};
              const input = document.querySelector('#panel-body input[type=text], #panel-body textarea');
              return [l(getComputedStyle(input).backgroundColor), l(getComputedStyle(input).color)]; }})()"""
    )
    assert panel[0] < 0.03, panel  # no white form fields
    assert panel[1] > 0.7, panel
    screenshot(page, "dark-editor")

    # The run page: the graph's cards and the timeline.
    page.goto(demo["run"])
    page.wait_for_selector('#run-canvas [data-cell-id="trigger"]')
    card = page.evaluate(CARD_COLOURS, '#run-canvas [data-cell-id="trigger"]')
    assert card["canvas"] < 0.03, card
    assert card["card"] < 0.03, card
    assert card["label"] > 0.7, card
    screenshot(page, "dark-run")
    page.context.close()


def test_the_studio_follows_a_switch_of_the_system_setting(browser, live_site, demo):  # type: ignore[no-untyped-def]
    page = new_page(browser, live_site, "light")
    open_editor(page, demo["editor"])
    selector = '#canvas [data-cell-id="trigger"]'
    light = page.evaluate(CARD_COLOURS, selector)
    assert light["card"] > 0.9, light
    assert light["label"] < 0.1, light
    edges = "[...document.querySelectorAll('#canvas .x6-edge path:last-of-type')].map((p) => p.getAttribute('stroke'))"
    light_edges = page.evaluate(edges)

    page.emulate_media(color_scheme="dark")  # the user switches their system to dark
    page.wait_for_function(
        f"({LUMINANCE})(document.querySelector('{selector} rect').getAttribute('fill')) < 0.03"
    )
    dark = page.evaluate(CARD_COLOURS, selector)
    assert dark["canvas"] < 0.02, dark
    assert dark["label"] > 0.7, dark
    assert page.evaluate(edges) != light_edges
    # Switching redraws colours only: nothing to save, nothing to undo.
    assert page.locator("#save-state").get_attribute("data-state") == "saved"
    assert page.locator("#btn-undo").is_disabled()

    page.goto(demo["insights"])
    page.emulate_media(color_scheme="light")
    # The chart redraws on the media change (a listener): wait for it, both ways.
    chart_text(page, "ins-runs-chart")
    page.wait_for_function(
        f"({LUMINANCE})(Chart.getChart('ins-runs-chart').scales.x.options.ticks.color) < 0.3"
    )
    page.emulate_media(color_scheme="dark")
    page.wait_for_function(
        f"({LUMINANCE})(Chart.getChart('ins-runs-chart').scales.x.options.ticks.color) > 0.3"
    )
    page.context.close()


#: Each screen and what must be in view on it at 1024x768.
SCREENS = [
    ("dashboard", "/studio/", ["a.btn-primary", "#workflows .row-actions .btn"]),
    ("wizard", "/studio/wizard/", ["#new-workflow button[type=submit]", ".tg-card"]),
    ("runs", "/studio/runs/", [".filters button[type=submit]", ".runs-table th:last-child"]),
    ("dead-letters", "/studio/runs/?view=dead", ["#dead-letters-tab"]),
    ("insights", "/studio/insights/", ["#ins-range-select", "#ins-dead-chart"]),
]


# German has the longest labels (the dashboard's buttons once pushed its table off the page).
@pytest.mark.parametrize(("scheme", "locale"), [("light", "en-US"), ("dark", "de-DE")])
def test_every_screen_is_usable_at_1024(browser, live_site, demo, scheme, locale):  # type: ignore[no-untyped-def]
    page = new_page(browser, live_site, scheme, 1024, 768, locale)

    def fits(name: str, selectors: list[str]) -> None:
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 1024, f"{name}: the page scrolls sideways ({width}px)"
        # Tables and cards stay inside the page's content box (no spill past its margin).
        spilled = page.evaluate(SPILLED)
        assert spilled == [], f"{name}: {spilled}"
        for selector in selectors:
            boxes = [element.bounding_box() for element in page.locator(selector).all()]
            assert boxes, f"{name}: {selector} is not shown"
            for box in boxes:
                assert box, f"{name}: {selector} is not shown"
                assert box["x"] >= 0, f"{name}: {selector} {box}"
                assert box["x"] + box["width"] <= 1024, f"{name}: {selector} {box}"
                assert min(box["width"], box["height"]) > 0, f"{name}: {selector} {box}"
        screenshot(page, f"{scheme}-1024-{locale}-{name}")

    for name, path, selectors in SCREENS:
        page.goto(f"{live_site.url}{path}")
        fits(name, selectors)

    # The editor: palette, canvas and side panel side by side; the canvas keeps half the width.
    open_editor(page, demo["editor"])
    page.click('#canvas [data-cell-id="trigger"]')
    page.wait_for_selector("#panel-body .pn")
    fits("editor", ["#btn-publish", "#btn-more", "#tab-copilot", "#palette-search", "#minimap"])
    canvas = page.locator(".ed-canvas-wrap").bounding_box()
    assert canvas
    assert canvas["width"] >= 500, canvas
    minimap = page.locator("#minimap").bounding_box()
    assert minimap
    assert minimap["x"] >= canvas["x"], (minimap, canvas)  # inside the canvas

    # The run page: graph, timeline (its bars have room) and the step panel, one above the other.
    page.goto(demo["run"])
    page.wait_for_selector('#run-canvas [data-cell-id="trigger"]')
    page.click('#run-canvas [data-cell-id="trigger"]')
    page.wait_for_selector("#step-panel h2")
    fits("run", ["#run-canvas", ".timeline th:last-child", "#step-panel h2"])
    bars = page.locator(".timeline .bar-col").first.bounding_box()
    assert bars
    assert bars["width"] >= 250, bars

    # The error page (a refused request) and, logged out, the login page.
    page.goto(f"{live_site.url}/studio/login/?next=%00")
    assert page.locator("main .narrow.card h1").is_visible()
    fits("error", ["main .btn"])
    page.context.clear_cookies()
    page.goto(f"{live_site.url}/studio/login/")
    fits("login", ["button[type=submit]"])
    page.context.close()
