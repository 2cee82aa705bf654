"""The demo site of `scripts/docs-screenshots` and the state its pictures show.

``Site`` is the running site (URL, login, environment, scratch folder) with the product's
own ways in: ``automate_import`` for workflow files, the events API for events.
``prepare(site)`` imports the workflows the pictures open (by slug), sends a week of
invoices and a few orders to a local API that answers 404 (failed runs, dead letters),
and spreads the runs over the past week for the insights.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from e2e.site import manage


class Api:
    """A local API: paths under ``/old`` answer 404, every other path 200."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(404 if self.path.startswith("/old") else 200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


class Site:
    """The running demo site: its URL, login, environment and scratch folder."""

    def __init__(self, url: str, env: dict[str, str], var_dir: Path, api: Api) -> None:
        self.url, self.env, self.var_dir, self.api = url, env, var_dir, api
        self.password = (var_dir / "demo_credentials").read_text().strip()

    def manage(self, *args: str) -> str:
        return manage(self.env, *args)

    def import_workflow(self, document: dict[str, Any], publish: bool = False) -> int:
        """Import (or re-import, as a new version) a workflow file; its id."""
        path = self.var_dir / f"{document['slug']}-{time.monotonic_ns()}.json"
        path.write_text(json.dumps(document))
        self.manage("automate_import", "--file", str(path), *(["--publish"] if publish else []))
        return self.workflow_id(document["slug"])

    def workflow_id(self, slug: str) -> int:
        import sqlite3

        with sqlite3.connect(self.var_dir / "db.sqlite3", timeout=10) as conn:
            ((found,),) = conn.execute("SELECT id FROM automate_workflow WHERE slug = ?", (slug,))
        return int(found)

    def emit(self, event_type: str, payload: dict[str, Any], source: str = "shop") -> str:
        """POST an event to /api/v1/events/ as the demo user; its trace id."""
        import base64
        import urllib.request

        token = base64.b64encode(f"demo:{self.password}".encode()).decode()
        request = urllib.request.Request(
            f"{self.url}/api/v1/events/",
            data=json.dumps({"type": event_type, "source": source, "payload": payload}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(json.loads(response.read())["trace_id"])


# --- The workflows the pictures show --------------------------------------------------


def node(node_id: str, label: str, x: int, y: int = 160, **rest: Any) -> dict[str, Any]:
    return {"id": node_id, "label": label, "position": {"x": x, "y": y}, **rest}


def http_call(node_id: str, label: str, url: str, x: int) -> dict[str, Any]:
    return node(
        node_id,
        label,
        x,
        type="action",
        connector="http",
        action="request",
        inputs={"method": "POST", "url": url, "json": {"order": "{{ event.payload.order }}"}},
        retry={"max_retries": 0},
    )


def chain(slug: str, name: str, event: str, nodes: list[dict[str, Any]], **spec: Any) -> dict:
    """A workflow file whose steps run one after the other."""
    return {
        "slug": slug,
        "name": name,
        "trigger_spec": {"event_type": event, **spec},
        "graph": {
            "nodes": nodes,
            "edges": [{"source": a["id"], "target": b["id"]} for a, b in itertools.pairwise(nodes)],
        },
    }


def orders_workflow(api: Api, path: str) -> dict[str, Any]:
    return chain(
        "sync-orders",
        "Sync orders to the warehouse",
        "order.placed",
        [
            node("trigger", "Order placed", 40, type="trigger"),
            node(
                "prepare",
                "Prepare the order",
                320,
                type="transform",
                inputs={"order": "{{ event.payload.order }}"},
            ),
            http_call("call", "Send to the warehouse", f"{api.base}{path}", 600),
            node(
                "done",
                "Record the answer",
                880,
                type="transform",
                inputs={"status": "{{ steps.call.output.status }}"},
            ),
        ],
    )


EXPRESSIONS = chain(
    "invoice-notes",
    "Invoice notes",
    "invoice.paid",
    [
        node("trigger", "Stripe: invoice.paid", 40, type="trigger"),
        node(
            "totals",
            "Totals",
            320,
            type="transform",
            inputs={"cents": "{{ event.payload.data.object.amount_paid }}"},
        ),
        node(
            "note",
            "Write a note",
            600,
            type="action",
            connector="log",
            action="write",
            inputs={"message": "Invoice {{ event.payload.data.object.id }} paid", "level": "info"},
        ),
    ],
    source="stripe",
)


def log_step(x: int) -> dict[str, Any]:
    return node(
        "log_write",
        "Write to the log",
        x,
        type="action",
        connector="log",
        action="write",
        inputs={"message": "Order {{ event.payload.id }}", "level": "info"},
    )


WEBHOOK = chain(
    "shop-orders",
    "Shop orders",
    "webhook.received",
    [
        node("trigger", "When a webhook arrives", 40, type="trigger", trigger_kind="webhook"),
        log_step(340),
    ],
)
SCHEDULE = chain(
    "weekday-report",
    "Weekday report",
    "schedule.tick",
    [node("trigger", "On a schedule", 40, type="trigger", trigger_kind="schedule"), log_step(340)],
    schedule={"cron": "0 9 * * 1-5", "timezone": "UTC", "missed": "skip"},
)
NIGHTLY = chain(
    "nightly-cleanup",
    "Nightly cleanup",
    "cleanup.requested",
    [
        node("trigger", "Cleanup requested", 40, type="trigger"),
        node("wait", "Wait 5 minutes", 320, type="delay", seconds=300),
        log_step(600),
    ],
)


NOTES = chain(
    "invoice-alerts",
    "Big invoice alerts",
    "invoice.paid",
    [
        node("trigger", "Invoice paid", 40, y=200, type="trigger"),
        node(
            "log",
            "Log the invoice",
            380,
            y=200,
            type="action",
            connector="log",
            action="write",
            inputs={"message": "Paid {{ event.payload.data.object.id }}", "level": "info"},
        ),
    ],
)
NOTES["graph"]["notes"] = [
    {
        "id": "note_why",
        "text": "## Why\nBilling asked for this in *March*.\n\n1. check the amount\n2. tell them",
        "position": {"x": 40, "y": -60},
        "size": {"width": 300, "height": 190},
        "color": "blue",
    },
    {
        "id": "note_check",
        "text": "### Before publishing\n- set `SLACK_TOKEN` in **Secrets**\n"
        "- test with a real invoice\n\nRunbook: https://example.com/runbook",
        "position": {"x": 380, "y": -60},
        "size": {"width": 300, "height": 170},
        "color": "yellow",
    },
]


def prepare(site: Site) -> None:
    """The workflows and runs the pictures show."""
    for document in (EXPRESSIONS, WEBHOOK, SCHEDULE, NOTES):
        site.import_workflow(document)
    site.import_workflow(NIGHTLY, publish=True)
    site.import_workflow(orders_workflow(site.api, "/old/orders"), publish=True)
    site.manage("automate_demo", "--send-invoice", "4321")
    for n in range(18):  # a week of invoices for the insights
        site.emit("invoice.paid", invoice(n), "stripe")
    for n in range(3):
        site.emit("order.placed", {"order": f"A-99{n}"})
    wait_for_runs(site)
    site.manage("shell", "-c", SPREAD_RUNS)
    site.failed_trace = site.emit("order.placed", {"order": "A-1001"})  # type: ignore[attr-defined]
    site.emit("order.placed", {"order": "A-1002"})
    site.manage("automate_demo", "--send-invoice", "125000")
    wait_for_runs(site)


def invoice(n: int) -> dict[str, Any]:
    """A Stripe-like invoice.paid payload, as `automate_demo --send-invoice` sends."""
    customer = n % 3 + 1
    return {
        "id": f"evt_week_{n}",
        "type": "invoice.paid",
        "data": {
            "object": {
                "id": f"in_week_{n:04d}",
                "customer": f"cus_demo_{customer}",
                "customer_email": f"customer{customer}@example.com",
                "amount_paid": 1500 + 700 * n,
                "currency": "usd",
            }
        },
    }


#: Spreads every run but the newest over the past week (the insights show a week).
SPREAD_RUNS = """
from datetime import timedelta
from automate.execution.models import ExecutionRun
for n, run in enumerate(ExecutionRun.objects.order_by("-created_at")[1:]):
    back = timedelta(hours=7 * n + 3)
    ExecutionRun.objects.filter(pk=run.pk).update(
        created_at=run.created_at - back,
        started_at=run.started_at and run.started_at - back,
        finished_at=run.finished_at and run.finished_at - back,
    )
"""


def wait_for_runs(site: Site, timeout: float = 90) -> None:
    """Wait until the worker threads have finished every run."""
    import sqlite3

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(site.var_dir / "db.sqlite3", timeout=10) as conn:
            ((busy,),) = conn.execute(
                "SELECT (SELECT count(*) FROM automate_executionrun"
                "        WHERE status IN ('pending', 'running'))"
                " + (SELECT count(*) FROM automate_outboxjob"
                "    WHERE status IN ('PENDING', 'CLAIMED')"
                "    AND (next_attempt_at IS NULL OR next_attempt_at <= datetime('now')))"
            )
        if not busy:
            return
        time.sleep(0.5)
    raise RuntimeError(f"runs still unfinished after {timeout} s")
