"""Settings for the test suite: the site settings with test-only defaults.

``AUTOMATE_TEST_DATABASE_URL`` picks the database (the Postgres tier sets it); otherwise
tests run on SQLite.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-not-a-secret-" + "x" * 32)
# The test client speaks plain HTTP; production's HTTPS settings are tested on their own
# (tests/integration/commands/test_deploy_check.py).
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DJANGO_SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("DJANGO_CSRF_COOKIE_SECURE", "0")
if os.environ.get("AUTOMATE_TEST_DATABASE_URL"):
    os.environ["DATABASE_URL"] = os.environ["AUTOMATE_TEST_DATABASE_URL"]
else:
    os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")

from config.settings import *  # noqa: F403
from config.settings import DATABASES, DJANGO_AUTOMATE, INSTALLED_APPS

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DJANGO_AUTOMATE["WORKER_MODE"] = os.environ.get("AUTOMATE_WORKER_MODE", "synchronous")
if os.environ.get("AUTOMATE_TEST_LEASE_SECONDS"):
    DJANGO_AUTOMATE["EXECUTION"] = {
        "lease_seconds": float(os.environ["AUTOMATE_TEST_LEASE_SECONDS"])
    }
# Worker subprocesses of a test get more engine settings as JSON, merged section by section:
# AUTOMATE_TEST_SETTINGS='{"EXECUTION": {"worker_timeout_seconds": 2}}'.
if os.environ.get("AUTOMATE_TEST_SETTINGS"):
    import json

    for _section, _values in json.loads(os.environ["AUTOMATE_TEST_SETTINGS"]).items():
        _merged = DJANGO_AUTOMATE.get(_section)
        DJANGO_AUTOMATE[_section] = (
            {**_merged, **_values}
            if isinstance(_merged, dict) and isinstance(_values, dict)
            else _values
        )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not ":memory:": the in-memory shared cache locks whole tables and ignores the
    # busy timeout, which is not how SQLite behaves for users (WAL file, worker threads).
    import tempfile

    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("AUTOMATE_TEST_SQLITE_NAME")
        or os.path.join(tempfile.gettempdir(), f"automate-test-{os.getpid()}.sqlite3")
    }
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files from the finders, as in development: tests do not run collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# The engine's own test connector (tests/support/connectors.py), also in worker subprocesses.
DJANGO_AUTOMATE["CONNECTORS"] = ["tests.support.connectors.TestKitConnector"]

# Test-only: the admin base classes' test model and admin site (tests/adminkit).
INSTALLED_APPS = [*INSTALLED_APPS, "tests.adminkit"]
