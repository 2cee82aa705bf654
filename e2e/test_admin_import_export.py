"""The admin base classes in a browser: the demo's customers list offers the export
actions and an import whose preview writes nothing until it is confirmed."""

import json
import sqlite3

import pytest

from e2e.conftest import screenshot

pytestmark = pytest.mark.e2e


@pytest.fixture
def no_e2e_customers(live_site):
    """The customers this test imports are gone before and after it (the site is shared)."""

    def forget():
        with sqlite3.connect(live_site.db_path, timeout=10) as conn:
            conn.execute("DELETE FROM demo_crm_customer WHERE stripe_id LIKE 'cus_e2e_%'")

    forget()
    yield
    forget()


def _log_in(live_site, page):
    page.goto(f"{live_site.url}/admin/login/?next=/admin/")
    page.fill("#id_username", live_site.username)
    page.fill("#id_password", live_site.password)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def _customers(live_site, prefix):
    rows = live_site.query(
        "SELECT stripe_id FROM demo_crm_customer WHERE stripe_id LIKE ? ORDER BY stripe_id",
        (f"{prefix}%",),
    )
    return [row[0] for row in rows]


def test_import_preview_then_confirm_then_export(live_site, page, no_e2e_customers):
    ((tenant_id,),) = live_site.query("SELECT id FROM automate_tenant ORDER BY id LIMIT 1")
    rows = [
        {
            "tenant": tenant_id,
            "stripe_id": "cus_e2e_1",
            "email": "ada@example.com",
            "last_invoice": "in_1001",
            "last_amount_cents": 4200,
        },
        {
            "tenant": tenant_id,
            "stripe_id": "cus_e2e_2",
            "email": "grace@example.com",
            "last_invoice": "in_1002",
            "last_amount_cents": 125000,
        },
        {"tenant": tenant_id, "stripe_id": "cus_e2e_3", "email": "linus@example.com"},
    ]
    _log_in(live_site, page)
    page.goto(f"{live_site.url}/admin/demo_crm/customer/")
    page.click("a.automate-import-link")
    page.wait_for_url("**/demo_crm/customer/import/")

    # A row with a problem: named with its field, nothing saved.
    bad = [
        {**rows[0], "email": "not-an-email"},
        {"tenant": tenant_id, "stripe_id": "x", "colour": "red"},
    ]
    page.fill("#id_data", json.dumps(bad))
    page.click("input[type=submit][value=Preview]")
    errors = page.locator(".automate-import-errors li")
    errors.first.wait_for()
    assert "Row 1, email: Enter a valid email address." in errors.all_inner_texts()
    assert any(
        text.startswith("Row 2: unknown field(s) colour") for text in errors.all_inner_texts()
    )
    screenshot(page, "admin-import-errors")

    page.fill("#id_data", json.dumps(rows, indent=2))
    page.click("input[type=submit][value=Preview]")
    page.wait_for_selector("table.automate-import-preview")
    assert "3 customers will be added" in page.locator(".automate-import-summary").inner_text()
    assert page.locator("table.automate-import-preview tbody tr").count() == 3
    assert _customers(live_site, "cus_e2e_") == []  # the preview writes nothing
    screenshot(page, "admin-import-preview")

    page.click("input[name=confirm]")
    page.wait_for_url("**/demo_crm/customer/")
    assert "Imported 3 customers." in page.locator(".messagelist").inner_text()
    assert _customers(live_site, "cus_e2e_") == ["cus_e2e_1", "cus_e2e_2", "cus_e2e_3"]

    page.click("#action-toggle")
    options = page.locator("select[name=action] option").all_inner_texts()
    assert "Export selected as CSV" in options
    assert "Export selected as JSON" in options
    page.select_option("select[name=action]", "export_as_csv")
    screenshot(page, "admin-changelist-export")
    with page.expect_download() as download:
        page.click("button[name=index]")
    with open(download.value.path(), encoding="utf-8") as file:
        text = file.read()
    assert text.splitlines()[0].startswith("id,tenant,stripe_id,email")
    assert "cus_e2e_2,grace@example.com" in text
