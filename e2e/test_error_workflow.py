"""Setting a workflow's error workflow in the studio: the editor's More menu opens the
"When a run fails" panel; after a failed run, the failed run's page links to the error
workflow's run, which links back."""

from __future__ import annotations

import json
import re

import pytest

from e2e.conftest import screenshot
from e2e.test_editor import log_in, wait_ready

pytestmark = pytest.mark.e2e

SETUP = """
import json
from automate.tenants.services import resolve_tenant
from automate.workflows.models import Workflow
from automate.workflows.services import create_workflow, publish_version
tenant = resolve_tenant(None)
Workflow.objects.filter(slug__in=["charge-e2e", "on-failure-e2e"]).update(error_workflow=None)
ids = {}
for slug, name, node, event_type in [
    ("charge-e2e", "Charge e2e",
     {"id": "charge", "type": "action", "label": "Charge the card", "connector": "http",
      "action": "request", "inputs": {"method": "GET", "url": "http://169.254.169.254/charge"},
     "position": {"x": 380, "y": 160}},
     "charge.e2e"),
    ("on-failure-e2e", "On failure e2e",
     {"id": "note", "type": "transform", "inputs": {"failed": "{{ event.payload.run.id }}"},
     "position": {"x": 380, "y": 160}},
     "never.e2e"),
]:
    workflow = Workflow.objects.filter(slug=slug).first() or create_workflow(
        name=name, slug=slug, tenant=tenant, trigger_spec={"event_type": event_type},
        rule_spec={}, graph={"nodes": [{"id": "trigger", "type": "trigger",
                                                   "position": {"x": 60, "y": 160}}, node],
                             "edges": [{"source": "trigger", "target": node["id"]}]},
    )
    if workflow.live_version_id is None:
        publish_version(workflow=workflow)
    ids[slug] = workflow.pk
print(json.dumps(ids))
"""

EMIT = """
import json
from automate.runtime import emit_event
print(json.dumps({"id": emit_event("charge.e2e", {"order": "A-1"})}))
"""


def test_the_error_workflow_is_set_in_the_studio_and_runs_on_failure(live_site, page):
    ids = json.loads(live_site.manage("shell", "-c", SETUP).strip().splitlines()[-1])
    log_in(page, live_site)
    page.goto(f"{live_site.url}/studio/workflows/{ids['charge-e2e']}/")
    wait_ready(page)

    page.click("#tab-copilot")  # the panel shows even over the copilot's own panel
    page.click("#btn-more")
    page.click("#open-failure-settings")
    page.wait_for_selector("#failure-panel", state="visible")
    assert page.locator(".ed-tab.active").count() == 0
    page.select_option("#error-workflow", str(ids["on-failure-e2e"]))
    page.fill("#notify-email", "ops@example.com, not-an-address")
    page.click("#btn-failure-save")
    page.wait_for_selector("#failure-panel .alert-error")
    assert "is not an email address" in page.locator("#failure-panel").inner_text()
    screenshot(page, "error-workflow-01-panel-refused")
    page.fill("#notify-email", "ops@example.com")
    page.click("#btn-failure-save")
    page.wait_for_selector("#failure-saved")
    page.wait_for_selector("#failure-saved-inline")  # next to the Save button, in view
    assert page.locator("#error-workflow").input_value() == str(ids["on-failure-e2e"])
    screenshot(page, "error-workflow-02-panel-saved")
    page.evaluate("document.getElementById('panel-body').scrollTop = 0")
    screenshot(page, "error-workflow-02b-panel-top")
    stored = live_site.query(
        "SELECT error_workflow_id, notify_email_to FROM automate_workflow WHERE slug = ?",
        ("charge-e2e",),
    )
    assert stored == [(ids["on-failure-e2e"], "ops@example.com")]

    live_site.manage("shell", "-c", EMIT)
    page.goto(f"{live_site.url}/studio/runs/?workflow={ids['charge-e2e']}")
    page.locator("#runs-body tr", has_text="Charge e2e").first.locator("a.strong").click()
    page.wait_for_url(re.compile(r".*/studio/runs/[0-9a-f-]{36}/$"))
    # The embedded worker runs it in the background; a page opened while it still runs
    # asks for the failure's links until it ends (no reload).
    url_before = page.url
    page.wait_for_selector("#error-workflow-run", timeout=20_000)
    assert page.url == url_before
    page.wait_for_selector('[data-cell-id="charge"] rect[data-status="failed"]')
    link = page.locator("#error-workflow-run a")
    assert "On failure e2e" in link.inner_text()
    screenshot(page, "error-workflow-03-failed-run")

    link.click()
    page.wait_for_selector("#handles-failure")
    assert "Charge e2e" in page.locator("#handles-failure").inner_text()
    page.wait_for_selector("#run-status.status-succeeded", timeout=20_000)
    page.wait_for_selector("#live-indicator.live-on")
    page.wait_for_selector('[data-cell-id="note"] rect[data-status="succeeded"]')
    screenshot(page, "error-workflow-04-error-run")
