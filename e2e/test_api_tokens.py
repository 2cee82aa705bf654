"""The API tokens page in a real browser: create a token, copy it, use it, revoke it."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

from playwright.sync_api import expect

from e2e.conftest import screenshot
from e2e.test_explorer import login


def call(site: Any, token: str) -> int:
    request = urllib.request.Request(
        f"{site.url}/api/v1/workflows/", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            json.loads(response.read())
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_create_copy_use_and_revoke_a_token(live_site, page):
    login(live_site, page)
    page.goto(f"{live_site.url}/studio/api-tokens/")
    page.fill("input[name=name]", "CI deploys")
    page.check("input[name=scopes][value=write]")
    page.click("#token-form button[type=submit]")
    shown = page.locator("#token-value")
    text = shown.inner_text().strip()
    assert re.fullmatch(r"da_[A-Za-z0-9]{12}_[A-Za-z0-9]{43}", text)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("#copy-token")
    # The handler is async (clipboard API): wait for its answer rather than read at once.
    expect(page.locator("#copy-token")).to_have_attribute("data-copied", "yes")
    screenshot(page, "api-tokens-created")
    assert call(live_site, text) == 200

    page.goto(f"{live_site.url}/studio/api-tokens/")
    assert text not in page.content()
    row = page.locator("#token-table tr", has_text="CI deploys").first
    row.locator("button", has_text="Revoke").click()
    page.wait_for_selector("text=is revoked")
    screenshot(page, "api-tokens-revoked")
    assert call(live_site, text) == 401


def test_the_admin_shows_a_new_token_once(live_site, page):
    page.goto(f"{live_site.url}/admin/login/?next=/admin/automate/apitoken/add/")
    page.fill("input[name=username]", live_site.username)
    page.fill("input[name=password]", live_site.password)
    page.click("input[type=submit]")
    page.fill("input[name=name]", "Nightly export")
    page.select_option("select[name=tenant]", index=1)
    page.check("input[name=scopes][value=read]")
    page.click("input[name=_save]")
    text = page.locator("#api-token-value").inner_text().strip()
    assert re.fullmatch(r"da_[A-Za-z0-9]{12}_[A-Za-z0-9]{43}", text)
    screenshot(page, "api-tokens-admin-created")
    assert call(live_site, text) == 200
    page.goto(f"{live_site.url}/admin/automate/apitoken/")
    assert text not in page.content()
    screenshot(page, "api-tokens-admin-list")
