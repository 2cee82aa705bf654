"""How long the editor takes to become interactive on a 200-node workflow. Prints; asserts nothing.

    .venv/bin/python bench/editor_200_nodes.py [--nodes 200] [--runs 3]

Sets up a scratch site the way `make run` does (migrate, automate_demo, daphne on a free
port), creates a workflow through the studio (wizard, then a PUT of draft.json with a
200-node graph: a trigger, conditions with both branches, actions of several connectors,
merges), then opens the editor in headless Chromium and reports, per run:

* ``ready``: ``window.__editorReady`` — milliseconds from navigation start until the first
  render of the canvas is done and it takes input (palette, draft and X6 loaded);
* ``load``: the ``load`` event, for comparison;
* ``tidy``: one "Tidy up" (dagre layout of the whole graph).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from e2e.site import free_port, manage, serve, site_env  # noqa: E402

CHROMIUM = os.environ.get("AUTOMATE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ACTIONS = [("log", "write"), ("http", "request"), ("slack", "post_message"), ("email", "send")]


def big_graph(count: int) -> dict[str, Any]:
    """A connected DAG of ``count`` nodes in columns of 8 (positions included)."""
    nodes: list[dict[str, Any]] = [
        {"id": "trigger", "type": "trigger", "label": "Start", "position": {"x": 0, "y": 0}}
    ]
    edges: list[dict[str, Any]] = []
    for i in range(1, count):
        column, row = divmod(i - 1, 8)
        node_id = f"n{i}"
        position = {"x": 300 * (column + 1), "y": 100 * row}
        if i % 10 == 0:
            node: dict[str, Any] = {
                "id": node_id,
                "type": "condition",
                "condition": {">": [{"var": "event.payload.amount"}, i]},
            }
        elif i % 10 == 5:
            node = {"id": node_id, "type": "merge"}
        else:
            connector, action = ACTIONS[i % len(ACTIONS)]
            node = {"id": node_id, "type": "action", "connector": connector, "action": action}
            node["inputs"] = {"message": f"step {i}"}
        node.update(label=f"Step {i}", position=position)
        nodes.append(node)
        parent = nodes[max(0, i - 8)] if i > 8 else nodes[0]
        edge: dict[str, Any] = {"source": parent["id"], "target": node_id}
        if parent["type"] == "condition":
            edge["branch"] = "true" if i % 2 else "false"
        edges.append(edge)
    return {"nodes": nodes, "edges": edges}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--screenshot", help="save a PNG of the canvas after the first run")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    var_dir = Path(tempfile.mkdtemp(prefix="editor-bench-"))
    port = free_port()
    env = site_env(var_dir, port)
    manage(env, "migrate", "--noinput")
    manage(env, "automate_demo")
    password = (var_dir / "demo_credentials").read_text().strip()
    with serve(env, var_dir, port) as url:
        graph = big_graph(args.nodes)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{url}/studio/login/")
            page.fill("input[name=username]", "demo")
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_url(f"{url}/studio/")
            page.goto(f"{url}/studio/wizard/")
            page.fill("input[name=name]", f"Bench {args.nodes} nodes")
            page.fill("input[name=event_type]", "invoice.paid")
            page.click("#new-workflow button[type=submit]")
            page.wait_for_url("**/studio/workflows/*/")
            editor_url = page.url
            status = page.evaluate(
                """async (graph) => {
                    const url = location.pathname + 'draft.json';
                    const draft = await (await fetch(url)).json();
                    const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
                    const r = await fetch(url, {method: 'PUT', headers: {'X-CSRFToken': token},
                        body: JSON.stringify({revision: draft.revision, graph})});
                    return r.status;
                }""",
                graph,
            )
            if status != 200:
                raise RuntimeError(f"saving the {args.nodes}-node draft answered {status}")
            ready: list[float] = []
            loaded: list[float] = []
            tidy: list[float] = []
            for _ in range(args.runs):
                page.goto(editor_url)
                page.wait_for_function("window.__editorReady !== undefined", timeout=60000)
                count = page.evaluate("window.__editor.graph.getNodes().length")
                if count != args.nodes:
                    raise RuntimeError(f"the canvas shows {count} nodes, not {args.nodes}")
                ready.append(page.evaluate("window.__editorReady"))
                if args.screenshot and len(ready) == 1:
                    page.screenshot(path=args.screenshot)
                loaded.append(
                    page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
                )
                tidy.append(
                    page.evaluate(
                        """() => { const t = performance.now(); window.__editor.actions.tidy();
                                   return performance.now() - t; }"""
                    )
                )
                # Leave without the tidy-up being saved, so every run opens the same graph.
                page.evaluate("window.__editor.autosaver.stale = true")
            browser.close()
        print(f"editor with {args.nodes} nodes, {len(graph['edges'])} edges, {args.runs} runs")
        for name, values in (("ready", ready), ("load", loaded), ("tidy", tidy)):
            print(
                f"  {name:<6} median {statistics.median(values):7.0f} ms"
                f"   min {min(values):7.0f} ms   max {max(values):7.0f} ms"
            )
        print(json.dumps({"ready_ms": ready, "load_ms": loaded, "tidy_ms": tidy}))


if __name__ == "__main__":
    main()
