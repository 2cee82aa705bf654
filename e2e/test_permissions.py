"""A reader (``automate.use_studio`` only) in a real browser: the editor is read-only, the
buttons they may not use are disabled and say which permission they need, and a canvas
edit is refused by the server without retrying forever."""

from __future__ import annotations

import pytest

from e2e.test_editor import drag, node_box, wait_ready

pytestmark = pytest.mark.e2e

READER = "reader"
READER_PASSWORD = "reader-pw-for-e2e-only"
MAKE_READER = f"""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
User = get_user_model()
user = User.objects.filter(**{{User.USERNAME_FIELD: "{READER}"}}).first() or User(
    **{{User.USERNAME_FIELD: "{READER}"}}
)
user.set_password("{READER_PASSWORD}")
user.save()
user.user_permissions.add(Permission.objects.get(codename="use_studio"))
"""


def test_a_reader_gets_a_read_only_editor(live_site, page):  # type: ignore[no-untyped-def]
    live_site.manage("shell", "-c", MAKE_READER)
    page.goto(f"{live_site.url}/studio/login/")
    page.fill("input[name=username]", READER)
    page.fill("input[name=password]", READER_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_site.url}/studio/")
    page.click("text=Big invoice paid")
    wait_ready(page)

    publish = page.locator("#btn-publish")
    assert publish.is_disabled()
    assert "automate.publish_workflow" in (publish.get_attribute("title") or "")
    assert page.locator("#wf-read-only").is_visible()
    draft_url = page.url.rstrip("/") + "/draft.json"
    before = page.evaluate(f"fetch('{draft_url}').then(r => r.json()).then(b => b.revision)")

    box = node_box(page, "trigger")
    start = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    drag(page, start, (start[0] + 60, start[1] + 90))
    page.wait_for_function(
        "document.querySelector('#save-state').dataset.state === 'forbidden'", timeout=10000
    )
    assert "permission" in page.locator("#save-state").inner_text()
    after = page.evaluate(f"fetch('{draft_url}').then(r => r.json()).then(b => b.revision)")
    assert after == before
