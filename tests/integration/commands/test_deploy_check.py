"""The production settings of docs/howto/deploy.md: ``check --deploy`` is clean with them,
each one is read from its environment variable, and DEBUG's demo allowlist is narrow.

Each case starts a fresh Python (settings are read once per process)."""

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

# The checklist of docs/howto/deploy.md, as environment variables.
PRODUCTION = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
    "DJANGO_ALLOWED_HOSTS": "automate.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://automate.example.com",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "DJANGO_SECURE_HSTS_PRELOAD": "1",
    "DJANGO_SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
}


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
        env={**base, **env},
        timeout=120,
    )


@pytest.fixture(scope="module", autouse=True)
def collected_static(tmp_path_factory):
    """The checklist's `collectstatic`, once: `check --deploy` wants it (automate.E070)."""
    root = tmp_path_factory.mktemp("static")
    PRODUCTION["AUTOMATE_STATIC_ROOT"] = str(root)
    result = run(["manage.py", "collectstatic", "--noinput"], PRODUCTION, root)
    assert result.returncode == 0, result.stderr
    yield
    del PRODUCTION["AUTOMATE_STATIC_ROOT"]


def deploy_check(env, tmp_path):
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)
    return result.returncode, result.stdout + result.stderr


def settings_value(expression, env, tmp_path):
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({expression}))"
    )
    result = run(["-c", code], env, tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_with_the_documented_production_settings(tmp_path):
    code, output = deploy_check(PRODUCTION, tmp_path)
    assert code == 0, output
    assert "System check identified no issues" in output
    assert "WARNINGS" not in output


# variable: (insecure value, the check --deploy warning it must bring back). Django
# judges the two HSTS refinements only while HSTS is on, hence two groups.
INSECURE = [
    {
        "DJANGO_SECURE_HSTS_SECONDS": ("", "security.W004"),
        "DJANGO_SECURE_SSL_REDIRECT": ("0", "security.W008"),
        "DJANGO_SESSION_COOKIE_SECURE": ("false", "security.W012"),
        "DJANGO_CSRF_COOKIE_SECURE": ("no", "security.W016"),
        "DJANGO_SECRET_KEY": ("django-insecure-" + "a" * 50, "security.W009"),
        "DJANGO_DEBUG": ("1", "security.W018"),
    },
    {
        "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": ("0", "security.W005"),
        "DJANGO_SECURE_HSTS_PRELOAD": ("off", "security.W021"),
    },
]


def test_each_production_setting_comes_from_its_variable(tmp_path):
    # One process per group: each variable brings back its own warning.
    for group in INSECURE:
        insecure = {name: value for name, (value, _) in group.items()}
        code, output = deploy_check({**PRODUCTION, **insecure}, tmp_path)
        assert code != 0
        missing = [warning for _, warning in group.values() if warning not in output]
        assert missing == [], output


def test_https_settings_default_to_secure_without_debug(tmp_path):
    env = {"DJANGO_SECRET_KEY": PRODUCTION["DJANGO_SECRET_KEY"]}
    value = settings_value(
        "[settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE, "
        "settings.CSRF_COOKIE_SECURE, settings.SECURE_PROXY_SSL_HEADER]",
        env,
        tmp_path,
    )
    assert value == [True, True, True, None]


def test_the_proxy_header_is_parsed(tmp_path):
    value = settings_value("settings.SECURE_PROXY_SSL_HEADER", PRODUCTION, tmp_path)
    assert value == ["HTTP_X_FORWARDED_PROTO", "https"]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"DJANGO_SECURE_SSL_REDIRECT": "maybe"}, "DJANGO_SECURE_SSL_REDIRECT"),
        ({"DJANGO_SECURE_HSTS_SECONDS": "1y"}, "DJANGO_SECURE_HSTS_SECONDS"),
        ({"DJANGO_SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO"}, "'<META name>,<value>'"),
        ({"DJANGO_API_BASIC_AUTH": "sometimes"}, "DJANGO_API_BASIC_AUTH"),
    ],
)
def test_a_bad_value_names_the_variable(tmp_path, change, named):
    result = run(["manage.py", "check", "--deploy"], {**PRODUCTION, **change}, tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr


def test_basic_auth_is_off_unless_switched_on(tmp_path):
    expression = "settings.REST_FRAMEWORK['DEFAULT_AUTHENTICATION_CLASSES']"
    default = settings_value(expression, PRODUCTION, tmp_path)
    on = settings_value(expression, {**PRODUCTION, "DJANGO_API_BASIC_AUTH": "1"}, tmp_path)
    assert default == [
        "automate.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ]
    assert on == [*default, "automate.api.authentication.ThrottledBasicAuthentication"]


# --- DEBUG: the demo reaches its own Slack sandbox, and nothing else local -------------------

PROBE = (
    "from automate.policy import check_url, PolicyViolation\n"
    "def allowed(url):\n"
    "    try:\n"
    "        check_url(url)\n"
    "    except PolicyViolation:\n"
    "        return False\n"
    "    return True\n"
)


@pytest.mark.parametrize(
    ("site_url", "pattern", "own", "others"),
    [
        (
            None,
            "127.0.0.1:8000",
            "http://127.0.0.1:8000/dev/slack/api/chat.postMessage",
            ["http://127.0.0.1:5432/", "http://127.0.0.1:6379/", "http://127.0.0.1/"],
        ),
        (
            "http://127.0.0.1:9123",
            "127.0.0.1:9123",
            "http://127.0.0.1:9123/hooks/stripe/",
            ["http://127.0.0.1:8000/", "http://127.1:9124/"],
        ),
        (
            "http://localhost:8001",
            "localhost:8001",
            "http://localhost:8001/",
            ["http://localhost:8002/"],
        ),
    ],
)
def test_the_debug_allowlist_covers_the_sandbox_port_only(tmp_path, site_url, pattern, own, others):
    env = {"DJANGO_DEBUG": "1"}
    if site_url:
        env["AUTOMATE_SITE_URL"] = site_url
    code = (
        "import json, django; django.setup(); from django.conf import settings\n"
        + PROBE
        + f"print(json.dumps([settings.DJANGO_AUTOMATE['POLICY']['http_allowlist'], "
        f"allowed({own!r}), [allowed(u) for u in {others!r}]]))"
    )
    result = run(["-c", code], env, tmp_path)
    assert result.returncode == 0, result.stderr
    allowlist, own_allowed, others_allowed = json.loads(result.stdout.strip().splitlines()[-1])
    assert allowlist == [pattern]
    assert own_allowed is True
    assert others_allowed == [False] * len(others)


def test_a_development_site_can_allow_more_local_patterns_explicitly(tmp_path):
    env = {"DJANGO_DEBUG": "1", "AUTOMATE_DEV_HTTP_ALLOWLIST": "127.0.0.1, erp.local:8443"}
    value = settings_value("settings.DJANGO_AUTOMATE['POLICY']['http_allowlist']", env, tmp_path)
    assert value == ["127.0.0.1:8000", "127.0.0.1", "erp.local:8443"]
    # Never without DEBUG.
    production = {**PRODUCTION, "AUTOMATE_DEV_HTTP_ALLOWLIST": "127.0.0.1"}
    value = settings_value("settings.DJANGO_AUTOMATE.get('POLICY')", production, tmp_path)
    assert value is None


def test_the_ssl_redirect_spares_only_the_health_probe(settings):
    from django.test import Client

    settings.SECURE_SSL_REDIRECT = True  # the production default; the exemption is the site's
    client = Client()
    assert client.get("/api/v1/health/").status_code == 200
    for path in ["/studio/", "/api/v1/events/", "/hooks/stripe/", "/api/v1/health/x"]:
        response = client.get(path)
        assert response.status_code == 301, path
        assert response["Location"].startswith("https://"), path
