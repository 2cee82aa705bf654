"""The copilot in a real browser, with the offline drafter `make run` gives: describe a
workflow in a sentence, see the proposal as a diff on the canvas, accept it, publish,
send the event and see the run succeed; a follow-up edit; Reject changes nothing; Ctrl+Z
undoes an accepted proposal in one step; the wizard creates a workflow from a sentence."""

from __future__ import annotations

import json
import re
import time

import pytest

from e2e.conftest import screenshot
from e2e.test_editor import draft_graph, log_in, wait_ready, wait_saved

pytestmark = pytest.mark.e2e

SENTENCE = (
    "When an invoice is paid over 1000 EUR, post to #billing on Slack and email finance@example.com"
)


def new_workflow(page, live_site, name: str) -> int:  # type: ignore[no-untyped-def]
    log_in(page, live_site)
    page.goto(f"{live_site.url}/studio/wizard/")
    page.fill("#new-workflow input[name=name]", name)
    page.click("#new-workflow button[type=submit]")
    page.wait_for_url(re.compile(r".*/studio/workflows/\d+/$"))
    wait_ready(page)
    return int(page.url.rstrip("/").rsplit("/", 1)[1])


def stored(live_site, workflow_id: int) -> tuple[int, dict, dict, dict]:
    """(revision, graph, trigger_spec, rule_spec) as the server stored the draft."""
    ((revision, graph, trigger, rule),) = live_site.query(
        "SELECT draft_revision, draft_graph, draft_trigger_spec, draft_rule_spec "
        "FROM automate_workflow WHERE id = ?",
        (workflow_id,),
    )
    return revision, json.loads(graph), json.loads(trigger), json.loads(rule)


def ask(page, prompt: str) -> None:  # type: ignore[no-untyped-def]
    page.click("#tab-copilot")
    page.fill("#copilot-prompt", prompt)
    page.press("#copilot-prompt", "Control+Enter")
    page.wait_for_selector("#copilot-result:not([hidden])", timeout=30_000)
    page.wait_for_selector("#copilot-preview:not([hidden])")


def nodes_by_connector(graph: dict) -> dict[str, dict]:
    return {n.get("connector") or n["type"]: n for n in graph["nodes"]}


def satisfying(rule) -> dict:  # type: ignore[no-untyped-def]
    """A payload the JSONLogic ``rule`` matches (the comparisons a drafter writes)."""
    payload: dict = {}

    def put(path: str, value) -> None:  # type: ignore[no-untyped-def]
        keys = path.split(".")
        here = payload
        for key in keys[:-1]:
            here = here.setdefault(key, {})
        here[keys[-1]] = value

    def walk(node) -> None:  # type: ignore[no-untyped-def]
        if not isinstance(node, dict) or len(node) != 1:
            return
        ((op, args),) = node.items()
        if op in ("and", "or"):
            for arg in args if op == "and" else args[:1]:
                walk(arg)
            return
        if not isinstance(args, list) or len(args) != 2:
            return
        left, right = args
        if isinstance(left, dict) and "var" in left:
            var = left["var"] if isinstance(left["var"], str) else left["var"][0]
            var = var.removeprefix("event.payload.").removeprefix("payload.")
            if op in (">", ">="):
                put(var, right * 10 + 1)
            elif op in ("==", "==="):
                put(var, right)
            elif op in ("<", "<="):
                put(var, right - 1)
            elif op == "in":
                put(var, right[0] if isinstance(right, list) else right)
            elif op in ("!=", "!=="):
                put(var, f"not-{right}")

    walk(rule)
    return payload


def merged(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = (
            merged(out[key], value)
            if isinstance(value, dict) and isinstance(out.get(key), dict)
            else value
        )
    return out


def test_a_sentence_becomes_a_workflow_that_runs(live_site, page):
    workflow_id = new_workflow(page, live_site, "Copilot: paid invoices")
    revision_before, _, _, _ = stored(live_site, workflow_id)

    # The sentence → a proposal drawn as a diff: everything it adds is marked "added".
    ask(page, SENTENCE)
    assert "Offline drafter" in page.inner_text("#copilot-panel")
    states = page.evaluate("window.__editor.copilot.previewStates()")
    added = [cell for cell, state in states.items() if state == "added"]
    assert len(added) >= 2, states
    assert page.locator("#copilot-changes .df-add").count() >= 2
    # The draft itself is untouched while the proposal is shown, and cannot be edited.
    assert stored(live_site, workflow_id)[0] == revision_before
    assert page.evaluate("document.body.classList.contains('cp-previewing')")
    screenshot(page, "60-copilot-proposal")

    page.click("#copilot-accept")
    page.wait_for_selector("#copilot-info:not([hidden])")
    wait_saved(page)
    revision, graph, trigger, rule = stored(live_site, workflow_id)
    assert revision > revision_before
    connectors = nodes_by_connector(graph)
    assert {"slack", "email"} <= set(connectors), graph
    assert trigger.get("event_type") == "invoice.paid"
    screenshot(page, "61-copilot-accepted")

    # A follow-up edits the graph it just made: the email step is shown as removed.
    ask(page, "remove the email")
    states = page.evaluate("window.__editor.copilot.previewStates()")
    email_id = connectors["email"]["id"]
    assert states.get(email_id) == "removed", states
    assert SENTENCE in page.inner_text("#copilot-conversation")
    screenshot(page, "62-copilot-follow-up")
    page.click("#copilot-accept")
    page.wait_for_selector("#copilot-info:not([hidden])")
    wait_saved(page)
    _, graph, trigger, rule = stored(live_site, workflow_id)
    assert "email" not in nodes_by_connector(graph)
    assert "slack" in nodes_by_connector(graph)

    # Another: a retry on the Slack step shows that step as changed, with the key.
    ask(page, "add a retry to the Slack step")
    slack_id = nodes_by_connector(graph)["slack"]["id"]
    assert page.evaluate("window.__editor.copilot.previewStates()")[slack_id] == "changed"
    assert "retry" in page.inner_text("#copilot-changes")
    screenshot(page, "65-copilot-changed")
    page.click("#copilot-accept")
    page.wait_for_selector("#copilot-info:not([hidden])")
    wait_saved(page)
    _, graph, trigger, rule = stored(live_site, workflow_id)
    assert nodes_by_connector(graph)["slack"].get("retry"), graph

    # Publish, send a matching event: the run succeeds and Slack got the message.
    page.click("#btn-publish")
    page.wait_for_selector("#publish-outcome", timeout=15_000)
    assert "Published" in page.inner_text("#publish-outcome"), page.inner_text("#publish-outcome")
    # A real event of that type (the demo's Stripe invoices), changed so the rule matches.
    latest = live_site.query(
        "SELECT payload FROM automate_event WHERE type = ? ORDER BY created_at DESC LIMIT 1",
        (trigger["event_type"],),
    )
    payload = merged(json.loads(latest[0][0]) if latest else {}, satisfying(rule))
    out = live_site.manage(
        "shell",
        "-c",
        "from automate.runtime import emit_event; "
        f"print(emit_event(type={trigger['event_type']!r}, source={trigger.get('source') or 'e2e'!r}, "
        f"payload={payload!r}))",
    )
    event_id = out.strip().splitlines()[-1].replace("-", "")
    deadline = time.monotonic() + 30
    while True:
        runs = live_site.query(
            "SELECT r.status FROM automate_executionrun r JOIN automate_workflowversion v "
            "ON v.id = r.workflow_version_id WHERE replace(r.event_id, '-', '') = ? "
            "AND v.workflow_id = ?",
            (event_id, workflow_id),
        )
        if runs and runs[0][0] in ("succeeded", "failed"):
            break
        assert time.monotonic() < deadline, f"no finished run: {runs}"
        time.sleep(0.25)
    steps = live_site.query(
        "SELECT s.node_id, s.status, s.error FROM automate_steprun s JOIN automate_executionrun r "
        "ON r.id = s.run_id WHERE replace(r.event_id, '-', '') = ?",
        (event_id,),
    )
    assert runs[0][0] == "succeeded", (steps, graph, rule, payload)


def test_reject_leaves_the_draft_as_it_was_and_ctrl_z_undoes_an_accept(live_site, page):
    workflow_id = new_workflow(page, live_site, "Copilot: reject and undo")
    wait_saved(page)
    before = stored(live_site, workflow_id)
    canvas_before = draft_graph(page)

    ask(page, SENTENCE)
    page.click("#copilot-reject")
    page.wait_for_selector("#copilot-preview", state="hidden")
    assert "Rejected" in page.inner_text("#copilot-info")
    page.wait_for_timeout(1200)  # longer than the autosave delay: nothing is saved
    assert stored(live_site, workflow_id) == before
    assert draft_graph(page) == canvas_before
    rejected = live_site.query(
        "SELECT count(*) FROM automate_auditlogentry WHERE action = 'copilot.rejected'"
    )
    assert rejected[0][0] >= 1

    # Accept, then one Ctrl+Z brings back the previous draft (graph, trigger and rule).
    ask(page, SENTENCE)
    page.click("#copilot-accept")
    page.wait_for_selector("#copilot-info:not([hidden])")
    wait_saved(page)
    accepted = stored(live_site, workflow_id)
    assert len(accepted[1]["nodes"]) > len(before[1]["nodes"])
    page.locator("#canvas").click(position={"x": 20, "y": 20})
    page.keyboard.press("Control+z")
    page.wait_for_function(
        f"window.__editor.graph.getNodes().length === {len(canvas_before['nodes'])}"
    )
    wait_saved(page)
    _, graph, trigger, rule = stored(live_site, workflow_id)
    assert [n["id"] for n in graph["nodes"]] == [n["id"] for n in before[1]["nodes"]]
    assert graph["edges"] == before[1]["edges"]
    assert (trigger, rule) == (before[2], before[3])
    # Redo puts the proposal back.
    page.keyboard.press("Control+Shift+z")
    wait_saved(page)
    assert stored(live_site, workflow_id)[1]["nodes"] == accepted[1]["nodes"]


def test_cancel_stops_the_request_and_changes_nothing(live_site, page):
    workflow_id = new_workflow(page, live_site, "Copilot: cancel")
    wait_saved(page)
    before = stored(live_site, workflow_id)
    page.click("#tab-copilot")
    # Hold the request (as a slow model would) so Cancel is pressed while it runs.
    held = []
    page.route("**/copilot/", lambda route: held.append(route))
    page.fill("#copilot-prompt", SENTENCE)
    page.click("#copilot-send")
    page.wait_for_selector("#copilot-progress:not([hidden])")
    assert "Drafting" in page.inner_text("#copilot-progress")
    page.click("#copilot-cancel")
    page.wait_for_selector("#copilot-progress", state="hidden")
    assert "Cancelled" in page.inner_text("#copilot-info")
    assert page.locator("#copilot-preview").is_hidden()
    assert stored(live_site, workflow_id) == before
    assert len(held) == 1
    # The form is usable again at once.
    assert page.locator("#copilot-send").is_enabled()


@pytest.mark.parametrize(
    ("status", "body", "headers", "said"),
    [
        (
            429,
            {"code": "copilot_rate_limited", "message": "Too many requests.", "details": {}},
            {"Retry-After": "12"},
            "You asked the copilot too often. Try again in 12 seconds.",
        ),
        (
            429,
            {"code": "budget_exceeded", "message": "10.00 USD a day", "details": {}},
            {},
            "Today's budget for the copilot is spent (10.00 USD a day).",
        ),
        (
            502,
            {"code": "copilot_unavailable", "message": "The model timed out.", "details": {}},
            {},
            "The model could not be reached: The model timed out. Nothing was changed",
        ),
        (
            422,
            {"code": "copilot_refused", "message": "I cannot help with that.", "details": {}},
            {},
            "The model declined this request: I cannot help with that.",
        ),
    ],
)
def test_errors_are_said_in_plain_words(live_site, page, status, body, headers, said):
    workflow_id = new_workflow(page, live_site, f"Copilot: error {status} {body['code']}")
    wait_saved(page)
    before = stored(live_site, workflow_id)
    page.route(
        "**/copilot/",
        lambda route: route.fulfill(status=status, json={**body, "trace_id": "t"}, headers=headers),
    )
    page.click("#tab-copilot")
    page.fill("#copilot-prompt", SENTENCE)
    page.click("#copilot-send")
    page.wait_for_selector("#copilot-error:not([hidden])")
    assert said in page.inner_text("#copilot-error")
    assert page.locator("#copilot-preview").is_hidden()
    assert page.locator("#copilot-send").is_enabled()
    assert stored(live_site, workflow_id) == before


def test_the_wizard_creates_a_workflow_from_a_sentence(live_site, page):
    log_in(page, live_site)
    page.goto(f"{live_site.url}/studio/wizard/")
    page.fill("#copilot-prompt", SENTENCE)
    page.click("#copilot-send")
    page.wait_for_selector("#copilot-result:not([hidden])", timeout=30_000)
    assert page.locator("#copilot-changes .df-add").count() >= 2
    screenshot(page, "63-copilot-wizard")
    page.fill("#copilot-name", "Paid invoices from a sentence")
    page.click("#copilot-accept")
    page.wait_for_url(re.compile(r".*/studio/workflows/\d+/$"))
    wait_ready(page)
    connectors = {n.get("connector") for n in draft_graph(page)["nodes"]}
    assert {"slack", "email"} <= connectors


def test_the_copilot_speaks_german(live_site, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="de-DE")
    page = context.new_page()
    try:
        log_in(page, live_site)
        page.goto(f"{live_site.url}/studio/wizard/")
        assert page.inner_text("#copilot-who") == "Offline-Entwerfer"
        assert page.inner_text("#copilot-send") == "Entwerfen"
        page.fill("#copilot-prompt", SENTENCE)
        page.click("#copilot-send")
        page.wait_for_selector("#copilot-result:not([hidden])", timeout=30_000)
        # Text written by the scripts comes from the JavaScript catalog.
        assert "hinzugefügt" in page.inner_text("#copilot-changes")
        assert page.inner_text("#copilot-accept") == "Workflow aus diesem Entwurf anlegen"
        screenshot(page, "64-copilot-wizard-de")
    finally:
        context.close()
