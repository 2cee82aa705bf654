"""Settings for the standalone Django Automate site (``make run``) and the test suite.

Everything that differs between a laptop and production comes from the environment:

- ``DJANGO_DEBUG`` (default off), ``DJANGO_SECRET_KEY`` (required unless DEBUG),
  ``AUTOMATE_SECRETS_KEYS`` (the stored secrets' keys; with DEBUG, both are made once and
  kept in ``var/``, mode 0600),
  ``DJANGO_ALLOWED_HOSTS`` (comma separated),
- ``DATABASE_URL`` (default: SQLite in ``var/db.sqlite3``),
- ``REDIS_URL`` (channel layer; in-memory when unset),
- HTTPS: ``DJANGO_SECURE_SSL_REDIRECT``, ``DJANGO_SESSION_COOKIE_SECURE``,
  ``DJANGO_CSRF_COOKIE_SECURE`` (all on unless DEBUG), ``DJANGO_SECURE_HSTS_SECONDS``,
  ``DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS``, ``DJANGO_SECURE_HSTS_PRELOAD``,
  ``DJANGO_SECURE_PROXY_SSL_HEADER`` (behind a TLS-terminating proxy, e.g.
  ``HTTP_X_FORWARDED_PROTO,https``), ``DJANGO_CSRF_TRUSTED_ORIGINS``,
- ``DJANGO_API_BASIC_AUTH`` (HTTP Basic on the API, off by default; throttled when on),
- ``AUTOMATE_COPILOT_BASE_URL``, ``AUTOMATE_COPILOT_MODEL``,
  ``AUTOMATE_COPILOT_API_KEY_SECRET`` (the copilot's model; unset: the offline drafter).

docs/howto/deploy.md has the production checklist; ``manage.py check --deploy`` is clean
with it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
import django
from django.core.exceptions import ImproperlyConfigured

try:
    import fcntl
except ImportError:  # Windows: no lock, the link into place still never shows a half-made key
    fcntl = None  # type: ignore[assignment]

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(os.environ.get("AUTOMATE_VAR_DIR", BASE_DIR / "var"))

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be 1/0, true/false, yes/no or on/off, not {value!r}.")


def _int(name: str, default: int, unit: str = "seconds") -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not (value.isascii() and value.isdigit()):
        raise ImproperlyConfigured(f"{name} must be a whole number of {unit}, not {value!r}.")
    return int(value)


def _number(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not number >= 0 or number == float("inf"):
        raise ImproperlyConfigured(f"{name} must be a number of seconds, not {value!r}.")
    return number


DEBUG = _flag("DJANGO_DEBUG", False)


def _dev_key(name: str, generate: Callable[[], str]) -> str:
    """Development only: a per-checkout random key in ``var/<name>``, made once, readable
    by its owner only (mode 0600), kept out of version control. Deleting the file loses
    what the key protected (sessions, stored secrets).

    Two processes starting at once (daphne and a worker) keep one key: the key is written
    in full to a private temporary file first and only then linked into place, under a lock
    on ``var/<name>.lock``, so nobody reads a half-made file. An empty file (left by a crash
    of an older version) counts as missing and is replaced."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / name
    with _locked(VAR_DIR / f"{name}.lock"):
        try:
            key = path.read_text().strip()
        except FileNotFoundError:
            key = ""
        if key:
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)  # made by an older version, with the umask's mode
            return key
        key = generate().strip()
        descriptor, temporary = tempfile.mkstemp(dir=VAR_DIR, prefix=f".{name}.")
        try:
            with os.fdopen(descriptor, "w") as file:  # mkstemp's file is mode 0600
                file.write(key)
                file.flush()
                os.fsync(file.fileno())
            path.unlink(missing_ok=True)  # an empty leftover
            os.link(temporary, path)
        finally:
            os.unlink(temporary)
        return key


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (released by the system if the process dies)."""
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _secret_key() -> str:
    key = os.environ.get("DJANGO_SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("Set DJANGO_SECRET_KEY (or DJANGO_DEBUG=1 for development).")
    from django.core.management.utils import get_random_secret_key

    return _dev_key("dev_secret_key", get_random_secret_key)


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if h.strip()
]

CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

# HTTPS (docs/howto/deploy.md). Secure by default with DEBUG off; HSTS is opt-in because
# browsers remember it: set DJANGO_SECURE_HSTS_SECONDS once HTTPS works everywhere.
SECURE_SSL_REDIRECT = _flag("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = _flag("DJANGO_SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = _flag("DJANGO_CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = _int("DJANGO_SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _flag("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = _flag("DJANGO_SECURE_HSTS_PRELOAD", False)
# The liveness probe answers over plain HTTP too (load balancers probe the backend).
# Probes of load balancers and orchestrators speak plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health/$", r"^healthz$", r"^readyz$"]


def _proxy_ssl_header() -> tuple[str, str] | None:
    # Only behind a proxy that sets (and strips incoming copies of) this header: anyone
    # who can send it straight to the app could otherwise claim their request is HTTPS.
    value = os.environ.get("DJANGO_SECURE_PROXY_SSL_HEADER", "").strip()
    if not value:
        return None
    header, _, expected = value.partition(",")
    if not header.strip() or not expected.strip():
        raise ImproperlyConfigured(
            "DJANGO_SECURE_PROXY_SSL_HEADER must be '<META name>,<value>', "
            f"e.g. 'HTTP_X_FORWARDED_PROTO,https', not {value!r}."
        )
    return header.strip(), expected.strip()


SECURE_PROXY_SSL_HEADER = _proxy_ssl_header()

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "channels",
    "django_htmx",
    "automate",
    "studio",
    "demo_crm",  # the demo host app: what the demo workflow records (make run)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The studio and the admin answer in the browser's language (Accept-Language).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,  # the studio's templates live in the studio app (as in a wheel)
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the worker threads read while a request writes; the busy timeout turns
    # "database is locked" into a short wait.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    VAR_DIR.mkdir(parents=True, exist_ok=True)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    # MySQL 8+ / MariaDB 10.6+ (docs/howto/mysql.md): 4-byte UTF-8, strict mode (no silent
    # truncation), and READ COMMITTED as Django recommends: under REPEATABLE READ a worker's
    # transaction would keep reading the snapshot of its first read.
    DATABASES["default"]["OPTIONS"] = {
        "charset": "utf8mb4",
        "isolation_level": "read committed",
        "init_command": "SET sql_mode='STRICT_TRANS_TABLES,ANSI_QUOTES'",
        **DATABASES["default"].get("OPTIONS", {}),
    }
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4"}
    # MySQL/MariaDB skip indexes and unique constraints that have a condition (models.W036,
    # W037). The engine's own are given back as plain ones on MySQL by its first migration
    # (automate/migrations/0001_initial.py, _mysql_constraints; docs/howto/mysql.md).
    # Silenced in the standalone site only: its other models (demo_crm, Django's) have none.
    SILENCED_SYSTEM_CHECKS = ["models.W036", "models.W037"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    from automate.realtime.layers import DEFAULTS as _LAYER
    from automate.realtime.layers import redis_channel_layer

    # Socket timeout longer than channels-redis's 5 s blocking read (automate.realtime.layers).
    CHANNEL_LAYERS = {
        "default": redis_channel_layer(
            REDIS_URL,
            socket_timeout=_number(
                "AUTOMATE_CHANNEL_LAYER_SOCKET_TIMEOUT", _LAYER["socket_timeout"]
            ),
            prefix=os.environ.get("AUTOMATE_CHANNEL_LAYER_PREFIX", "").strip() or _LAYER["prefix"],
            capacity=_int("AUTOMATE_CHANNEL_LAYER_CAPACITY", _LAYER["capacity"], "messages"),
            expiry=_int("AUTOMATE_CHANNEL_LAYER_EXPIRY", _LAYER["expiry"]),
            group_expiry=_int("AUTOMATE_CHANNEL_LAYER_GROUP_EXPIRY", _LAYER["group_expiry"]),
        )
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"

# Email: Django 6.1 configures it with MAILERS (and deprecates EMAIL_BACKEND and the other
# EMAIL_* settings, which may not be set beside it); Django 5.2 ignores MAILERS and uses
# EMAIL_BACKEND, whose default is the same SMTP backend (localhost:25).
# The SMTP server comes from the environment (failure notices and the email connector send
# through it); a timeout keeps a hung server from holding a worker thread.
_EMAIL = {
    "host": os.environ.get("DJANGO_EMAIL_HOST", "").strip() or "localhost",
    "port": _int("DJANGO_EMAIL_PORT", 25, "port"),
    "username": os.environ.get("DJANGO_EMAIL_HOST_USER", ""),
    "password": os.environ.get("DJANGO_EMAIL_HOST_PASSWORD", ""),
    "use_tls": _flag("DJANGO_EMAIL_USE_TLS", False),
    "use_ssl": _flag("DJANGO_EMAIL_USE_SSL", False),
    "timeout": _number("DJANGO_EMAIL_TIMEOUT", 10.0),
}
DEFAULT_FROM_EMAIL = (
    os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "").strip() or "webmaster@localhost"
)
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": _EMAIL}}
if django.VERSION < (6, 1):
    EMAIL_HOST = _EMAIL["host"]
    EMAIL_PORT = _EMAIL["port"]
    EMAIL_HOST_USER = _EMAIL["username"]
    EMAIL_HOST_PASSWORD = _EMAIL["password"]
    EMAIL_USE_TLS = _EMAIL["use_tls"]
    EMAIL_USE_SSL = _EMAIL["use_ssl"]
    EMAIL_TIMEOUT = _EMAIL["timeout"]

USE_I18N = True
# The languages the apps ship catalogs for (automate/locale, studio/locale, found by
# Django in each app); a browser asking for another one gets English.
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
USE_TZ = True

STATIC_URL = "/static/"
# `collectstatic` gathers every file here; without DEBUG, WhiteNoise serves them from here
# under names that carry their hash (cached for a year by browsers), read from the manifest
# collectstatic writes. `check --deploy` fails (automate.E070) until it has run.
STATIC_ROOT = Path(os.environ.get("AUTOMATE_STATIC_ROOT", "").strip() or VAR_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# The studio's own files are in studio/static/ (found through the app). Its third-party
# front-end code, installed by `npm ci` (package.json), is served from its dist folders; a
# wheel carries copies of the same files at the same paths (setup.py, VENDOR_FILES).
STATICFILES_DIRS: list[Path | tuple[str, Path]] = []
NODE_MODULES_DIR = BASE_DIR / "node_modules"
for prefix, folder in [
    ("vendor/x6", "@antv/x6/dist"),
    ("vendor/dagre", "@dagrejs/dagre/dist"),
    ("vendor/htmx", "htmx.org/dist"),
]:
    if (NODE_MODULES_DIR / folder).is_dir():
        STATICFILES_DIRS.append((prefix, NODE_MODULES_DIR / folder))
# Single files of packages whose folders hold much more (config/staticfinders.py).
NPM_STATIC_FILES = {
    "vendor/lucide/sprite.svg": "lucide-static/sprite.svg",
    "vendor/lucide/LICENSE": "lucide-static/LICENSE",
    # The insights charts (studio/static/studio/insights/); the map the file names too.
    "vendor/chartjs/chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
    "vendor/chartjs/chart.umd.min.js.map": "chart.js/dist/chart.umd.min.js.map",
    "vendor/chartjs/LICENSE.md": "chart.js/LICENSE.md",
    # The API docs page, /api/v1/docs/ (automate.api.docs); the bundle names its map.
    "vendor/swagger-ui/swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "vendor/swagger-ui/swagger-ui-bundle.js.map": "swagger-ui-dist/swagger-ui-bundle.js.map",
    "vendor/swagger-ui/swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
    "vendor/swagger-ui/swagger-ui.css.map": "swagger-ui-dist/swagger-ui.css.map",
    "vendor/swagger-ui/LICENSE": "swagger-ui-dist/LICENSE",
}
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "config.staticfinders.NpmFileFinder",
]
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "/studio/login/"
LOGIN_REDIRECT_URL = "/studio/"

REST_FRAMEWORK = {
    # API tokens (Bearer da_…), then sessions (the studio, with CSRF). HTTP Basic costs a
    # password hash per request: off unless DJANGO_API_BASIC_AUTH=1, and then throttled
    # per client address before the hash (POLICY.api_basic_auth_per_minute).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "automate.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        *(
            ["automate.api.authentication.ThrottledBasicAuthentication"]
            if _flag("DJANGO_API_BASIC_AUTH", False)
            else []
        ),
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "automate.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "automate.observability.logging.RedactingFilter"},
        "context": {"()": "automate.observability.log_context.ContextFilter"},
    },
    "formatters": {"schema": {"()": "automate.observability.logging.SchemaFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context", "redact"],
            "formatter": "schema",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("AUTOMATE_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

DJANGO_AUTOMATE: dict[str, object] = {
    "WORKER_MODE": os.environ.get("AUTOMATE_WORKER_MODE", "thread"),
    # JSON logs for machines in production; readable lines on a developer's terminal.
    "LOGGING_SCHEMA": os.environ.get("AUTOMATE_LOGGING_SCHEMA", "simple" if DEBUG else "ecs"),
}

# What a deployment tunes, from the environment (docs/reference/settings.md). Unset keeps the
# engine's default (automate.conf.SCHEMA), which also validates the values at start-up.
_TUNING: dict[str, dict[str, tuple[str, Callable[[str, Any], Any]]]] = {
    "EXECUTION": {
        "lease_seconds": ("AUTOMATE_LEASE_SECONDS", _number),
        "worker_threads": ("AUTOMATE_WORKER_THREADS", lambda n, d: _int(n, d, "threads")),
        "worker_db_connections": (
            "AUTOMATE_WORKER_DB_CONNECTIONS",
            lambda n, d: _int(n, d, "connections"),
        ),
        "batch_size": ("AUTOMATE_BATCH_SIZE", lambda n, d: _int(n, d, "jobs")),
        "poll_interval_seconds": ("AUTOMATE_POLL_INTERVAL_SECONDS", _number),
        "timeout_seconds": ("AUTOMATE_STEP_TIMEOUT_SECONDS", _number),
        "max_retries": ("AUTOMATE_MAX_RETRIES", lambda n, d: _int(n, d, "retries")),
        "heartbeat_interval_seconds": ("AUTOMATE_HEARTBEAT_INTERVAL_SECONDS", _number),
        "worker_timeout_seconds": ("AUTOMATE_WORKER_TIMEOUT_SECONDS", _number),
    },
    "POLICY": {
        "webhook_rate_limit_per_minute": (
            "AUTOMATE_WEBHOOK_RATE_LIMIT_PER_MINUTE",
            lambda n, d: _int(n, d, "requests"),
        ),
        "api_basic_auth_per_minute": (
            "AUTOMATE_API_BASIC_AUTH_PER_MINUTE",
            lambda n, d: _int(n, d, "requests"),
        ),
    },
}
# Prometheus metrics on /metrics (automate.observability.metrics; docs/howto/deploy.md).
if _flag("AUTOMATE_METRICS_EXPORT", False):
    DJANGO_AUTOMATE["METRICS_EXPORT"] = True
_METRICS_ENV = {
    "token": os.environ.get("AUTOMATE_METRICS_TOKEN", "").strip(),
    "allowed_networks": [
        n.strip()
        for n in os.environ.get("AUTOMATE_METRICS_ALLOWED_NETWORKS", "").split(",")
        if n.strip()
    ],
}
if any(_METRICS_ENV.values()):
    DJANGO_AUTOMATE["METRICS"] = {key: value for key, value in _METRICS_ENV.items() if value}
for _section, _options in _TUNING.items():
    _values = {
        _key: _read(_env, None)
        for _key, (_env, _read) in _options.items()
        if os.environ.get(_env, "").strip()
    }
    if _values:
        DJANGO_AUTOMATE[_section] = _values

# The studio's copilot: unset, it is the offline drafter; set a base URL and a model to ask
# any OpenAI-compatible API (docs/reference/copilot.md). The key is a secret *name*.
_COPILOT_ENV = {
    "base_url": os.environ.get("AUTOMATE_COPILOT_BASE_URL", "").strip(),
    "model": os.environ.get("AUTOMATE_COPILOT_MODEL", "").strip(),
    "api_key_secret": os.environ.get("AUTOMATE_COPILOT_API_KEY_SECRET", "").strip(),
}
if any(_COPILOT_ENV.values()):
    DJANGO_AUTOMATE["COPILOT"] = {key: value for key, value in _COPILOT_ENV.items() if value}

# The demo (DEBUG only, as in `make run`): the golden-path workflow posts to a Slack sandbox
# served by this same site and records customers in demo_crm. Nothing here applies with
# DEBUG off.
SITE_URL = os.environ.get("AUTOMATE_SITE_URL", "http://127.0.0.1:8000")
if DEBUG:
    os.environ.setdefault("AUTOMATE_SLACK_TOKEN", "xoxb-demo-sandbox-not-a-real-token")
    # The key of stored secrets (the admin's Stored secrets, the db backend), made once
    # like the secret key above. Production has no such default: automate.E012.
    if not os.environ.get("AUTOMATE_SECRETS_KEYS", "").strip():
        from cryptography.fernet import Fernet

        os.environ["AUTOMATE_SECRETS_KEYS"] = _dev_key(
            "dev_secrets_key", lambda: Fernet.generate_key().decode()
        )
    os.environ.setdefault("AUTOMATE_STRIPE_WEBHOOK_SECRET", "whsec_demo_sandbox_secret")
    # The Slack sandbox is this very site: allow its own address and port, nothing else
    # local (not the database, not another service on the laptop).
    _site = urlsplit(SITE_URL)
    _site_port = _site.port or (443 if _site.scheme == "https" else 80)
    _site_host = f"[{_site.hostname}]" if ":" in (_site.hostname or "") else _site.hostname
    # AUTOMATE_DEV_HTTP_ALLOWLIST adds patterns (comma separated), e.g. "127.0.0.1" for the
    # browser tests, whose fake services listen on ports chosen after the site started.
    _dev_extra = os.environ.get("AUTOMATE_DEV_HTTP_ALLOWLIST", "").split(",")
    DJANGO_AUTOMATE["POLICY"] = {
        **DJANGO_AUTOMATE.get("POLICY", {}),  # type: ignore[dict-item]
        "http_allowlist": [
            f"{_site_host}:{_site_port}",
            *(p.strip() for p in _dev_extra if p.strip()),
        ],
    }
    DJANGO_AUTOMATE["CONNECTOR_OPTIONS"] = {
        "slack": {"base_url": f"{SITE_URL}/dev/slack/api"},
        # Customers are scoped to the workflow's tenant (demo_crm.Customer.tenant).
        "django_model": {"models": [{"model": "demo_crm.Customer", "tenant_field": "tenant"}]},
    }
