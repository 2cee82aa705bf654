"""Insights in a real browser: the dashboard's charts are drawn, the range picker redraws
them, and each workflow has its own insights page."""

from __future__ import annotations

import re
from typing import Any

import pytest

from e2e.conftest import screenshot

pytestmark = pytest.mark.e2e

#: A canvas is drawn when it has a size and at least one painted pixel.
DRAWN = """(id) => {
  const canvas = document.getElementById(id);
  if (!canvas) return false;
  const box = canvas.getBoundingClientRect();
  if (box.width < 50 || box.height < 50) return false;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) return true;
  return false;
}"""


def login(site: Any, page: Any) -> None:
    page.goto(f"{site.url}/studio/login/")
    page.fill("input[name=username]", site.username)
    page.fill("input[name=password]", site.password)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(re.compile(r".*/studio/$"))


def assert_charts_drawn(page: Any, range_key: str) -> None:
    page.wait_for_selector(f'#insights[data-drawn="{range_key}"]', timeout=15_000)
    for canvas in ("ins-runs-chart", "ins-dead-chart"):
        assert page.evaluate(DRAWN, canvas), f"{canvas} is not drawn ({range_key})"


def test_dashboard_charts_are_drawn_and_the_range_redraws_them(live_site, page):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(live_site, page)
    assert_charts_drawn(page, "7d")
    assert page.locator("#insights [data-figure=runs] .ins-figure").inner_text().strip()
    page.locator("#insights").scroll_into_view_if_needed()
    screenshot(page, "insights-dashboard-7d")
    page.locator("#insights").screenshot(path=str(screenshot(page, "insights-panel")))

    page.select_option("#ins-range-select", "24h")
    assert_charts_drawn(page, "24h")
    assert page.locator("#ins-range-select").input_value() == "24h"
    assert "Hour" in page.locator("#insights details.ins-table thead").text_content()
    screenshot(page, "insights-dashboard-24h")

    # "Custom…" shows two dates and waits for "Show".
    page.select_option("#ins-range-select", "custom")
    page.wait_for_selector("#insights .ins-custom:not([hidden])")
    assert page.locator('#insights[data-drawn="24h"]').count() == 1
    page.fill("#insights input[name=start]", "2026-01-01")
    page.fill("#insights input[name=end]", "2026-01-31")
    page.click("#insights .ins-custom button[type=submit]")
    assert_charts_drawn(page, "custom")
    assert len(page.locator("#insights details.ins-table tbody tr").all()) == 31

    # A bad range shows the refusal where the panel was.
    page.fill("#insights input[name=start]", "2026-02-01")
    page.click("#insights .ins-custom button[type=submit]")
    page.wait_for_selector('#insights [data-code="invalid_range"]', timeout=10_000)
    # The picker stays, with the dates as typed, to correct them.
    assert page.locator("#insights input[name=start]").input_value() == "2026-02-01"
    page.locator("#insights").screenshot(path=str(screenshot(page, "insights-bad-range")))
    assert errors == []


def test_each_workflow_has_an_insights_page(live_site, page):
    login(live_site, page)
    page.locator('#workflows a[data-action="insights"]').first.click()
    page.wait_for_url(re.compile(r".*/workflows/\d+/insights/$"))
    assert_charts_drawn(page, "7d")
    page.select_option("#ins-range-select", "30d")
    assert_charts_drawn(page, "30d")
    screenshot(page, "insights-workflow-30d")
    page.click("#open-editor")
    page.wait_for_selector("#canvas-loading", state="hidden")
    page.click("#btn-more")  # Insights sits in the top bar's "More" menu
    page.wait_for_selector("#open-insights")
    box = page.locator("#open-insights").bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 1280, "the editor's Insights button is off screen"
    screenshot(page, "insights-editor-topbar")
