"""Static files without DEBUG (docs/howto/deploy.md): after the documented `collectstatic`,
every stylesheet, script and icon a studio page links is served (hashed names, long cache);
before it, `check --deploy` names the missing step instead of pages failing silently.

Each case starts a fresh Python: settings are read once per process."""

import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

PRODUCTION = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
    "DJANGO_ALLOWED_HOSTS": "automate.example.com",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
}

# Log in, open studio pages, then fetch every static file they link, through the real
# middleware stack (WhiteNoise first) with DEBUG off.
FETCH = r"""
import json, re, django
django.setup()
from django.core.management import call_command
from django.test import Client
from django.test.utils import setup_test_environment
from django.contrib.auth import get_user_model
from automate.tenants.services import get_default_tenant
call_command("migrate", verbosity=0)
user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-" + "x" * 20)
client = Client(HTTP_HOST="automate.example.com")
client.force_login(user)
pages = {}
for path in ("/studio/login/", "/studio/", "/studio/wizard/", "/admin/"):
    response = client.get(path, follow=True)
    html = response.content.decode()
    links = sorted(set(re.findall(r'(?:href|src)="(/static/[^"]+)"', html)))
    files = {}
    for link in links:
        answer = client.get(link)
        body = b"".join(answer.streaming_content) if answer.streaming else answer.content
        files[link] = [answer.status_code, answer.get("Cache-Control", ""), len(body)]
    pages[path] = {"status": response.status_code, "files": files}
print(json.dumps(pages))
"""


def run(args, env, tmp_path):
    base = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{ROOT / 'backend'}:{ROOT}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "AUTOMATE_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**base, **PRODUCTION, **env},
        timeout=300,
    )


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """One `collectstatic` for the module, as docs/howto/deploy.md runs it."""
    root = tmp_path_factory.mktemp("static")
    result = run(
        ["manage.py", "collectstatic", "--noinput"],
        {"AUTOMATE_STATIC_ROOT": str(root)},
        tmp_path_factory.mktemp("var"),
    )
    assert result.returncode == 0, result.stderr
    return root


def test_every_linked_file_is_served_after_collectstatic(collected, tmp_path):
    import json

    result = run(["-c", FETCH], {"AUTOMATE_STATIC_ROOT": str(collected)}, tmp_path)
    assert result.returncode == 0, result.stderr
    pages = json.loads(result.stdout.strip().splitlines()[-1])
    for path, page in pages.items():
        assert page["status"] == 200, path
        assert page["files"], f"{path} links no static file"
        for link, (status, cache, size) in page["files"].items():
            assert status == 200, f"{path} links {link}: {status}"
            assert size > 0, link
            # Hashed names (css/js/svg) are cached for good; the manifest made them.
            if re.search(r"\.[0-9a-f]{12}\.(css|js|svg)$", link):
                assert "max-age=315360000" in cache, (link, cache)
    studio_links = pages["/studio/"]["files"]
    assert any(re.search(r"/static/studio/css/studio\.[0-9a-f]{12}\.css$", k) for k in studio_links)


def test_check_deploy_names_the_missing_collectstatic(tmp_path):
    result = run(
        ["manage.py", "check", "--deploy"],
        {"AUTOMATE_STATIC_ROOT": str(tmp_path / "never-collected")},
        tmp_path,
    )
    assert result.returncode != 0
    assert "automate.E070" in result.stderr
    assert "collectstatic --noinput" in result.stderr


def test_migrate_runs_before_collectstatic(tmp_path):
    # A deploy script may migrate first: only `check --deploy` insists on the files.
    result = run(
        ["manage.py", "migrate", "--noinput"],
        {"AUTOMATE_STATIC_ROOT": str(tmp_path / "never-collected")},
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
