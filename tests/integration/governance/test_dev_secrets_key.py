"""The standalone site (``make run``, DEBUG) makes the stored secrets' key once and keeps
it in ``var/``, like its secret key, so the Stored secrets admin works out of the box; a
production site has no such default and fails its system check instead.

Each test starts the site's own settings in fresh processes, as ``make run`` would."""

import json
import secrets
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PRODUCTION = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
    "DJANGO_ALLOWED_HOSTS": "automate.example.com",
}
DEVELOPMENT = {"DJANGO_DEBUG": "1"}


def python(code, env, var_dir, *args):
    result = subprocess.run(
        [sys.executable, *(["-c", code] if code else args)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": f"{ROOT / 'backend'}:{ROOT}",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "AUTOMATE_VAR_DIR": str(var_dir),
            "DATABASE_URL": f"sqlite:///{var_dir / 'db.sqlite3'}",
            "AUTOMATE_WORKER_MODE": "synchronous",
            **env,
        },
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


KEY_PROBE = "import os, django; django.setup(); print(os.environ.get('AUTOMATE_SECRETS_KEYS', ''))"


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_development_makes_one_key_and_keeps_it_across_restarts(tmp_path):
    first = python(KEY_PROBE, DEVELOPMENT, tmp_path)
    second = python(KEY_PROBE, DEVELOPMENT, tmp_path)

    assert first
    assert first == second
    assert (tmp_path / "dev_secrets_key").read_text().strip() == first
    # Readable by its owner only, like the development secret key.
    assert mode(tmp_path / "dev_secrets_key") == 0o600
    assert mode(tmp_path / "dev_secret_key") == 0o600


def test_an_older_checkouts_dev_secret_key_is_made_private(tmp_path):
    (tmp_path / "dev_secret_key").write_text("x" * 50)
    (tmp_path / "dev_secret_key").chmod(0o644)
    python(KEY_PROBE, DEVELOPMENT, tmp_path)
    assert mode(tmp_path / "dev_secret_key") == 0o600
    assert (tmp_path / "dev_secret_key").read_text() == "x" * 50


def test_a_key_given_in_the_environment_wins_and_nothing_is_written(tmp_path):
    from cryptography.fernet import Fernet

    given = Fernet.generate_key().decode()
    env = {**DEVELOPMENT, "AUTOMATE_SECRETS_KEYS": given}
    assert python(KEY_PROBE, env, tmp_path) == given
    assert not (tmp_path / "dev_secrets_key").exists()


PRODUCTION_CHECK = """
import json, os, django
django.setup()
from django.test.utils import override_settings
from automate.governance.secrets import check_secrets_backend
with override_settings(DJANGO_AUTOMATE={"SECRETS": {"backend": "db"}}):
    errors = [message.id for message in check_secrets_backend()]
print(json.dumps([os.environ.get("AUTOMATE_SECRETS_KEYS"), errors]))
"""


def test_production_makes_no_key_and_the_db_backend_fails_its_check(tmp_path):
    keys, errors = json.loads(python(PRODUCTION_CHECK, PRODUCTION, tmp_path))
    assert keys is None
    assert errors == ["automate.E012"]
    assert not (tmp_path / "dev_secrets_key").exists()


ADD_IN_ADMIN = """
import django
django.setup()
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
user = get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")
browser = Client(HTTP_HOST="127.0.0.1")
browser.force_login(user)
page = browser.get(reverse("admin:automate_storedsecret_changelist")).content.decode()
assert 'Secrets backend: &quot;env&quot;' in page, page
added = browser.post(
    reverse("admin:automate_storedsecret_add"),
    {"name": "CRM_TOKEN", "description": "", "value": "crm-token-value-1234"},
)
assert added.status_code == 302, added.content.decode()
print("added")
"""

READ_BACK = """
import django
django.setup()
from automate.governance.models import StoredSecret
from automate.governance.secret_store import decrypt_secret
print(decrypt_secret(StoredSecret.objects.get(name="CRM_TOKEN")))
"""


def test_the_stored_secrets_admin_works_in_the_default_set_up(tmp_path):
    python(None, DEVELOPMENT, tmp_path, "manage.py", "migrate", "--noinput")
    assert python(ADD_IN_ADMIN, DEVELOPMENT, tmp_path) == "added"
    # Another process (a restart) decrypts it with the same kept key.
    assert python(READ_BACK, DEVELOPMENT, tmp_path) == "crm-token-value-1234"


def test_an_empty_leftover_key_file_is_replaced_by_a_real_key(tmp_path):
    # A crash between creating the file and writing it (an older version) left it empty:
    # the site must not start with an empty secret key or stored-secrets key.
    (tmp_path / "dev_secret_key").write_text("")
    (tmp_path / "dev_secrets_key").write_text("  \n")
    key = python(KEY_PROBE, DEVELOPMENT, tmp_path)

    from cryptography.fernet import Fernet

    Fernet(key)  # a real key, not ""
    assert (tmp_path / "dev_secrets_key").read_text().strip() == key
    assert len((tmp_path / "dev_secret_key").read_text().strip()) >= 50
    assert mode(tmp_path / "dev_secrets_key") == 0o600
    assert mode(tmp_path / "dev_secret_key") == 0o600
    assert python(KEY_PROBE, DEVELOPMENT, tmp_path) == key  # and kept from then on


def test_processes_starting_at_once_share_one_non_empty_key(tmp_path, monkeypatch):
    import threading
    import time

    from config import settings as site_settings

    monkeypatch.setattr(site_settings, "VAR_DIR", tmp_path)
    made = iter(f"key-{n}" for n in range(100))
    made_lock = threading.Lock()

    def slow_generate():
        time.sleep(0.2)  # another start arrives while the first is still making the key
        with made_lock:
            return next(made)

    keys = []

    def start():
        keys.append(site_settings._dev_key("dev_secrets_key", slow_generate))

    starts = [threading.Thread(target=start) for _ in range(5)]
    for thread in starts:
        thread.start()
    for thread in starts:
        thread.join()

    assert len(keys) == 5
    assert len(set(keys)) == 1
    assert keys[0].startswith("key-")
    assert (tmp_path / "dev_secrets_key").read_text() == keys[0]
    assert mode(tmp_path / "dev_secrets_key") == 0o600
    # No temporary file is left next to it.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev_secrets_key", "dev_secrets_key.lock"]


def test_concurrent_site_starts_keep_one_key(tmp_path):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", KEY_PROBE],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={
                "PATH": "/usr/bin:/bin",
                "PYTHONPATH": f"{ROOT / 'backend'}:{ROOT}",
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "AUTOMATE_VAR_DIR": str(tmp_path),
                "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
                "AUTOMATE_WORKER_MODE": "synchronous",
                **DEVELOPMENT,
            },
        )
        for _ in range(4)
    ]
    keys = set()
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        keys.add(out.strip().splitlines()[-1])
    assert len(keys) == 1
    assert keys != {""}
    assert (tmp_path / "dev_secrets_key").read_text().strip() in keys
