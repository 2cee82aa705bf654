"""Live explorer latency: from a step's commit to the browser seeing it. Prints; asserts nothing.

    .venv/bin/python bench/live_latency.py [--steps 100]

Starts the site as ``make run`` does (daphne, SQLite, in-memory channel layer, worker
threads in the server process) in a scratch folder, publishes a workflow of a short delay
then ``--steps`` transform steps in a chain, opens the run page in headless Chromium and
records when each websocket frame arrives (``Date.now()`` in the page). A step's latency is
the arrival of the first frame showing it succeeded minus its ``finished_at`` (written in
the transaction that commits it, so the figure slightly overstates the delay). Same
machine, same clock.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import tempfile
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from e2e.site import free_port, manage, serve, site_env  # noqa: E402

USER, PASSWORD = "bench", "bench-password-not-secret"
RECORDER = """
(() => {
  window.__frames = [];
  const Native = window.WebSocket;
  window.WebSocket = function (...args) {
    const socket = new Native(...args);
    socket.addEventListener("message", (e) => window.__frames.push([Date.now(), e.data]));
    return socket;
  };
  window.WebSocket.prototype = Native.prototype;
})();
"""


def workflow(steps: int) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [
        {"id": "trigger", "type": "trigger"},
        # Time to open the run page before the measured steps start.
        {"id": "wait", "type": "delay", "seconds": 4},
    ]
    edges = [{"source": "trigger", "target": "wait"}]
    previous = "wait"
    for i in range(1, steps + 1):
        nodes.append({"id": f"s{i}", "type": "transform", "inputs": {"i": i}})
        edges.append({"source": previous, "target": f"s{i}"})
        previous = f"s{i}"
    return {
        "slug": "bench-live-latency",
        "name": "Bench: live latency",
        "trigger_spec": {"event_type": "bench.latency"},
        "graph": {"nodes": nodes, "edges": edges},
    }


def emit(url: str) -> None:
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request = urllib.request.Request(
        f"{url}/api/v1/events/",
        data=json.dumps({"type": "bench.latency", "payload": {}}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).read()


#: From the publisher reading the state (``read_at_ms``) to the browser: the channel
#: layer's share.
PUBLISH_TO_BROWSER: list[float] = []


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def measure(url: str, steps: int, *, bare: bool) -> list[float]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        page.add_init_script(RECORDER)
        page.goto(f"{url}/studio/login/")
        page.fill("input[name=username]", USER)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/studio/")
        emit(url)
        page.goto(f"{url}/studio/runs/")
        row = page.locator("#runs-body tr").first
        row.wait_for(timeout=10_000)
        run_id = row.get_attribute("data-run-id")
        if bare:
            # A socket of its own on a quiet page: the transport without the page's drawing.
            page.evaluate(f"new WebSocket(`ws://${{location.host}}/ws/runs/{run_id}/`)")
            page.wait_for_function(
                "window.__frames.map(([, d]) => JSON.parse(d))"
                ".some((f) => f.type === 'run' && f.run.status === 'succeeded')",
                timeout=60_000 + steps * 2_000,
            )
        else:
            page.goto(f"{url}/studio/runs/{run_id}/")
            page.wait_for_selector("#run-status.status-succeeded", timeout=60_000 + steps * 2_000)
        frames = page.evaluate("window.__frames")
        browser.close()
    seen: dict[str, float] = {}
    for received_ms, data in frames:
        frame = json.loads(data)
        if frame.get("type") != "run":  # the runs list page's own socket
            continue
        if frame["reason"] != "snapshot":
            PUBLISH_TO_BROWSER.append(received_ms - frame["read_at_ms"])
        for step in frame["steps"]:
            node = step["node_id"]
            if node.startswith("s") and step["status"] == "succeeded" and node not in seen:
                finished = datetime.fromisoformat(step["finished_at"]).timestamp() * 1000
                seen[node] = received_ms - finished
    return list(seen.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument(
        "--bare",
        action="store_true",
        help="measure a bare websocket instead of the run page (transport only)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="automate-bench-") as scratch:
        var_dir = Path(scratch)
        port = free_port()
        env = site_env(var_dir, port, AUTOMATE_LOG_LEVEL="WARNING")
        env.pop("REDIS_URL", None)
        manage(env, "migrate", "--noinput")
        manage(
            env,
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; "
            f"get_user_model().objects.create_superuser({USER!r}, '', {PASSWORD!r})",
        )
        path = var_dir / "workflow.json"
        path.write_text(json.dumps(workflow(args.steps)))
        manage(env, "automate_import", "--file", str(path), "--publish")
        with serve(env, var_dir, port) as url:
            latencies = measure(url, args.steps, bare=args.bare)
    if not latencies:
        raise SystemExit("No step was seen live.")
    what = "bare websocket" if args.bare else "run page"
    print(
        f"live latency, step commit -> browser ({what}, {len(latencies)} steps, SQLite, in-memory layer)"
    )
    print(f"  p50 {percentile(latencies, 50):7.1f} ms")
    print(f"  p95 {percentile(latencies, 95):7.1f} ms")
    print(f"  max {max(latencies):7.1f} ms   mean {statistics.fmean(latencies):.1f} ms")
    if PUBLISH_TO_BROWSER:
        share = PUBLISH_TO_BROWSER
        print(f"of which state read -> browser ({len(share)} frames)")
        print(f"  p50 {percentile(share, 50):7.1f} ms   p95 {percentile(share, 95):7.1f} ms")


if __name__ == "__main__":
    main()
