"""The demo follows the address the site is served on (``make run PORT=8123``), and
restarting it leaves the demo user's password, and so every browser's session, alone."""

import socket
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client, override_settings

from automate.governance import http
from automate.management.commands.automate_demo import demo_login

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_env(tmp_path, settings, monkeypatch):
    settings.VAR_DIR = tmp_path
    monkeypatch.setenv("AUTOMATE_SLACK_TOKEN", "xoxb-demo-sandbox-not-a-real-token")
    monkeypatch.setenv("AUTOMATE_STRIPE_WEBHOOK_SECRET", "whsec_demo_port_test")
    return tmp_path


def demo(*args):
    out = StringIO()
    with override_settings(DEBUG=True):
        call_command("automate_demo", *args, stdout=out)
    return out.getvalue()


def test_the_demo_posts_to_the_port_the_site_is_served_on(demo_env, settings, monkeypatch):
    settings.SITE_URL = "http://127.0.0.1:8123"
    sent = []

    class Accepted:
        status_code = 202
        text = "{}"

    def fake_request(method, url, **kwargs):
        sent.append(url)
        return Accepted()

    monkeypatch.setattr(http, "safe_request", fake_request)
    printed = demo()
    assert "Site: http://127.0.0.1:8123/" in printed
    assert "AUTOMATE_SITE_URL=http://127.0.0.1:8123 " in printed
    assert "--send-invoice" in printed

    demo("--send-invoice", "4200")
    assert sent == ["http://127.0.0.1:8123/hooks/stripe/"]


def test_restarting_the_demo_keeps_the_password_and_the_browser_logged_in(demo_env):
    first = demo()
    password = (demo_env / "demo_credentials").read_text().strip()
    browser = Client()
    login = demo_login(get_user_model())
    assert browser.login(username=login, password=password)
    assert browser.get("/studio/").status_code == 200

    second = demo()

    assert f"{login} / {password}" in first
    assert f"{login} / {password}" in second
    assert (demo_env / "demo_credentials").read_text().strip() == password
    # Still logged in: the password hash (and so the session's auth hash) is unchanged.
    assert browser.get("/studio/").status_code == 200


def test_a_password_the_user_changed_is_not_reset_on_restart(demo_env):
    demo()
    user = get_user_model()._default_manager.get()
    user.set_password("mine-and-only-mine")
    user.save()

    printed = demo()

    user.refresh_from_db()
    assert user.check_password("mine-and-only-mine")
    assert "with the password you set" in printed
    assert "mine-and-only-mine" not in printed
    # Deleting the credentials file asks for a generated password again.
    (demo_env / "demo_credentials").unlink()
    printed = demo()
    password = (demo_env / "demo_credentials").read_text().strip()
    user.refresh_from_db()
    assert user.check_password(password)
    assert f"/ {password}" in printed


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_sending_an_invoice_to_a_port_where_nothing_listens_says_so(tmp_path):
    port = _closed_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{ROOT / 'backend'}:{ROOT}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "1",
        "AUTOMATE_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "AUTOMATE_SITE_URL": f"http://127.0.0.1:{port}",
        "AUTOMATE_WORKER_MODE": "synchronous",
    }

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
            env=env,
            timeout=180,
        )

    for args in (["migrate", "--noinput"], ["automate_demo"]):
        result = manage(*args)
        assert result.returncode == 0, result.stderr

    result = manage("automate_demo", "--send-invoice", "4200")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"Could not deliver the invoice webhook to http://127.0.0.1:{port}/hooks/stripe/" in (
        result.stderr
    )
    assert "make run PORT=8123" in result.stderr


def test_make_run_serves_and_points_the_demo_at_the_same_port():
    if subprocess.run(["which", "make"], capture_output=True, check=False).returncode:
        pytest.skip("make is not installed")
    dry_run = subprocess.run(
        ["make", "-n", "run", "PORT=8123"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout
    lines = dry_run.splitlines()
    [demo_line] = [line for line in lines if "manage.py automate_demo" in line]
    [serve_line] = [line for line in lines if "daphne" in line]
    assert "AUTOMATE_SITE_URL=http://127.0.0.1:8123 " in demo_line
    assert "AUTOMATE_SITE_URL=http://127.0.0.1:8123 " in serve_line
    assert "-p 8123 " in serve_line
