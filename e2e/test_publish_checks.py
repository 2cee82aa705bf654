"""Publish checks in the editor: broken steps are badged and counted, publishing is refused
with the problem on the node, unknown variables are warnings; the minimap shows every
node with its viewport inside; pasted nodes land clear of the originals; long titles stay
readable."""

from __future__ import annotations

import re

import pytest

from e2e.conftest import screenshot
from e2e.test_editor import log_in, node_box, wait_ready, wait_saved

pytestmark = pytest.mark.e2e

LONG_TITLE = "Tell the billing channel that a large invoice was paid"

GRAPH = {
    "nodes": [
        {"id": "trigger", "type": "trigger", "position": {"x": 40, "y": 160}},
        {
            "id": "notify",
            "type": "action",
            "label": LONG_TITLE,
            "connector": "slack",
            "action": "post_message",
            "inputs": {},
            "position": {"x": 360, "y": 40},
        },
        {
            "id": "greet",
            "type": "action",
            "label": "Log the greeting",
            "connector": "log",
            "action": "write",
            "inputs": {"message": "Hello {{ event.id "},
            "position": {"x": 360, "y": 180},
        },
        {
            "id": "coupon",
            "type": "action",
            "label": "Log the coupon",
            "connector": "log",
            "action": "write",
            "inputs": {"message": "Coupon {{ event.payload.coupon }}"},
            "position": {"x": 360, "y": 320},
        },
    ],
    "edges": [
        {"source": "trigger", "target": "notify"},
        {"source": "trigger", "target": "greet"},
        {"source": "trigger", "target": "coupon"},
    ],
}


def new_workflow(page, live_site, name: str) -> int:  # type: ignore[no-untyped-def]
    log_in(page, live_site)
    page.goto(f"{live_site.url}/studio/wizard/")
    page.fill("input[name=name]", name)
    page.fill("input[name=event_type]", "invoice.paid")
    page.click("#new-workflow button[type=submit]")
    page.wait_for_url(re.compile(r".*/studio/workflows/\d+/$"))
    wait_ready(page)
    return int(re.search(r"/workflows/(\d+)/", page.url).group(1))  # type: ignore[union-attr]


def put_graph_and_reload(page, graph: dict) -> None:  # type: ignore[no-untyped-def]
    """Save ``graph`` as the draft (as another tab would) and open the editor on it."""
    page.evaluate(
        """async (graph) => {
            const url = window.location.pathname + 'draft.json';
            const draft = await (await fetch(url)).json();
            const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
            const answer = await fetch(url, {method: 'PUT', headers: {'X-CSRFToken': token},
                body: JSON.stringify({revision: draft.revision, graph})});
            if (!answer.ok) throw new Error(await answer.text());
        }""",
        graph,
    )
    page.reload()
    wait_ready(page)


def badge(page, node_id: str) -> str:  # type: ignore[no-untyped-def]
    """The text of a node's badge, or "" when it shows none."""
    return page.evaluate(
        """(id) => {
            const cell = window.__editor.graph.getCellById(id);
            const attrs = cell.getAttrs().badgeText;
            return attrs.display === 'none' ? '' : String(attrs.text);
        }""",
        node_id,
    )


def test_broken_steps_are_badged_counted_and_refused(live_site, page):
    workflow_id = new_workflow(page, live_site, "Publish checks e2e")
    put_graph_and_reload(page, GRAPH)

    # Each broken step wears a red badge with its number of problems; the warning is amber.
    assert badge(page, "notify") == "3"  # token, channel and text are required
    assert badge(page, "greet") == "1"  # the template syntax error
    assert badge(page, "coupon") == "!"  # a warning: no sample event has a coupon
    count = page.locator("#problem-count")
    assert count.is_visible()
    assert count.get_attribute("data-problems") == "4"
    assert count.get_attribute("data-warnings") == "1"
    assert "4 problems" in count.inner_text()
    assert "1 warning" in count.inner_text()
    tooltip = page.locator('#canvas g.x6-node[data-cell-id="greet"] title').first.text_content()
    assert "inputs.message" in (tooltip or "")
    assert "syntax" in (tooltip or "").lower()
    screenshot(page, "40-editor-problem-badges")

    # Publishing is refused; each problem names its node, which the link shows.
    page.click("#btn-publish")
    problems = page.locator("#publish-problems")
    problems.wait_for()
    assert "Not published: 4 problems" in problems.inner_text()
    assert problems.locator('[data-node-id="notify"]').count() == 3
    assert problems.locator('[data-node-id="greet"]').count() == 1
    assert "inputs.channel" in problems.inner_text()
    assert "Template syntax error in inputs.message" in problems.inner_text()
    warnings = page.locator("#publish-warnings")
    assert "event.payload.coupon" in warnings.inner_text()
    assert page.locator("#wf-status").inner_text().strip() == "draft"
    assert page.locator(".toast-error").count() == 0  # shown in place, not as a failure
    assert (
        live_site.query(
            "SELECT COUNT(*) FROM automate_workflowversion WHERE workflow_id = ?",
            (workflow_id,),
        )[0][0]
        == 0
    )
    screenshot(page, "41-editor-publish-refused")
    problems.locator('[data-node-id="greet"]').click()
    page.wait_for_function(
        "window.__editor.selection.getSelectedCells().map(c => c.id).join() === 'greet'"
    )

    # Fixed, the steps lose their badges; the warning alone does not stop publishing.
    fixed = {
        **GRAPH,
        "nodes": [
            GRAPH["nodes"][0],
            {
                **GRAPH["nodes"][1],
                "inputs": {"token": {"$secret": "SLACK_TOKEN"}, "channel": "#x", "text": "Hi"},
            },
            {**GRAPH["nodes"][2], "inputs": {"message": "Hello {{ event.id }}"}},
            GRAPH["nodes"][3],
        ],
    }
    put_graph_and_reload(page, fixed)
    assert badge(page, "notify") == ""
    assert badge(page, "greet") == ""
    assert page.locator("#problem-count").get_attribute("data-problems") == "0"
    page.click("#btn-publish")
    page.locator("#publish-outcome .alert-ok").wait_for()
    assert "Published v1" in page.locator("#publish-outcome").inner_text()
    assert "event.payload.coupon" in page.locator("#publish-warnings").inner_text()
    screenshot(page, "42-editor-published-with-warning")


def minimap_state(page) -> dict:  # type: ignore[no-untyped-def]
    return page.evaluate(
        """() => {
            const root = document.querySelector('#minimap .x6-widget-minimap');
            const paper = root.querySelector('.x6-graph').getBoundingClientRect();
            const view = root.querySelector('.x6-widget-minimap-viewport').getBoundingClientRect();
            const nodes = [...root.querySelectorAll('.x6-node')].map((n) => n.getBoundingClientRect());
            const inside = (r) => r.left >= paper.left - 1 && r.top >= paper.top - 1
                && r.right <= paper.right + 1 && r.bottom <= paper.bottom + 1;
            return {nodes: nodes.length, nodesInside: nodes.every(inside), viewInside: inside(view),
                    canvasNodes: window.__editor.graph.getNodes().length};
        }"""
    )


def test_minimap_paste_and_long_titles(live_site, page):
    new_workflow(page, live_site, "Minimap e2e")
    put_graph_and_reload(page, GRAPH)

    # Every node is in the minimap, and the visible-area outline stays inside it.
    page.wait_for_function("document.querySelectorAll('#minimap .x6-node').length === 4")
    state = minimap_state(page)
    assert state == {"nodes": 4, "nodesInside": True, "viewInside": True, "canvasNodes": 4}
    for key in ("-", "-", "-", "-"):
        page.keyboard.press(key)
    box = page.locator("#canvas").bounding_box()
    page.mouse.move(box["x"] + 60, box["y"] + box["height"] - 60)
    page.mouse.down()
    page.mouse.move(box["x"] + 400, box["y"] + 80, steps=10)
    page.mouse.up()
    page.wait_for_timeout(200)
    assert minimap_state(page)["viewInside"]
    screenshot(page, "44-editor-minimap-zoomed-out")
    # Dragging the outline in the minimap pans the canvas; the outline stays inside.
    outline = page.locator("#minimap .x6-widget-minimap-viewport").bounding_box()
    start = (outline["x"] + outline["width"] / 2, outline["y"] + outline["height"] / 2)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] - 15, start[1] - 10, steps=5)
    page.mouse.up()
    page.wait_for_timeout(200)
    assert minimap_state(page)["viewInside"]

    # A pasted copy lands 30px down-right of the original, the next paste 30px further.
    page.keyboard.press("Shift+!")
    page.wait_for_timeout(200)
    greet = node_box(page, "greet")
    page.mouse.click(greet["x"] + 150, greet["y"] + 40)
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    page.keyboard.press("Control+v")
    page.wait_for_selector('#canvas g.x6-node[data-cell-id="greet_3"]')
    wait_saved(page)
    positions = page.evaluate(
        "Object.fromEntries(window.__editor.graph.getNodes().map(n => [n.id, n.position()]))"
    )
    original, first, second = positions["greet"], positions["greet_2"], positions["greet_3"]
    assert (first["x"] - original["x"], first["y"] - original["y"]) == (30, 30)
    assert (second["x"] - original["x"], second["y"] - original["y"]) == (60, 60)
    # Copying the original again does not put the next copy on top of an earlier one.
    page.evaluate("window.__editor.selection.reset([window.__editor.graph.getCellById('greet')])")
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    page.wait_for_selector('#canvas g.x6-node[data-cell-id="greet_4"]')
    third = page.evaluate("window.__editor.graph.getCellById('greet_4').position()")
    assert (third["x"] - original["x"], third["y"] - original["y"]) == (90, 90)
    # Nodes added one by one show in the minimap too.
    page.wait_for_function("document.querySelectorAll('#minimap .x6-node').length === 7")
    state = minimap_state(page)
    assert state["nodesInside"]
    assert state["viewInside"]

    # The long title wraps to two lines that keep its words, with the whole as a tooltip.
    # The card's title is the <text> whose tooltip (<title>) is the whole title.
    label = page.locator('#canvas g.x6-node[data-cell-id="notify"] text').filter(
        has=page.locator("title", has_text=LONG_TITLE)
    )
    lines = [
        t.replace("\xa0", " ") for t in label.locator("tspan").all_text_contents() if t.strip()
    ]
    assert len(lines) == 2, lines
    assert lines[0].startswith("Tell the billing")
    assert label.locator("title").text_content() == LONG_TITLE
    card = node_box(page, "notify")
    text_box = label.bounding_box()
    assert text_box["x"] + text_box["width"] <= card["x"] + card["width"]
    screenshot(page, "43-editor-minimap-paste-titles")
