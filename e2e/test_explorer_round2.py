"""The Execution Explorer, round two, in Chromium against a live daphne with worker threads.

* A run of v1 fails calling a dead URL (the error names the URL with its path); v2 with
  the fix is published; the retry button says it uses v1, and "Re-run this event on the
  live version" starts a run of the same event on v2, which succeeds.
* Cancel asks for confirmation (dismissed: nothing happens; accepted: cancelled, and the
  page says who cancelled when).
* A burst of live changes (twenty calls finishing within a second or two, and a cancel
  among them) ends with the page showing exactly what the database holds.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from e2e.conftest import screenshot
from e2e.test_explorer import emit, login, wait_node

pytestmark = pytest.mark.e2e


class Api:
    """A local API: ``/old`` is gone (404), ``/new`` answers 200, ``/slow`` takes up to
    ``slow_seconds``."""

    def __init__(self) -> None:
        self.slow_seconds = 1.5
        self.requests: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                api.requests.append(self.path)
                status = 404 if self.path.startswith("/old") else 200
                if self.path.startswith("/slow"):
                    time.sleep(random.uniform(0.05, api.slow_seconds))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Api:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def call(node_id: str, url: str, x: int, y: int = 140) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "action",
        "label": f"Call {node_id}",
        "connector": "http",
        "action": "request",
        "inputs": {"method": "POST", "url": url, "json": {"n": 1}, "timeout_seconds": 10},
        "retry": {"max_retries": 0},
        "position": {"x": x, "y": y},
    }


def import_workflow(site: Any, tmp_path: Path, slug: str, event: str, nodes: list, edges: list):
    document = {
        "slug": slug,
        "name": f"Round two: {slug}",
        "trigger_spec": {"event_type": event},
        "graph": {
            "nodes": [
                {
                    "id": "trigger",
                    "type": "trigger",
                    "label": "Order placed",
                    "position": {"x": 40, "y": 140},
                },
                *nodes,
            ],
            "edges": edges,
        },
    }
    path = tmp_path / f"{slug}-{time.monotonic_ns()}.json"
    path.write_text(json.dumps(document))
    site.manage("automate_import", "--file", str(path), "--publish")


def emit_type(site: Any, event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    import e2e.test_explorer as explorer

    previous = explorer.EVENT_TYPE
    explorer.EVENT_TYPE = event_type
    try:
        return emit(site, payload)
    finally:
        explorer.EVENT_TYPE = previous


def needs_local_calls(site: Any) -> None:
    allowed = site.manage(
        "shell", "-c", "from automate import conf; print(conf.get('POLICY', 'http_allowlist'))"
    )
    if "127.0.0.1" not in allowed:
        pytest.skip("The live site does not allow outbound calls to 127.0.0.1.")


def open_run(site: Any, page: Any, trace_id: str) -> str:
    """Open the run of ``trace_id`` (the runs list filtered by trace) and return its url."""
    deadline = time.monotonic() + 15
    page.goto(f"{site.url}/studio/runs/?trace={trace_id}")
    while page.locator("#runs-body tr a.strong").count() == 0 and time.monotonic() < deadline:
        time.sleep(0.3)
        page.reload()
    page.locator("#runs-body tr a.strong").first.click()
    page.wait_for_url(re.compile(r".*/studio/runs/[0-9a-f-]{36}/$"))
    page.wait_for_selector("#live-indicator.live-on")
    return page.url


def test_retry_names_the_version_and_re_run_uses_the_live_one(live_site, page, tmp_path):
    needs_local_calls(live_site)
    with Api() as api:
        nodes = [call("call", f"{api.base}/old/orders?api_key=k-secret-1", 320)]
        edges = [{"source": "trigger", "target": "call"}]
        import_workflow(live_site, tmp_path, "rerun", "e2e.rerun", nodes, edges)
        login(live_site, page)
        emitted = emit_type(live_site, "e2e.rerun", {"order": "B-1"})
        old_url = open_run(live_site, page, emitted["trace_id"])
        page.wait_for_selector("#run-status.status-failed")
        page.click('[data-cell-id="call"]')
        page.wait_for_selector("#step-panel .step-error")
        error = page.inner_text("#step-panel .step-error")
        assert f"{api.base}/old/orders?api_key=********" in error  # the path, masked key
        assert "k-secret-1" not in page.content()

        # The fix is published as v2 while the v1 run is open.
        nodes = [call("call", f"{api.base}/new/orders", 320)]
        import_workflow(live_site, tmp_path, "rerun", "e2e.rerun", nodes, edges)
        page.reload()
        page.wait_for_selector("#newer-live")
        assert "v2 is live" in page.inner_text("#newer-live")
        page.click('[data-cell-id="call"]')
        page.wait_for_selector("#retry-step")
        assert page.inner_text("#retry-step") == "Retry this step on v1"
        assert "v2 is live now" in page.inner_text("#version-note")
        screenshot(page, "40-run-retry-names-version")

        dialogs: list[str] = []
        page.once("dialog", lambda d: (dialogs.append(d.message), d.accept()))
        page.click("#rerun-live")
        page.wait_for_url(lambda url: url != old_url and "/studio/runs/" in url)
        assert "v2" in dialogs[0]
        page.wait_for_selector("#run-status.status-succeeded")
        assert page.inner_text("#run-version") == "v2"
        wait_node(page, "call", "succeeded")
        assert api.requests[-1] == "/new/orders"
        screenshot(page, "41-rerun-on-live-succeeded")

        # The old run now links to the event's run on v2 instead of offering a second one.
        page.goto(old_url)
        page.wait_for_selector("#open-live-run")
        assert page.locator("#rerun-live").count() == 0
        screenshot(page, "44-old-run-links-to-live-run")


def test_cancel_asks_for_confirmation_and_says_who_cancelled(live_site, page, tmp_path):
    needs_local_calls(live_site)
    nodes = [
        {
            "id": "wait",
            "type": "delay",
            "seconds": 300,
            "label": "Wait 5 minutes",
            "position": {"x": 320, "y": 140},
        },
        {
            "id": "after",
            "type": "transform",
            "label": "Then this",
            "inputs": {},
            "position": {"x": 600, "y": 140},
        },
    ]
    edges = [{"source": "trigger", "target": "wait"}, {"source": "wait", "target": "after"}]
    import_workflow(live_site, tmp_path, "cancel", "e2e.cancel", nodes, edges)
    login(live_site, page)
    emitted = emit_type(live_site, "e2e.cancel", {})
    open_run(live_site, page, emitted["trace_id"])
    page.wait_for_selector("#run-status.status-running")

    page.once("dialog", lambda d: d.dismiss())
    page.click("#cancel-run")
    time.sleep(1)
    assert page.inner_text("#run-status") == "running"  # dismissed: nothing was sent

    messages: list[str] = []
    page.once("dialog", lambda d: (messages.append(d.message), d.accept()))
    page.click("#cancel-run")
    page.wait_for_selector("#run-status.status-cancelled")
    assert "Cancel this run?" in messages[0]
    page.wait_for_selector("#run-note:not([hidden])")
    assert page.inner_text("#run-note").startswith(
        f"The run was cancelled by {live_site.username} at "
    )
    row = page.locator('#timeline-body tr[data-node-id="after"] .step-note')
    assert "Not run: the run was cancelled by" in row.inner_text()
    assert page.locator("#cancel-form").is_hidden()
    screenshot(page, "42-run-cancelled-by-whom")
    # No dead letter for the dropped job.
    page.goto(f"{live_site.url}/studio/runs/?view=dead")
    assert page.locator("#dead-letters tr", has_text="Round two: cancel").count() == 0


def expected_statuses(site: Any, run_id: str) -> tuple[str, dict[str, str], int]:
    """The run's status, each node's shown status and the frame counter, from the DB."""
    hex_id = run_id.replace("-", "")
    (status,) = site.query("SELECT status FROM automate_executionrun WHERE id = ?", (hex_id,))[0]
    rows = site.query(
        "SELECT node_id, status, attempt FROM automate_steprun WHERE run_id = ? AND is_current",
        (hex_id,),
    )
    latest: dict[str, tuple[int, str]] = {}
    for node_id, step_status, attempt in rows:
        if node_id not in latest or attempt >= latest[node_id][0]:
            latest[node_id] = (attempt, step_status)
    queued = {
        node_id
        for (node_id,) in site.query(
            "SELECT node_id FROM automate_outboxjob WHERE run_id = ? AND kind = 'step' "
            "AND status IN ('PENDING', 'CLAIMED')",
            (hex_id,),
        )
    }
    shown = {
        node_id: "pending" if node_id in queued and s in ("failed", "cancelled") else s
        for node_id, (_, s) in latest.items()
    }
    seq = site.query("SELECT seq FROM automate_runliveseq WHERE run_id = ?", (hex_id,))
    return status, shown, int(seq[0][0]) if seq else 0


def test_a_live_burst_with_a_cancel_converges_on_the_database(live_site, page, tmp_path):
    needs_local_calls(live_site)
    with Api() as api:
        fan = [
            call(f"c{i:02d}", f"{api.base}/slow/{i}", 320 + 230 * (i // 10), 20 + 60 * (i % 10))
            for i in range(20)
        ]
        edges = [{"source": "trigger", "target": n["id"]} for n in fan]
        import_workflow(live_site, tmp_path, "burst", "e2e.burst", fan, edges)
        login(live_site, page)
        emitted = emit_type(live_site, "e2e.burst", {})
        run_url = open_run(live_site, page, emitted["trace_id"])
        run_id = run_url.rstrip("/").rsplit("/", 1)[-1]
        # Cancel in the middle of the burst.
        page.once("dialog", lambda d: d.accept())
        page.click("#cancel-run")
        page.wait_for_selector("#run-status.status-cancelled", timeout=15_000)
        # The calls already running finish and the jobs already claimed are written "not
        # run" (some of these writes send no signal): wait until nothing is in flight in the
        # database, then the page must show exactly that, frame number included.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status, shown, seq = expected_statuses(live_site, run_id)
            in_flight = [s for s in shown.values() if s in ("running", "pending", "retrying")]
            claimed = live_site.query(
                "SELECT count(*) FROM automate_outboxjob WHERE run_id = ? "
                "AND status IN ('PENDING', 'CLAIMED')",
                (run_id.replace("-", ""),),
            )[0][0]
            if not in_flight and not claimed:
                break
            time.sleep(0.3)

        # Converged: within a few seconds the page shows what is stored, and stays so.
        def drawn() -> dict[str, str]:
            return {
                node["id"]: page.get_attribute(
                    f'[data-cell-id="{node["id"]}"] rect[data-status]', "data-status"
                )
                for node in fan
            }

        def stored() -> dict[str, str]:
            shown = expected_statuses(live_site, run_id)[1]
            return {node["id"]: shown.get(node["id"], "pending") for node in fan}

        deadline = time.monotonic() + 10
        while drawn() != stored() and time.monotonic() < deadline:
            time.sleep(0.3)
        time.sleep(2)
        status, shown, seq = expected_statuses(live_site, run_id)
        assert page.inner_text("#run-status") == status == "cancelled"
        assert page.evaluate("document.body.dataset.liveSeq") == str(seq)
        assert drawn() == stored()
        assert set(shown.values()) <= {"succeeded", "cancelled"}
        screenshot(page, "43-live-burst-converged")
