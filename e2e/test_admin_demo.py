"""The newcomer path: the demo site serves the admin with the demo workflow and events."""

import pytest

from e2e.conftest import screenshot

pytestmark = pytest.mark.e2e


def test_log_in_and_see_the_demo_workflow_and_events(live_site, page):
    page.goto(f"{live_site.url}/admin/")
    assert "/admin/login/" in page.url
    screenshot(page, "01-admin-login")

    page.fill("#id_username", live_site.username)
    page.fill("#id_password", "wrong-password")
    page.click("input[type=submit]")
    page.wait_for_selector(".errornote", timeout=15_000)
    assert "correct username and password" in page.locator(".errornote").inner_text()

    page.fill("#id_password", live_site.password)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    assert "Django Automate" in page.content()
    screenshot(page, "02-admin-index")

    page.click('#content-main a[href$="/automate/workflow/"]')
    page.wait_for_url("**/automate/workflow/")
    row = page.locator("#result_list tbody tr", has_text="Big invoice paid")
    assert row.count() == 1
    assert "v1" in row.inner_text()
    screenshot(page, "03-workflows")

    # The demo loads five sample events (other tests may have added more events); the
    # search takes an exact id, trace id or dedupe key (never a scan of the whole table).
    page.goto(f"{live_site.url}/admin/automate/event/")
    assert page.locator("#result_list tbody tr").count() >= 5
    page.goto(f"{live_site.url}/admin/automate/event/?q=evt_demo_0001")
    assert page.locator("#result_list tbody tr").count() == 1
    page.locator("#result_list tbody tr a").first.click()
    # The demo user is a superuser, so it may see the raw payload.
    payload = page.locator(".field-raw_payload_view pre")
    payload.wait_for()
    assert "evt_demo_" in payload.inner_text()
    screenshot(page, "04-event")
