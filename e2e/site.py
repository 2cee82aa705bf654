"""A real Django Automate site in a scratch folder, served by daphne: used by the browser
tests (e2e/conftest.py) and the browser benchmarks (bench/)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def site_env(var_dir: Path, port: int, **extra: str) -> dict[str, str]:
    """The environment of a development site (DEBUG, SQLite) living in ``var_dir``."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "1",
        "AUTOMATE_VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'db.sqlite3'}",
        "AUTOMATE_SITE_URL": f"http://127.0.0.1:{port}",
        # The fake services of the browser tests listen on 127.0.0.1 ports picked later
        # (DEBUG alone allows only the site's own port).
        "AUTOMATE_DEV_HTTP_ALLOWLIST": "127.0.0.1",
        "PYTHONPATH": f"{ROOT / 'backend'}:{ROOT}",
        # The browser tests and benchmarks post events as the demo user with HTTP Basic
        # (off by default in the site's settings).
        "DJANGO_API_BASIC_AUTH": "1",
        **extra,
    }
    env.pop("AUTOMATE_TEST_DATABASE_URL", None)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    """Run ``manage.py`` against the site; its output, or an error with what it said."""
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@contextmanager
def serve(env: dict[str, str], var_dir: Path, port: int) -> Iterator[str]:
    """Serve the site with daphne until it answers its health check; yield its URL."""
    url = f"http://127.0.0.1:{port}"
    with open(var_dir / "daphne.log", "w") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "config.asgi:application",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(f"{url}/api/v1/health/", timeout=1)
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError((var_dir / "daphne.log").read_text()) from None
                    time.sleep(0.2)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=10)
