"""A step's output over RETENTION max_payload_bytes, in Chromium against a live daphne: the
run still succeeds, and the explorer's step panel shows the truncation badge and the
preview of what was kept."""

from __future__ import annotations

import pytest

from e2e.conftest import screenshot
from e2e.test_explorer import login
from e2e.test_explorer_round2 import emit_type, import_workflow, open_run

pytestmark = pytest.mark.e2e


def test_a_truncated_output_shows_its_badge_in_the_step_panel(live_site, page, tmp_path):
    nodes = [
        {
            "id": "copy",
            "type": "transform",
            "label": "Copy the report twice",
            # Twice a 150 kB text: 300 kB of inputs and output, over the 256,000-byte cap.
            "inputs": {"a": "{{ event.payload.report }}", "b": "{{ event.payload.report }}"},
            "position": {"x": 320, "y": 140},
        }
    ]
    edges = [{"source": "trigger", "target": "copy"}]
    import_workflow(live_site, tmp_path, "caps", "e2e.caps", nodes, edges)
    login(live_site, page)
    report = "Line of the quarterly report. " * 5000  # 150,000 bytes
    emitted = emit_type(live_site, "e2e.caps", {"report": report})
    open_run(live_site, page, emitted["trace_id"])
    page.wait_for_selector("#run-status.status-succeeded")

    page.click('[data-cell-id="copy"]')
    page.wait_for_selector("#step-panel .badge-truncated")
    badges = page.locator("#step-panel .badge-truncated")
    assert badges.count() == 2  # the inputs and the output
    badge = badges.first.inner_text().replace("\xa0", " ")  # sizes keep their unit close
    assert badge == "Truncated — 293.0 KB stored as a 250.0 KB preview"
    preview = page.inner_text("#step-panel pre[data-truncated-preview]")
    assert preview.startswith('{"a":"Line of the quarterly report. Line of')
    screenshot(page, "60-step-output-truncated")
