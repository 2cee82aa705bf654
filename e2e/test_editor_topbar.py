"""The editor's top bar fits a laptop screen in English and German: every control fully
visible, none overlapping, no sideways page scroll; the secondary actions sit in "More"."""

from __future__ import annotations

import re

import pytest

from e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

SIZES = [(1280, 800), (1024, 768)]
LANGUAGES = {"en": "en-US", "de": "de-DE"}

# Everything a user sees in the bar; the "unpublished changes" badge is forced on below
# so the widest state is measured.
CONTROLS = """() => {
  const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const selector = ".ed-back, #wf-name, #wf-status, #wf-changes, #wf-read-only, #problem-count,"
    + " #save-state, #wf-off, #wf-archived, .ed-tools button, #btn-more, #btn-publish";
  return [...document.querySelectorAll(selector)].filter(visible).map((el) => {
    const r = el.getBoundingClientRect();
    return { id: el.id || el.className, left: r.left, right: r.right, top: r.top, bottom: r.bottom };
  });
}"""


def log_in(page, live_site) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_site.url}/studio/login/")
    page.fill("input[name=username]", live_site.username)
    page.fill("input[name=password]", live_site.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_site.url}/studio/")


@pytest.fixture(scope="module")
def editor_url(live_site, browser) -> str:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    log_in(page, live_site)
    page.goto(f"{live_site.url}/studio/wizard/")
    page.fill("input[name=name]", "A rather long workflow name for the top bar")
    page.click("#new-workflow button[type=submit]")
    page.wait_for_url(re.compile(r".*/studio/workflows/\d+/$"))
    url = page.url
    context.close()
    return url


def open_editor(browser, live_site, url, size, language):  # type: ignore[no-untyped-def]
    width, height = size
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale=LANGUAGES[language]
    )
    page = context.new_page()
    log_in(page, live_site)
    page.goto(url)
    page.wait_for_function("window.__editorReady !== undefined", timeout=15000)
    page.wait_for_selector("#problem-count:not([hidden])")
    return context, page


def assert_bar_fits(page, required: set[str]) -> None:  # type: ignore[no-untyped-def]
    width, height = page.evaluate("[innerWidth, innerHeight]")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    boxes = page.evaluate(CONTROLS)
    assert required <= {box["id"] for box in boxes}
    for box in boxes:
        inside = (
            0 <= box["left"] <= box["right"] <= width and 0 <= box["top"] <= box["bottom"] <= height
        )
        assert inside, f"{box['id']} is cut off: {box}"
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = (
                a["right"] <= b["left"]
                or b["right"] <= a["left"]
                or a["bottom"] <= b["top"]
                or b["bottom"] <= a["top"]
            )
            assert apart, f"{a['id']} overlaps {b['id']}"


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_every_top_bar_control_is_on_screen_and_apart(
    live_site, browser, editor_url, size, language
):  # type: ignore[no-untyped-def]
    context, page = open_editor(browser, live_site, editor_url, size, language)
    try:
        if language == "de":
            assert page.locator("#btn-publish").inner_text() == "Veröffentlichen"
        required = {
            "wf-name",
            "wf-status",
            "problem-count",
            "save-state",
            "btn-more",
            "btn-publish",
        }
        required |= {"btn-undo", "btn-redo", "btn-zoom-in", "btn-zoom-out", "btn-fit", "btn-tidy"}
        required |= {"btn-shortcuts"}
        assert_bar_fits(page, required)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = f"topbar-{size[0]}x{size[1]}-{language}"
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
        # The widest state: a published workflow with unpublished changes (may wrap, never spill).
        page.evaluate("document.getElementById('wf-changes').hidden = false")
        assert_bar_fits(page, required | {"wf-changes"})
        page.screenshot(path=str(ARTIFACTS / f"{name}-changes.png"))
        # The icon-only tools still say what they do.
        for tool in page.locator(".ed-tools button").all():
            assert tool.get_attribute("aria-label")
            assert tool.get_attribute("title")
        page.click("#btn-more")
        page.wait_for_selector("#more-menu #wf-runs")
        menu = page.locator("#more-menu").bounding_box()
        width = page.evaluate("innerWidth")
        assert menu is not None
        assert 0 <= menu["x"] <= menu["x"] + menu["width"] <= width
        assert page.evaluate("document.scrollingElement.scrollWidth") <= width
        page.screenshot(path=str(ARTIFACTS / f"{name}-more.png"))
    finally:
        context.close()


def test_the_more_menu_is_a_keyboard_menu_and_its_actions_work(live_site, browser, editor_url):  # type: ignore[no-untyped-def]
    context, page = open_editor(browser, live_site, editor_url, (1280, 800), "en")
    try:
        more = page.locator("#btn-more")
        menu = page.locator("#more-menu")
        assert more.get_attribute("aria-expanded") == "false"
        assert menu.is_hidden()

        # Keyboard: Enter opens and focuses the first item, arrows move, Escape closes.
        more.focus()
        page.keyboard.press("Enter")
        assert more.get_attribute("aria-expanded") == "true"
        assert page.evaluate("document.activeElement.id") == "wf-runs"
        page.keyboard.press("ArrowDown")
        assert page.evaluate("document.activeElement.id") == "open-insights"
        page.keyboard.press("ArrowUp")
        page.keyboard.press("ArrowUp")
        assert page.evaluate("document.activeElement.id") == "btn-archive"
        page.keyboard.press("Escape")
        assert menu.is_hidden()
        assert more.get_attribute("aria-expanded") == "false"
        assert page.evaluate("document.activeElement.id") == "btn-more"

        # A click outside closes it.
        more.click()
        assert menu.is_visible()
        page.click("#canvas", position={"x": 40, "y": 40})
        assert menu.is_hidden()

        # File: the export items download the draft.
        more.click()
        assert page.locator("#file-menu").is_visible()
        with page.expect_download() as download:
            page.click("#export-draft")
        assert download.value.suggested_filename.endswith(".json")
        assert menu.is_hidden()

        # Import opens its dialog (outside the closed menu).
        more.click()
        page.click("#open-import")
        page.wait_for_selector("#import-dialog[open]")
        page.keyboard.press("Escape")

        # Insights and Runs navigate.
        more.click()
        page.click("#open-insights")
        page.wait_for_url(re.compile(r".*/workflows/\d+/insights/$"))
        page.go_back()
        page.wait_for_function("window.__editorReady !== undefined", timeout=15000)
        page.click("#btn-more")
        page.click("#wf-runs")
        page.wait_for_url(re.compile(r".*/studio/runs/\?workflow=\d+$"))
    finally:
        context.close()
