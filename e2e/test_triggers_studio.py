"""Webhook and schedule triggers in the studio, in a real browser against a live site:
add a webhook trigger, make its signing secret, copy the signed test command and run it
with curl; the delivery shows as verified, and after publishing a delivery starts a run.
A schedule trigger shows its next five fire times as the cron is typed."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet

from e2e.conftest import LiveSite, screenshot
from e2e.site import free_port, manage, serve, site_env
from studio.forms import INPUT_PREFIX

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hook_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    """A site like `make run`'s, with the db secrets backend (it stores new secrets)."""
    var_dir = tmp_path_factory.mktemp("hooksite")
    port = free_port()
    plain = site_env(var_dir, port)
    env = {
        **plain,
        "DJANGO_SETTINGS_MODULE": "e2e.db_secrets_settings",
        "AUTOMATE_SECRETS_KEYS": Fernet.generate_key().decode(),
    }
    site = LiveSite(url=f"http://127.0.0.1:{port}", username="demo", password="", env=env)
    site.db_path = var_dir / "db.sqlite3"
    # The demo publishes workflows using its environment secrets: set it up as make run
    # does, then serve with the db backend.
    manage(plain, "migrate", "--noinput")
    manage(plain, "automate_demo")
    site.password = (var_dir / "demo_credentials").read_text().strip()
    with serve(env, var_dir, port):
        yield site


@pytest.fixture
def tab(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    yield page
    context.close()


def log_in(page, site) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{site.url}/studio/login/")
    page.fill("input[name=username]", site.username)
    page.fill("input[name=password]", site.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/studio/")


def node_box(page, node_id: str) -> dict:  # type: ignore[no-untyped-def]
    box = page.locator(f'#canvas g.x6-node[data-cell-id="{node_id}"]').bounding_box()
    assert box, f"node {node_id} is not on the canvas"
    return box


def drag(page, start, end) -> None:  # type: ignore[no-untyped-def]
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 5, start[1] + 5, steps=2)
    page.mouse.move(*end, steps=15)
    page.mouse.up()


def drag_from_palette(page, label: str, to) -> None:  # type: ignore[no-untyped-def]
    item = page.locator(".ed-item", has_text=label).first
    item.scroll_into_view_if_needed()
    box = item.bounding_box()
    drag(page, (box["x"] + 20, box["y"] + box["height"] / 2), to)


def port_center(page, node_id: str, port: str):  # type: ignore[no-untyped-def]
    box = page.locator(
        f'#canvas g.x6-node[data-cell-id="{node_id}"] [port="{port}"]'
    ).bounding_box()
    assert box, f"no port {port} on {node_id}"
    return (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def wait_saved(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(
        "document.querySelector('#save-state').dataset.state === 'saved'"
        " && !window.__editor.autosaver.pending && !window.__editor.autosaver.inFlight",
        timeout=10000,
    )


def new_workflow_with_trigger(page, site, name: str, palette_label: str) -> None:  # type: ignore[no-untyped-def]
    """A new workflow whose event trigger is replaced by the palette's ``palette_label``."""
    page.goto(f"{site.url}/studio/wizard/")
    page.fill("input[name=name]", name)
    page.fill("input[name=event_type]", "placeholder.event")
    page.click("#new-workflow button[type=submit]")
    page.wait_for_url(re.compile(r".*/studio/workflows/\d+/$"))
    page.wait_for_function("window.__editorReady !== undefined", timeout=15000)
    box = node_box(page, "trigger")
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.keyboard.press("Delete")
    page.wait_for_selector('#canvas g.x6-node[data-cell-id="trigger"]', state="detached")
    drag_from_palette(page, palette_label, (box["x"] + 80, box["y"] + 30))
    page.wait_for_selector('#canvas g.x6-node[data-cell-id="trigger"]')
    # The canvas saves the new node on its own schedule: wait until the server has it.
    page.wait_for_function(
        """async () => {
          const answer = await fetch(location.pathname + "draft.json").then((r) => r.json());
          return answer.graph.nodes.some((n) => n.id === "trigger" && n.trigger_kind);
        }""",
        polling=300,
        timeout=10000,
    )
    wait_saved(page)


def open_trigger_panel(page) -> None:  # type: ignore[no-untyped-def]
    box = node_box(page, "trigger")
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector('#node-panel[data-node-id="trigger"]')


def run_copied_command(page) -> dict:  # type: ignore[no-untyped-def]
    page.click("#btn-copy-curl")
    page.wait_for_selector('#btn-copy-curl[data-copied="yes"]')
    command = page.evaluate("navigator.clipboard.readText()")
    assert command.startswith("curl ")
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def runs_of(site, workflow_name: str) -> int:
    rows = site.query(
        "SELECT count(*) FROM automate_executionrun r"
        " JOIN automate_workflowversion v ON v.id = r.workflow_version_id"
        " JOIN automate_workflow w ON w.id = v.workflow_id WHERE w.name = ?",
        (workflow_name,),
    )
    return int(rows[0][0])


def test_a_webhook_trigger_made_in_the_studio_verifies_and_starts_runs(hook_site, tab):
    page = tab
    log_in(page, hook_site)
    new_workflow_with_trigger(page, hook_site, "Shop orders", "When a webhook arrives")
    screenshot(page, "triggers-01-palette")
    box = node_box(page, "trigger")
    drag_from_palette(page, "Write to the log", (box["x"] + box["width"] + 160, box["y"] + 30))
    page.wait_for_selector('#canvas g.x6-node[data-cell-id="log_write"]')
    drag(page, port_center(page, "trigger", "out"), port_center(page, "log_write", "in"))
    wait_saved(page)
    # The log step's message is required: publishing refuses it empty.
    page.locator('#canvas g.x6-node[data-cell-id="log_write"]').click()
    page.wait_for_selector(
        '#node-panel[data-node-id="log_write"] #node-settings[data-autosave="on"]'
    )
    page.fill(f'#node-settings [name="{INPUT_PREFIX}message"]', "Order {{ event.payload.id }}")
    page.click("#btn-save-node")
    page.wait_for_function(
        "document.querySelector('#panel-save-state').dataset.state === 'saved'", timeout=10000
    )

    open_trigger_panel(page)
    page.fill("#webhook-settings input[name=slug]", "shop-orders")
    page.select_option("#webhook-settings select[name=scheme]", "generic")
    page.click("#btn-save-node")
    page.wait_for_selector("#webhook-url")
    assert page.locator("#webhook-url").inner_text() == f"{hook_site.url}/hooks/shop-orders/"
    page.wait_for_selector("#webhook-no-deliveries")

    page.click("#btn-webhook-secret")
    page.wait_for_selector("#webhook-secret-once")
    secret = page.locator("#webhook-secret-value").inner_text()
    assert secret.startswith("whsec_")
    page.wait_for_selector("#webhook-curl")
    assert secret not in page.locator("#webhook-curl").inner_text()
    page.locator("#webhook-secret-once").scroll_into_view_if_needed()
    screenshot(page, "triggers-02-webhook-secret-once")

    answer = run_copied_command(page)
    assert answer["duplicate"] is False
    page.wait_for_selector("#webhook-delivery-list tr[data-result=verified]", timeout=10000)
    assert runs_of(hook_site, "Shop orders") == 0  # not published yet: recorded, no run

    # Reopening the panel never shows the secret again.
    page.reload()
    page.wait_for_function("window.__editorReady !== undefined", timeout=15000)
    open_trigger_panel(page)
    page.wait_for_selector("#webhook-curl")
    assert secret not in page.content()
    assert "Set, as the tenant secret" in page.locator("#webhook-secret-state").inner_text()

    page.click("#btn-publish")
    page.wait_for_selector("#publish-result", state="visible")
    page.wait_for_function(
        "document.querySelector('#wf-status').textContent.includes('published')", timeout=10000
    )
    page.click("text=New test command")
    page.wait_for_timeout(500)
    run_copied_command(page)
    page.wait_for_function(
        "document.querySelectorAll('#webhook-delivery-list tr[data-result=verified]').length >= 2",
        timeout=10000,
    )
    for _ in range(40):
        if runs_of(hook_site, "Shop orders") == 1:
            break
        page.wait_for_timeout(250)
    assert runs_of(hook_site, "Shop orders") == 1
    page.locator("#webhook-delivery-list").evaluate("e => e.scrollIntoView({block: 'end'})")
    screenshot(page, "triggers-03-webhook-deliveries")


def test_a_schedule_trigger_shows_its_next_five_fire_times(hook_site, tab):
    page = tab
    log_in(page, hook_site)
    new_workflow_with_trigger(page, hook_site, "Weekday report", "On a schedule")
    open_trigger_panel(page)
    page.fill("#schedule-settings input[name=cron]", "0 9 * * 1-5")
    page.fill("#schedule-settings input[name=timezone]", "Europe/Paris")
    page.wait_for_function(
        "document.querySelectorAll('#schedule-next li').length === 5"
        " && document.querySelector('#schedule-preview').textContent.includes('Europe/Paris')",
        timeout=10000,
    )
    times = page.locator("#schedule-next time").all_inner_texts()
    assert all("09:00" in t for t in times)
    assert page.locator("#schedule-settings input[name=cron]").is_visible()  # still the form
    screenshot(page, "triggers-04-schedule-next-five")

    def preview_says(text: str) -> None:
        page.wait_for_function(
            "(text) => document.querySelector('#schedule-preview').textContent.includes(text)",
            arg=text,
            timeout=10000,
        )

    page.fill("#schedule-settings input[name=cron]", "0 0 30 2 *")
    preview_says("never fires")
    assert page.locator("#schedule-next").count() == 0
    page.fill("#schedule-settings input[name=cron]", "0 9 * * 1-5")
    page.fill("#schedule-settings input[name=timezone]", "Mars/Olympus")
    preview_says("unknown time zone")
    # The panel's own save refuses it too, on the field.
    page.wait_for_selector("#panel-save-state[data-state=refused]", timeout=10000)
    screenshot(page, "triggers-05-schedule-bad-zone")
