"""Browser tests: a real daphne server on a free port, driven by Playwright in Chromium.

The site is set up the way `make run` does it (migrate, automate_demo, daphne) in a
scratch data folder, so these tests also prove the newcomer path works.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from e2e.site import ROOT, free_port, manage, serve, site_env

ARTIFACTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("AUTOMATE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@dataclass
class LiveSite:
    url: str
    username: str
    password: str
    env: dict[str, str]
    db_path: Path | None = None

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Read the live site's SQLite database directly (what the server really stored)."""
        import sqlite3

        assert self.db_path is not None
        with sqlite3.connect(self.db_path, timeout=10) as conn:
            return conn.execute(sql, params).fetchall()

    def manage(self, *args: str) -> str:
        return manage(self.env, *args)


@pytest.fixture(scope="session")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    var_dir = tmp_path_factory.mktemp("site")
    port = free_port()
    env = site_env(var_dir, port)
    site = LiveSite(
        url=f"http://127.0.0.1:{port}",
        username="demo",
        password="",
        env=env,
        db_path=var_dir / "db.sqlite3",
    )
    site.manage("migrate", "--noinput")
    site.manage("automate_demo")
    site.password = (var_dir / "demo_credentials").read_text().strip()
    with serve(env, var_dir, port):
        yield site


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    """Save a screenshot under artifacts/screenshots/ for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


#: The demo's workflow, which the editor tests open (backend/automate/demo/).
DEMO_SLUG = "invoice-paid-to-slack"
_DEMO_DRAFT = ("name", "draft_trigger_spec", "draft_rule_spec", "draft_graph")


@pytest.fixture
def demo_draft_restored(live_site: LiveSite) -> Iterator[None]:
    """Tests that edit the demo workflow's draft (its rule, its steps) leave it as they
    found it: the site is shared by the whole session, and later tests read the demo."""
    import sqlite3

    columns = ", ".join(_DEMO_DRAFT)
    ((*saved,),) = live_site.query(
        f"SELECT {columns} FROM automate_workflow WHERE slug = ?", (DEMO_SLUG,)
    )
    yield
    assert live_site.db_path is not None
    with sqlite3.connect(live_site.db_path, timeout=10) as conn:
        # A new revision, so an editor still open on the old one reloads, not overwrites.
        conn.execute(
            f"UPDATE automate_workflow SET {', '.join(f'{c} = ?' for c in _DEMO_DRAFT)},"
            " draft_revision = draft_revision + 1 WHERE slug = ?",
            (*saved, DEMO_SLUG),
        )
