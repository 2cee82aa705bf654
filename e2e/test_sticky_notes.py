"""Sticky notes on the canvas: add one, write Markdown, see it rendered (and sanitized),
pick a colour, resize it, reload: still there; the steps' problem count ignores notes."""

from __future__ import annotations

import pytest

from e2e.conftest import screenshot
from e2e.test_editor import drag, drag_from_palette, wait_ready, wait_saved
from e2e.test_publish_checks import new_workflow, put_graph_and_reload

pytestmark = pytest.mark.e2e

HOSTILE = (
    "# Read me first\n\n"
    "This workflow tells **billing** when a big invoice is paid.\n\n"
    "- step one\n- step two\n\n"
    "<script>window.__pwned = 1</script> <img src=x onerror='window.__pwned = 2'>\n"
    "[bad](javascript:window.__pwned=3) and [docs](https://example.com/docs)"
)
FRIENDLY = {
    "text": "### Before publishing\n- set `SLACK_TOKEN` in **Secrets**\n- test with a real"
    " invoice\n\nRunbook: https://example.com/runbook",
    "position": {"x": 380, "y": -60},
    "size": {"width": 300, "height": 170},
    "color": "yellow",
}
GRAPH = {
    "nodes": [
        {"id": "trigger", "type": "trigger", "position": {"x": 40, "y": 200}},
        {
            "id": "log",
            "type": "action",
            "label": "Log the invoice",
            "connector": "log",
            "action": "write",
            "inputs": {"message": "Paid {{ event.id }}"},
            "position": {"x": 380, "y": 200},
        },
    ],
    "edges": [{"source": "trigger", "target": "log"}],
    "notes": [
        {
            "id": "note_why",
            "text": "## Why\nBilling asked for this in *March*.\n\n1. check the amount\n2. tell them",
            "position": {"x": 40, "y": -60},
            "size": {"width": 300, "height": 190},
            "color": "blue",
        }
    ],
}


def note_html(page, note_id: str) -> str:  # type: ignore[no-untyped-def]
    return page.locator(f'#canvas .sn[data-note-id="{note_id}"] .sn-content').inner_html()


def test_add_write_render_and_reload_a_sticky_note(live_site, page):
    new_workflow(page, live_site, "Sticky notes e2e")
    put_graph_and_reload(page, GRAPH)
    # The note the draft came with is drawn rendered, from draft.json's notes_html.
    existing = page.locator('#canvas .sn[data-note-id="note_why"]')
    existing.locator("h2", has_text="Why").wait_for()
    assert existing.locator("em", has_text="March").count() == 1
    assert "sn-blue" in (existing.get_attribute("class") or "")
    problems_before = page.locator("#problem-count").get_attribute("data-problems")

    # Add a note from the toolbar: it shows its default text, rendered.
    page.click("#btn-note")
    note = page.locator("#canvas .sn").filter(has_text="Sticky note").first
    note.locator("h2", has_text="Sticky note").wait_for()
    note_id = note.get_attribute("data-note-id")
    assert note_id
    assert note_id.startswith("note")

    # Double-click to edit the Markdown source, type hostile Markdown, finish.
    note.locator(".sn-content").dblclick()
    source = page.locator(f'#canvas .sn[data-note-id="{note_id}"] textarea.sn-source')
    source.wait_for()
    source.fill(HOSTILE)
    page.locator(f'#canvas .sn[data-note-id="{note_id}"] .sn-swatch-green').last.click()
    page.locator(f'#canvas .sn[data-note-id="{note_id}"] .sn-done').click()
    content = page.locator(f'#canvas .sn[data-note-id="{note_id}"] .sn-content')
    content.locator("h1", has_text="Read me first").wait_for()
    assert content.locator("strong", has_text="billing").count() == 1
    assert content.locator("li").count() == 2
    html = note_html(page, note_id)
    # The hostile parts came out as text or not at all, never as HTML.
    assert "<script" not in html
    assert "<img" not in html
    assert "javascript:" not in html
    assert "&lt;script&gt;" in html
    link = content.locator('a[href="https://example.com/docs"]')
    assert link.get_attribute("rel") == "noopener noreferrer nofollow"
    assert page.evaluate("window.__pwned === undefined")
    assert "sn-green" in (
        page.locator(f'#canvas .sn[data-note-id="{note_id}"]').get_attribute("class") or ""
    )

    # Resize it with the handle (notes only have one), then move it.
    box = page.locator(f'#canvas g.x6-node[data-cell-id="{note_id}"]').bounding_box()
    assert box
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 12)
    handle = page.locator(".x6-widget-transform-resize[data-position='bottom-right']")
    handle.wait_for()
    hb = handle.bounding_box()
    assert hb
    drag(
        page, (hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2), (hb["x"] + 80, hb["y"] + 60)
    )
    wait_saved(page)
    saved = page.evaluate("window.__editor.canvas.toDraftGraph()")
    mine = next(n for n in saved["notes"] if n["id"] == note_id)
    assert mine["size"]["width"] > 280
    assert mine["color"] == "green"
    assert [n["id"] for n in saved["nodes"]] == ["trigger", "log"]

    # Notes are not steps: the problem count did not change, no panel opens for them.
    assert page.locator("#problem-count").get_attribute("data-problems") == problems_before
    screenshot(page, "50-editor-sticky-notes")

    # Reload: both notes are still there, rendered, with their colours and sizes.
    page.reload()
    wait_ready(page)
    reloaded = page.locator(f'#canvas .sn[data-note-id="{note_id}"]')
    reloaded.locator("h1", has_text="Read me first").wait_for()
    assert "sn-green" in (reloaded.get_attribute("class") or "")
    page.locator('#canvas .sn[data-note-id="note_why"] h2').wait_for()
    assert page.evaluate("window.__pwned === undefined")

    # Undo works on notes as on steps: delete the note, undo brings it back.
    page.locator(f'#canvas g.x6-node[data-cell-id="{note_id}"]').click(position={"x": 60, "y": 12})
    page.keyboard.press("Delete")
    page.wait_for_function(f"!document.querySelector('#canvas .sn[data-note-id=\"{note_id}\"]')")
    page.keyboard.press("Control+z")
    reloaded.locator("h1", has_text="Read me first").wait_for()
    wait_saved(page)
    screenshot(page, "51-editor-sticky-notes-reloaded")

    # Copy and paste a note: a new note with its own id and the same text.
    count = "document.querySelectorAll('#canvas .sn').length"
    assert page.evaluate(count) == 2
    page.locator(f'#canvas g.x6-node[data-cell-id="{note_id}"]').click(position={"x": 60, "y": 12})
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    page.wait_for_function(f"{count} === 3")
    # Shift+S adds one, and so does dragging "Sticky note" from the palette.
    page.mouse.click(5, 400)  # nothing focused that takes keys
    page.keyboard.press("Shift+S")
    page.wait_for_function(f"{count} === 4")
    canvas = page.locator("#canvas").bounding_box()
    assert canvas
    drag_from_palette(
        page, "Sticky note", (canvas["x"] + 120, canvas["y"] + canvas["height"] - 120)
    )
    page.wait_for_function(f"{count} === 5")
    wait_saved(page)
    saved = page.evaluate("window.__editor.canvas.toDraftGraph()")
    ids = [n["id"] for n in saved["notes"]]
    assert len(set(ids)) == 5
    copies = [n for n in saved["notes"] if n["text"] == HOSTILE]
    assert len(copies) == 2
    assert [n["id"] for n in saved["nodes"]] == ["trigger", "log"]

    # How a tidy canvas with notes looks (the how-to's picture).
    tidy = {**GRAPH, "notes": [GRAPH["notes"][0], {**FRIENDLY, "id": "note_tip"}]}
    put_graph_and_reload(page, tidy)
    page.locator('#canvas .sn[data-note-id="note_tip"] h3').wait_for()
    page.locator('#canvas .sn[data-note-id="note_tip"]').hover()
    page.wait_for_timeout(300)  # the tools fade in

    # Publish; then a note's new colour is an unpublished change the diff names.
    page.click("#btn-publish")
    page.wait_for_function("document.querySelector('#wf-status').textContent.includes('v1')")
    tip = page.locator('#canvas .sn[data-note-id="note_tip"]')
    tip.hover()
    tip.locator(".sn-bar .sn-swatch-pink").click()
    page.wait_for_function(
        "document.querySelector('#canvas .sn[data-note-id=\"note_tip\"]').classList.contains('sn-pink')"
    )
    wait_saved(page)
    changes = page.locator("#wf-changes")
    changes.wait_for(state="visible", timeout=5000)
    changes.click()
    page.wait_for_selector("#diff-panel")
    line = page.locator('#diff-panel li[data-note-id="note_tip"]').inner_text()
    assert "Sticky note Before publishing note_tip changed:" in line
    assert "color" in line
