"""The studio in German in a real browser: the pages and the scripts' own strings."""

from __future__ import annotations

import re

import pytest

from e2e.conftest import screenshot

pytestmark = pytest.mark.e2e


@pytest.fixture
def german_page(browser):  # type: ignore[no-untyped-def]
    # The browser's language is what the studio answers in (Accept-Language: de-DE,de).
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="de-DE")
    page = context.new_page()
    yield page
    context.close()


def test_a_german_browser_gets_a_german_studio_and_editor(live_site, german_page):
    page = german_page
    page.goto(f"{live_site.url}/studio/login/")
    assert page.locator("h1").inner_text() == "Im Studio anmelden"
    page.fill("input[name=username]", live_site.username)
    page.fill("input[name=password]", live_site.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_site.url}/studio/")
    assert page.locator(".mainnav").inner_text().split() == [
        "Workflows",
        "Ausführungen",
        "API-Tokens",
        "Verwaltung",
    ]

    page.goto(f"{live_site.url}/studio/wizard/")
    page.fill("input[name=name]", "Deutsch e2e")
    page.click("#new-workflow button[type=submit]")
    page.wait_for_url(re.compile(r".*/studio/workflows/\d+/$"))
    page.wait_for_function("window.__editorReady !== undefined", timeout=15000)
    # Written by the scripts (palette.js, autosave.js), from the JavaScript catalog.
    page.wait_for_selector(".ed-group h3")
    assert page.locator(".ed-group h3").first.text_content() == "Auslöser"
    assert page.locator(".ed-group h3", has_text="Logik").count() == 1
    assert page.locator("#save-state").inner_text() == "Gespeichert"
    assert page.locator("#btn-publish").inner_text() == "Veröffentlichen"
    screenshot(page, "90-editor-german")
