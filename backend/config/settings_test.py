"""Settings for the test suite: the site settings with test-only defaults.

``AUTOMATE_TEST_DATABASE_URL`` picks the database (the Postgres tier sets it); otherwise
tests run on SQLite.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-not-a-secret-" + "x" * 32)
if os.environ.get("AUTOMATE_TEST_DATABASE_URL"):
    os.environ["DATABASE_URL"] = os.environ["AUTOMATE_TEST_DATABASE_URL"]
else:
    os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")

from config.settings import *  # noqa: F403
from config.settings import DATABASES, DJANGO_AUTOMATE

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DJANGO_AUTOMATE["WORKER_MODE"] = "synchronous"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("AUTOMATE_TEST_SQLITE_NAME", "")}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files from the finders, as in development: tests do not run collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
