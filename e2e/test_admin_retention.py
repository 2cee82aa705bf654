"""A workflow's own retention days, set on its admin page: refused when not a whole number
of at least one day, saved and audited otherwise."""

import pytest

from e2e.conftest import DEMO_SLUG, screenshot

pytestmark = pytest.mark.e2e


def test_retention_days_on_the_workflow_admin_page(live_site, page, demo_draft_restored):
    ((pk,),) = live_site.query("SELECT id FROM automate_workflow WHERE slug = ?", (DEMO_SLUG,))
    page.goto(f"{live_site.url}/admin/login/?next=/admin/automate/workflow/{pk}/change/")
    page.fill("#id_username", live_site.username)
    page.fill("#id_password", live_site.password)
    page.click("input[type=submit]")
    field = page.locator("#id_retention_days")
    field.wait_for()
    assert "RETENTION runs_days" in page.locator(".field-retention_days").inner_text()

    field.fill("0")
    page.click("input[name=_continue]")
    page.locator(".field-retention_days .errorlist").wait_for()
    assert "greater than or equal to 1" in page.locator(".field-retention_days").inner_text()
    page.locator(".field-retention_days").scroll_into_view_if_needed()
    screenshot(page, "retention-refused")

    page.locator("#id_retention_days").fill("14")
    page.click("input[name=_continue]")
    page.locator(".messagelist .success").wait_for()
    page.locator(".field-retention_days").scroll_into_view_if_needed()
    screenshot(page, "retention-saved")
    assert live_site.query("SELECT retention_days FROM automate_workflow WHERE id = ?", (pk,)) == [
        (14,)
    ]
    assert live_site.query(
        "SELECT count(*) FROM automate_auditlogentry WHERE action = 'workflow.retention'"
        " AND resource_id = ?",
        (str(pk),),
    ) == [(1,)]

    # Back to the site's setting: the demo is shared by the other browser tests.
    page.locator("#id_retention_days").fill("")
    page.click("input[name=_continue]")
    page.locator(".messagelist .success").wait_for()
    assert live_site.query("SELECT retention_days FROM automate_workflow WHERE id = ?", (pk,)) == [
        (None,)
    ]
