"""One journey through the studio, as a new user makes it: build a workflow on the canvas
(trigger → condition → HTTP call to a local server), configure its nodes, test and backtest
the rule, publish, send a signed webhook, and see the run complete."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from e2e.conftest import screenshot
from e2e.test_editor import (
    draft_graph,
    drag,
    drag_from_palette,
    log_in,
    node_box,
    port_center,
    wait_ready,
    wait_saved,
)

pytestmark = pytest.mark.e2e

DEMO_SIGNING_SECRET = "whsec_demo_sandbox_secret"  # the demo site's (DEBUG) signing secret


class _Recorder(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).received.append({"path": self.path, "body": json.loads(body or b"{}")})
        payload = b'{"accepted": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def order_service():
    _Recorder.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.received
    server.shutdown()
    server.server_close()


def open_node(page, node_id: str) -> None:  # type: ignore[no-untyped-def]
    box = node_box(page, node_id)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#panel-body #btn-save-node", timeout=10_000)


def save_node(page) -> None:  # type: ignore[no-untyped-def]
    revision = page.evaluate("window.__editor.autosaver.revision")
    page.click("#btn-save-node")
    page.wait_for_function(f"window.__editor.autosaver.revision > {revision}", timeout=10_000)


def test_build_configure_test_publish_and_run_a_workflow(live_site, page, order_service):
    service_url, received = order_service
    log_in(page, live_site)
    page.goto(f"{live_site.url}/studio/wizard/")
    page.fill("input[name=name]", "Big orders to the warehouse")
    page.fill("input[name=event_type]", "order.created")
    page.click("#new-workflow button[type=submit]")
    page.wait_for_url(re.compile(r".*/studio/workflows/\d+/$"))
    wait_ready(page)

    # Build: a condition and an HTTP call, connected on the condition's true branch.
    canvas = page.locator("#canvas").bounding_box()
    page.locator("#canvas").click(position={"x": 30, "y": 30})
    page.keyboard.press("-")
    page.keyboard.press("-")
    # Pan (drag the background) so the trigger sits at the canvas's left edge.
    trigger = node_box(page, "trigger")
    blank = (canvas["x"] + 40, canvas["y"] + canvas["height"] - 40)
    drag(page, blank, (blank[0] + canvas["x"] + 30 - trigger["x"], blank[1] - 150))
    trigger = node_box(page, "trigger")
    drop_y = trigger["y"] + trigger["height"] / 2
    drag_from_palette(page, "Condition", (canvas["x"] + canvas["width"] * 0.5, drop_y))
    page.wait_for_selector('#canvas g.x6-node[data-cell-id="condition"]')
    http_label = (
        page.locator(".ed-group", has_text="HTTP request")
        .locator(".ed-item-label")
        .first.inner_text()
    )
    drag_from_palette(page, http_label, (canvas["x"] + canvas["width"] * 0.8, drop_y + 90))
    page.wait_for_function(
        "window.__editor.graph.getNodes().some(n => n.getData().raw.connector === 'http')"
    )
    http_id = next(n["id"] for n in draft_graph(page)["nodes"] if n.get("connector") == "http")
    screenshot(page, "39-journey-built")
    drag(page, port_center(page, "trigger", "out"), port_center(page, "condition", "in"))
    drag(page, port_center(page, "condition", "true"), port_center(page, http_id, "in"))
    wait_saved(page)
    assert len(draft_graph(page)["edges"]) == 2

    # Configure the nodes in their panels.
    open_node(page, "condition")
    page.fill("#panel-body textarea[name=condition]", '{">": [{"var": "event.payload.items"}, 2]}')
    save_node(page)
    open_node(page, http_id)
    page.fill("#id-input-url", f"{service_url}/orders")
    page.select_option("#id-input-method", "POST")
    json_box = page.locator("#id-input-json")
    json_box.fill('{"order": "{{ event.payload.id }}", "total": "{{ event.payload.total }}"}')
    save_node(page)
    graph = draft_graph(page)
    http_node = next(n for n in graph["nodes"] if n["id"] == http_id)
    assert http_node["inputs"]["url"] == f"{service_url}/orders"
    screenshot(page, "40-journey-configured")

    # The rule: only orders over 100, tested on a pasted payload, then saved and backtested.
    page.click("#tab-rules")
    page.wait_for_selector("#rule-spec")
    page.fill("#rule-spec", '{">": [{"var": "total"}, 100]}')
    page.fill("#rule-payload", '{"id": "A-1", "total": 250, "items": 3}')
    page.click("#btn-test-rule")
    page.wait_for_function(
        "document.querySelector('#rule-result').textContent.trim() !== ''", timeout=10_000
    )
    assert "would start a run" in page.inner_text("#rule-result").lower()
    page.click("#btn-save-rule")
    page.wait_for_function("document.querySelector('#rule-save-result').textContent.trim() !== ''")
    page.click("#btn-backtest")
    page.wait_for_function(
        "document.querySelector('#backtest-result').textContent.trim() !== ''", timeout=15_000
    )
    screenshot(page, "41-journey-rule")

    # Publish.
    page.click("#btn-publish")
    page.wait_for_selector("#publish-outcome", timeout=15_000)
    assert "v1" in page.inner_text("#publish-outcome") or "1" in page.inner_text("#publish-outcome")
    page.wait_for_function("document.querySelector('#wf-status').textContent.includes('v1')")
    screenshot(page, "42-journey-published")

    # A shop sends a signed webhook; the run completes and the service got the order.
    live_site.manage(
        "shell",
        "-c",
        "from automate.triggers.models import WebhookEndpoint; "
        "from automate.tenants.services import get_default_tenant; "
        "WebhookEndpoint.objects.get_or_create(slug='shop', defaults=dict(tenant=get_default_tenant(), "
        "name='Shop', scheme='generic', secret_name='STRIPE_WEBHOOK_SECRET', "
        "event_type='order.created', source='shop'))",
    )
    body = json.dumps({"id": "A-1001", "total": 250, "items": 3}).encode()
    # The generic scheme: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<delivery id>.<body>">.
    signed_at = int(time.time())
    digest = hmac.new(
        DEMO_SIGNING_SECRET.encode(), f"{signed_at}.delivery-1.".encode() + body, hashlib.sha256
    ).hexdigest()
    signature = f"t={signed_at},v1={digest}"
    request = urllib.request.Request(
        f"{live_site.url}/hooks/shop/",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Signature": signature,
            "X-Delivery-Id": "delivery-1",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
        event_id = json.loads(response.read())["id"].replace("-", "")

    deadline = time.monotonic() + 30
    while True:
        runs = live_site.query(
            "SELECT id, status FROM automate_executionrun WHERE replace(event_id, '-', '') = ?",
            (event_id,),
        )
        if runs and runs[0][1] in ("succeeded", "failed"):
            break
        assert time.monotonic() < deadline, f"the run did not finish: {runs}"
        time.sleep(0.25)
    assert runs[0][1] == "succeeded"
    assert received == [{"path": "/orders", "body": {"order": "A-1001", "total": 250}}]

    page.goto(f"{live_site.url}/studio/runs/{uuid.UUID(str(runs[0][0]))}/")
    page.wait_for_selector("text=succeeded")
    screenshot(page, "43-journey-run")
