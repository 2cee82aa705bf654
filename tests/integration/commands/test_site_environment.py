"""The standalone site's tuning variables (docs/reference/settings.md): each one reaches the
engine's setting it names, a bad value stops the start-up naming the variable, and the
Redis channel layer is built so idle websockets stay open.

Each case starts a fresh Python: settings are read once per process."""

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

PRINT = """
import json
from django.conf import settings
from automate import conf
print(json.dumps({
    "execution": {k: conf.get("EXECUTION", k) for k in (
        "lease_seconds", "worker_threads", "worker_db_connections", "batch_size",
        "poll_interval_seconds", "timeout_seconds", "max_retries",
        "heartbeat_interval_seconds", "worker_timeout_seconds")},
    "policy": {k: conf.get("POLICY", k) for k in (
        "webhook_rate_limit_per_minute", "api_basic_auth_per_minute", "http_allowlist")},
    "layers": settings.CHANNEL_LAYERS,
}))
"""


def settings_of(env, tmp_path, command=None):
    base = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{ROOT / 'backend'}:{ROOT}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "AUTOMATE_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    code = "import django; django.setup()\n" + PRINT
    args = ["manage.py", command] if command else ["-c", code]
    result = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**base, **env},
        timeout=120,
    )
    return result


def test_every_tuning_variable_reaches_its_setting(tmp_path):
    result = settings_of(
        {
            "AUTOMATE_LEASE_SECONDS": "120",
            "AUTOMATE_WORKER_THREADS": "16",
            "AUTOMATE_WORKER_DB_CONNECTIONS": "4",
            "AUTOMATE_BATCH_SIZE": "50",
            "AUTOMATE_POLL_INTERVAL_SECONDS": "0.25",
            "AUTOMATE_STEP_TIMEOUT_SECONDS": "15",
            "AUTOMATE_MAX_RETRIES": "5",
            "AUTOMATE_HEARTBEAT_INTERVAL_SECONDS": "1.5",
            "AUTOMATE_WORKER_TIMEOUT_SECONDS": "8",
            "AUTOMATE_WEBHOOK_RATE_LIMIT_PER_MINUTE": "600",
            "AUTOMATE_API_BASIC_AUTH_PER_MINUTE": "12",
        },
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["execution"] == {
        "lease_seconds": 120.0,
        "worker_threads": 16,
        "worker_db_connections": 4,
        "batch_size": 50,
        "poll_interval_seconds": 0.25,
        "timeout_seconds": 15.0,
        "max_retries": 5,
        "heartbeat_interval_seconds": 1.5,
        "worker_timeout_seconds": 8.0,
    }
    assert values["policy"]["webhook_rate_limit_per_minute"] == 600
    assert values["policy"]["api_basic_auth_per_minute"] == 12


def test_unset_variables_keep_the_engine_defaults(tmp_path):
    result = settings_of({}, tmp_path)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["execution"]["lease_seconds"] == 300
    assert values["execution"]["batch_size"] == 10
    assert values["policy"]["webhook_rate_limit_per_minute"] == 100
    assert values["layers"]["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"


def test_debug_keeps_a_tuned_policy_beside_the_demo_allowlist(tmp_path):
    result = settings_of(
        {"DJANGO_DEBUG": "1", "AUTOMATE_WEBHOOK_RATE_LIMIT_PER_MINUTE": "42"}, tmp_path
    )
    assert result.returncode == 0, result.stderr
    policy = json.loads(result.stdout)["policy"]
    assert policy["webhook_rate_limit_per_minute"] == 42
    assert policy["http_allowlist"] == ["127.0.0.1:8000"]


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("AUTOMATE_BATCH_SIZE", "ten", "AUTOMATE_BATCH_SIZE must be a whole number of jobs"),
        ("AUTOMATE_WORKER_THREADS", "-4", "AUTOMATE_WORKER_THREADS must be a whole number"),
        ("AUTOMATE_LEASE_SECONDS", "-5", "AUTOMATE_LEASE_SECONDS must be a number of seconds"),
        ("AUTOMATE_POLL_INTERVAL_SECONDS", "soon", "AUTOMATE_POLL_INTERVAL_SECONDS must be"),
        ("AUTOMATE_STEP_TIMEOUT_SECONDS", "inf", "AUTOMATE_STEP_TIMEOUT_SECONDS must be"),
    ],
)
def test_a_bad_value_stops_the_start_up_naming_it(tmp_path, name, value, said):
    result = settings_of({name: value}, tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert said in result.stderr


def test_a_value_out_of_the_engines_range_fails_the_system_check(tmp_path):
    # A number, so the site reads it; the engine's own check (automate.E001) refuses it.
    result = settings_of({"AUTOMATE_BATCH_SIZE": "0"}, tmp_path, "check")
    assert result.returncode != 0
    assert "automate.E001" in result.stderr
    assert "DJANGO_AUTOMATE['EXECUTION']['batch_size']" in result.stderr


def test_the_redis_layer_reads_longer_than_its_blocking_read(tmp_path):
    result = settings_of(
        {
            "REDIS_URL": "redis://127.0.0.1:6379/3",
            "AUTOMATE_CHANNEL_LAYER_PREFIX": "site-a",
            "AUTOMATE_CHANNEL_LAYER_CAPACITY": "500",
        },
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)["layers"]["default"]["CONFIG"]
    assert config["hosts"] == [{"address": "redis://127.0.0.1:6379/3", "socket_timeout": 30.0}]
    assert config["prefix"] == "site-a"
    assert config["capacity"] == 500


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"AUTOMATE_CHANNEL_LAYER_SOCKET_TIMEOUT": "5"}, "must be longer than its 5 s"),
        ({"AUTOMATE_CHANNEL_LAYER_CAPACITY": "0"}, "capacity must be at least 1"),
        ({"REDIS_URL": "http://127.0.0.1:6379"}, "must start with redis://"),
    ],
)
def test_a_bad_channel_layer_option_stops_the_start_up(tmp_path, env, said):
    result = settings_of({"REDIS_URL": "redis://127.0.0.1:6379/3", **env}, tmp_path)
    assert result.returncode != 0
    assert said in result.stderr
