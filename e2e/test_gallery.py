"""The wizard's starter-template gallery and workflow files in a real browser: pick a
template and the editor opens with its steps; export a workflow from the editor's File
menu and import the downloaded file back (a taken slug asks for another; a broken file
is refused in the dialog)."""

from __future__ import annotations

import json
import re

import pytest

from e2e.conftest import ARTIFACTS, screenshot
from e2e.test_editor import log_in, wait_ready

pytestmark = pytest.mark.e2e


def viewport_shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """A 1280x800 screenshot of what is on screen (a modal dialog covers the viewport)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_pick_a_template_and_the_editor_opens_with_its_steps(live_site, page):
    log_in(page, live_site)
    page.goto(f"{live_site.url}/studio/wizard/")
    cards = page.locator("#template-gallery .tg-card")
    assert cards.count() >= 6
    page.locator("#template-gallery").scroll_into_view_if_needed()
    screenshot(page, "gallery-01-wizard")

    page.click('.tg-card[data-template="github-push"]')
    detail = page.locator('#template-detail[data-template="github-push"]')
    detail.wait_for()
    assert "Announce it" in detail.inner_text()
    assert "The channel to post to" in detail.inner_text()
    assert page.get_attribute('.tg-card[data-template="github-push"]', "aria-current") == "true"
    detail.scroll_into_view_if_needed()
    screenshot(page, "gallery-02-preview")

    page.fill("#template-detail input[name=name]", "Pushes to Slack")
    page.click("#use-template")
    page.wait_for_url(re.compile(r".*/studio/workflows/\d+/$"))
    wait_ready(page)
    for node_id in ("trigger", "record", "announce"):
        page.wait_for_selector(f'#canvas g.x6-node[data-cell-id="{node_id}"]')
    assert page.input_value("#wf-name") == "Pushes to Slack"
    # The placeholders still to fill are problems: channel and token of "announce".
    page.wait_for_selector("#problem-count:not([hidden])")
    viewport_shot(page, "gallery-06-editor-from-template")
    workflow_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    ((graph,),) = live_site.query(
        "SELECT draft_graph FROM automate_workflow WHERE id = ?", (workflow_id,)
    )
    assert {n["id"] for n in json.loads(graph)["nodes"]} == {"trigger", "record", "announce"}


def test_export_downloads_a_file_that_imports_back(live_site, page, tmp_path):
    log_in(page, live_site)
    ((workflow_id, slug),) = live_site.query(
        "SELECT id, slug FROM automate_workflow WHERE slug = 'invoice-paid-to-slack'"
    )
    page.goto(f"{live_site.url}/studio/workflows/{workflow_id}/")
    wait_ready(page)
    page.click("#btn-more")  # the File items sit in the top bar's "More" menu
    page.wait_for_selector("#file-menu #export-draft")
    viewport_shot(page, "gallery-05-file-menu")
    with page.expect_download() as download_info:
        page.click("#export-draft")
    download = download_info.value
    assert download.suggested_filename == f"{slug}.json"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    exported = json.loads(path.read_text(encoding="utf-8"))
    assert exported["slug"] == slug
    assert exported["graph"]["nodes"]
    assert "xoxb-" not in path.read_text(encoding="utf-8")

    page.goto(f"{live_site.url}/studio/wizard/")
    page.click("#open-import")
    page.wait_for_selector("#import-dialog[open]")
    page.fill("#import-text", '{"slug": "oops", "name": 1}')
    page.click("#import-submit")
    error = page.locator("#import-error")
    error.wait_for()
    assert "not a valid workflow" in error.inner_text()
    assert "invalid_workflow" in error.inner_text()
    viewport_shot(page, "gallery-03-import-error")

    page.fill("#import-text", "")
    page.set_input_files("#import-file", str(path))
    page.click("#import-submit")
    page.wait_for_selector("#import-slug-row:not([hidden])")
    assert page.input_value("#import-slug") == f"{slug}-2"
    assert "already exists" in error.inner_text()
    viewport_shot(page, "gallery-04-import-conflict")

    page.click("#import-submit")
    page.wait_for_url(re.compile(r".*/studio/workflows/\d+/$"))
    wait_ready(page)
    ((graph, name),) = live_site.query(
        "SELECT draft_graph, name FROM automate_workflow WHERE slug = ?", (f"{slug}-2",)
    )
    assert json.loads(graph) == exported["graph"]
    assert name == exported["name"]


def test_import_into_the_open_draft_replaces_it(live_site, page):
    log_in(page, live_site)
    page.goto(f"{live_site.url}/studio/wizard/")
    page.fill("#new-workflow input[name=name]", "Replace me")
    page.click("#new-workflow button[type=submit]")
    page.wait_for_url(re.compile(r".*/studio/workflows/\d+/$"))
    wait_ready(page)
    workflow_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    document = {
        "slug": "ignored-slug",
        "name": "Replaced from a file",
        "trigger_spec": {"event_type": "order.created"},
        "rule_spec": {},
        "graph": {
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {
                    "id": "say",
                    "type": "action",
                    "connector": "log",
                    "action": "write",
                    "inputs": {"message": "Order {{ event.payload.id }}"},
                },
            ],
            "edges": [{"source": "trigger", "target": "say"}],
        },
    }
    page.click("#btn-more")
    page.click("#open-import")
    page.wait_for_selector("#import-dialog[open]")
    assert "Import into this draft" in page.inner_text("#import-title")
    page.fill("#import-text", json.dumps(document))
    page.click("#import-submit")
    page.wait_for_function(
        "document.querySelector('#wf-name').value === 'Replaced from a file'", timeout=15000
    )
    wait_ready(page)
    page.wait_for_selector('#canvas g.x6-node[data-cell-id="say"]')
    ((slug, name),) = live_site.query(
        "SELECT slug, name FROM automate_workflow WHERE id = ?", (workflow_id,)
    )
    assert slug != "ignored-slug"
    assert name == "Replaced from a file"
