"""A workflow's life in the studio: "unpublished changes" after an edit (no reload) linking
to the draft-vs-live diff, gone after publishing; switch off and archive, each confirmed;
recent runs that open their run page with readable durations; the favicon."""

from __future__ import annotations

import re

import pytest

from e2e.conftest import screenshot
from e2e.test_editor import log_in, node_box, wait_ready, wait_saved

pytestmark = pytest.mark.e2e

QUICK_RUNS = """
from automate.runtime import emit_event
from automate.tenants.services import resolve_tenant
from automate.workflows.services import create_workflow, publish_version
workflow = create_workflow(
    name="Quick runs e2e", slug="quick-runs-e2e", tenant=resolve_tenant(None),
    trigger_spec={"event_type": "quick.e2e"}, rule_spec={},
    graph={"nodes": [{"id": "trigger", "type": "trigger"},
                     {"id": "shape", "type": "transform", "inputs": {"n": 1}}],
           "edges": [{"source": "trigger", "target": "shape"}]},
)
publish_version(workflow=workflow)
emit_event("quick.e2e", {}, tenant=workflow.tenant)
emit_event("quick.e2e", {}, tenant=workflow.tenant)
"""


def new_published_workflow(page, live_site, name: str) -> str:  # type: ignore[no-untyped-def]
    page.goto(f"{live_site.url}/studio/wizard/")
    page.fill("input[name=name]", name)
    page.fill("input[name=event_type]", "lifecycle.checked")
    page.click("#new-workflow button[type=submit]")
    page.wait_for_url(re.compile(r".*/studio/workflows/\d+/$"))
    wait_ready(page)
    page.wait_for_selector('#canvas g.x6-node[data-cell-id="trigger"]')
    page.click("#btn-publish")
    page.wait_for_function("document.querySelector('#wf-status').textContent.includes('v1')")
    return page.url


def test_unpublished_changes_then_switch_off_and_archive(live_site, page):
    log_in(page, live_site)
    editor_url = new_published_workflow(page, live_site, "Lifecycle e2e")
    changes = page.locator("#wf-changes")
    assert changes.is_hidden()

    # Move the trigger: the autosave's answer shows the badge, no reload.
    box = node_box(page, "trigger")
    start = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 60, start[1] + 90, steps=10)
    page.mouse.up()
    wait_saved(page)
    changes.wait_for(state="visible", timeout=5000)
    assert page.url == editor_url
    assert changes.inner_text().strip() == "unpublished changes"
    screenshot(page, "lifecycle-01-editor-unpublished-changes")

    changes.click()
    page.wait_for_selector("#diff-panel")
    assert "moved on the canvas" in page.locator("#diff-panel").inner_text()
    assert "v1 → the draft" in page.locator("#diff-panel .pn-title").inner_text()
    screenshot(page, "lifecycle-02-editor-diff")

    page.click("#btn-publish")
    page.wait_for_function("document.querySelector('#wf-status').textContent.includes('v2')")
    changes.wait_for(state="hidden", timeout=5000)

    # Switching off asks first; dismissing changes nothing.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#btn-more")  # switch off / archive sit in the top bar's "More" menu
    page.click("#btn-deactivate")
    page.wait_for_timeout(300)
    assert page.locator("#wf-off").count() == 0
    messages: list[str] = []

    def accept(dialog):  # type: ignore[no-untyped-def]
        messages.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.click("#btn-more")
    page.click("#btn-deactivate")
    page.wait_for_selector("#wf-off")
    assert "start no new runs" in messages[0]
    page.click("#btn-more")
    assert page.locator("#btn-activate").is_visible()
    screenshot(page, "lifecycle-03-editor-switched-off")
    active = live_site.query(
        "SELECT is_active FROM automate_workflow WHERE name = ?", ("Lifecycle e2e",)
    )
    assert active == [(0,)]

    # The dashboard says so; archiving (confirmed) hides the workflow from the list.
    page.goto(f"{live_site.url}/studio/")
    row = page.locator("#workflows tr", has_text="Lifecycle e2e")
    assert "switched off" in row.inner_text()
    screenshot(page, "lifecycle-04-dashboard")
    page.once("dialog", accept)
    row.locator('[data-action="archive"]').click()
    page.wait_for_load_state("networkidle")
    page.locator("#show-archived").wait_for()
    assert "hidden from the workflow list" in messages[-1]
    assert page.locator("#workflows tr", has_text="Lifecycle e2e").count() == 0
    page.click("#show-archived")
    page.wait_for_selector('#workflows tr:has-text("Lifecycle e2e") [data-action="restore"]')
    screenshot(page, "lifecycle-05-dashboard-archived")


def test_recent_runs_open_their_run_page_with_readable_durations(live_site, page):
    # A quick workflow and two events: the site's worker runs them in a few milliseconds.
    live_site.manage("shell", "-c", QUICK_RUNS)
    log_in(page, live_site)
    for _ in range(40):
        page.goto(f"{live_site.url}/studio/")
        row = page.locator("#recent-runs tr", has_text="Quick runs e2e")
        if row.count() >= 2 and "—" not in row.first.inner_text():
            break
        page.wait_for_timeout(250)
    links = page.locator("#recent-runs a.run-link")
    assert links.count() >= 2
    durations = page.locator('#recent-runs td[data-field="duration"]').all_inner_texts()
    for text in durations:
        assert "minute" not in text
        assert re.fullmatch(r"—|\d+ ms|\d+\.\d s|\d+ min \d+ s|\d+ h \d+ min", text.strip()), text
    screenshot(page, "lifecycle-06-dashboard-recent-runs")
    href = links.first.get_attribute("href")
    assert href
    assert re.fullmatch(r"/studio/runs/[0-9a-f-]{36}/", href)
    links.first.click()
    page.wait_for_url(f"{live_site.url}{href}")
    assert page.locator("#run-duration").is_visible()


def test_the_favicon_is_there(live_site, page):
    response = page.request.get(f"{live_site.url}/favicon.ico")
    assert response.status == 200
    assert "svg" in response.headers["content-type"]
    log_in(page, live_site)
    icon = page.locator('link[rel="icon"]').get_attribute("href")
    assert page.request.get(f"{live_site.url}{icon}").status == 200


DIFF_SETUP = """
from automate.tenants.services import resolve_tenant
from automate.workflows.models import Workflow
from automate.workflows.services import create_workflow, publish_version
node = {"id": "shape", "type": "transform", "label": "Shape the order",
        "inputs": {"greeting": "Hello", "api_key": ""}}
workflow = create_workflow(
    name="Diff e2e", slug="diff-e2e", tenant=resolve_tenant(None),
    trigger_spec={"event_type": "diff.e2e"}, rule_spec={},
    graph={"nodes": [{"id": "trigger", "type": "trigger"}, node],
           "edges": [{"source": "trigger", "target": "shape"}]},
)
publish_version(workflow=workflow)
graph = workflow.draft_graph
graph["nodes"][1]["inputs"] = {"greeting": "Hello {{ event.payload.name }}",
                               "api_key": "sk-live-canary-0c9d2e"}
Workflow.objects.filter(pk=workflow.pk).update(draft_graph=graph)
print(workflow.pk)
"""


def test_the_diff_shows_old_and_new_values_with_secrets_masked(live_site, page):
    workflow_id = live_site.manage("shell", "-c", DIFF_SETUP).strip().splitlines()[-1]
    log_in(page, live_site)
    page.goto(f"{live_site.url}/studio/")
    row = page.locator("#workflows tr", has_text="Diff e2e")
    row.locator(".badge-changes").click()
    page.wait_for_url(re.compile(rf".*/studio/workflows/{workflow_id}/diff/\?a=live&b=draft$"))
    text = page.locator("#diff-list").inner_text()
    assert '"Hello" → "Hello {{ event.payload.name }}"' in text
    assert '"" → "********"' in text
    assert "canary" not in page.content()
    screenshot(page, "lifecycle-07-diff-old-new")


WAITING_RUN = """
from automate.tenants.services import resolve_tenant
from automate.workflows.services import create_workflow, publish_version
from automate.runtime import emit_event
from automate.execution.models import ExecutionRun
workflow = create_workflow(
    name="Cancel e2e", slug="cancel-e2e", tenant=resolve_tenant(None),
    trigger_spec={"event_type": "cancel.e2e"}, rule_spec={},
    graph={"nodes": [{"id": "trigger", "type": "trigger"},
                     {"id": "wait", "type": "delay", "seconds": 600}],
           "edges": [{"source": "trigger", "target": "wait"}]},
)
publish_version(workflow=workflow)
emit_event("cancel.e2e", {}, tenant=workflow.tenant)
"""


def test_cancelling_a_run_asks_first(live_site, page):
    live_site.manage("shell", "-c", WAITING_RUN)
    log_in(page, live_site)
    page.goto(f"{live_site.url}/studio/runs/")
    page.locator("#runs-body tr", has_text="Cancel e2e").locator("a").first.click()
    page.wait_for_url(re.compile(r".*/studio/runs/[0-9a-f-]{36}/$"))
    page.locator("#cancel-run").wait_for()
    run_id = page.url.rstrip("/").rsplit("/", 1)[1]

    def status() -> str:
        rows = live_site.query(
            "SELECT status FROM automate_executionrun WHERE replace(id, '-', '') = ?",
            (run_id.replace("-", ""),),
        )
        return str(rows[0][0])

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#cancel-run")
    page.wait_for_timeout(500)
    assert status() != "cancelled"
    messages: list[str] = []

    def accept(dialog):  # type: ignore[no-untyped-def]
        messages.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.click("#cancel-run")
    page.wait_for_function(
        "!document.querySelector('#cancel-form') || document.querySelector('#cancel-form').hidden || document.querySelector('#action-result').textContent.trim() !== ''"
    )
    assert "Cancel this run?" in messages[0]
    for _ in range(20):
        if status() == "cancelled":
            break
        page.wait_for_timeout(250)
    assert status() == "cancelled"
