"""Settings of the benchmarks' child processes: the test settings plus bench-only knobs.

Every knob comes from the environment the bench gives its children (``bench/_support``):

- ``AUTOMATE_BENCH_HTTP_ALLOWLIST``: comma-separated host patterns added to
  ``POLICY.http_allowlist`` (e.g. ``127.0.0.1:8123``, the bench's local HTTP server; the
  SSRF guard refuses loopback addresses otherwise).
- ``AUTOMATE_BENCH_WEBHOOK_RATE``: ``POLICY.webhook_rate_limit_per_minute`` (default 100
  verified deliveries a minute per tenant would throttle the front-door bench to 1.7/s).
- ``AUTOMATE_BENCH_DB_APP_NAME``: the PostgreSQL ``application_name`` of every connection
  the process opens, so ``bench/chaos.py`` can terminate the workers' connections only.
- ``AUTOMATE_BENCH_PREPARE_THRESHOLD``: Django's ``OPTIONS["prepare_threshold"]`` (psycopg
  prepares a statement on the server after that many executions; ``bench/_support`` sets
  5, psycopg's own default, unless the environment says otherwise; empty: off).
"""

import os

from config.settings_test import *  # noqa: F403
from config.settings_test import DATABASES, DJANGO_AUTOMATE

_policy: dict[str, object] = dict(DJANGO_AUTOMATE.get("POLICY", {}))  # type: ignore[call-overload]
_allow = [p.strip() for p in os.environ.get("AUTOMATE_BENCH_HTTP_ALLOWLIST", "").split(",")]
if any(_allow):
    _policy["http_allowlist"] = [p for p in _allow if p]
if os.environ.get("AUTOMATE_BENCH_WEBHOOK_RATE"):
    _policy["webhook_rate_limit_per_minute"] = int(os.environ["AUTOMATE_BENCH_WEBHOOK_RATE"])
DJANGO_AUTOMATE["POLICY"] = _policy

if os.environ.get("AUTOMATE_BENCH_DB_APP_NAME") and "postgresql" in DATABASES["default"]["ENGINE"]:
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"]["application_name"] = os.environ["AUTOMATE_BENCH_DB_APP_NAME"]

if (
    os.environ.get("AUTOMATE_BENCH_PREPARE_THRESHOLD")
    and "postgresql" in DATABASES["default"]["ENGINE"]
):
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = int(
        os.environ["AUTOMATE_BENCH_PREPARE_THRESHOLD"]
    )
