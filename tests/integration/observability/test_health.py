"""/healthz and /readyz (automate.observability.health), as a load balancer sees them."""

import os
import socket

import pytest
from django.db import OperationalError
from django.db.models.functions import Now
from django.test import override_settings

from automate.execution.models import WorkerProcess
from automate.observability import health

pytestmark = pytest.mark.django_db

PROCESS_MODE = {"WORKER_MODE": "process"}


@pytest.fixture(autouse=True)
def _forget_migrated():
    health._migrated.clear()
    yield
    health._migrated.clear()


def beating_worker(worker_id="w-1"):
    return WorkerProcess.objects.create(
        worker_id=worker_id, pid=1, started_at=Now(), last_heartbeat_at=Now()
    )


def test_healthz_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_ready_with_a_live_worker(client, settings):
    settings.DJANGO_AUTOMATE = {**settings.DJANGO_AUTOMATE, **PROCESS_MODE}
    beating_worker()
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == {"ok": True, "detail": "answers"}
    assert body["checks"]["migrations"] == {"ok": True, "detail": "all applied"}
    assert body["checks"]["workers"] == {"ok": True, "detail": "1 alive"}
    assert body["checks"]["channel_layer"]["ok"] is True


def test_not_ready_without_a_worker_in_the_error_shape(client, settings):
    settings.DJANGO_AUTOMATE = {**settings.DJANGO_AUTOMATE, **PROCESS_MODE}
    WorkerProcess.objects.create(
        worker_id="dead", pid=1, started_at=Now(), last_heartbeat_at="2020-01-01T00:00:00Z"
    )
    response = client.get("/readyz", HTTP_TRACEPARENT="00-" + "ab" * 16 + "-" + "cd" * 8 + "-01")
    assert response.status_code == 503
    body = response.json()
    assert set(body) == {"code", "message", "details", "trace_id"}
    assert body["code"] == "not_ready"
    assert body["message"] == "Not ready: workers."
    assert body["trace_id"] == "ab" * 16
    assert body["details"]["checks"]["workers"]["ok"] is False
    assert "no worker beat in the last 10 s" in body["details"]["checks"]["workers"]["detail"]


def test_synchronous_mode_needs_no_worker(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["workers"]["detail"] == "synchronous mode: no workers"


def test_not_ready_while_migrations_are_pending(client, monkeypatch):
    monkeypatch.setattr(
        health.MigrationExecutor, "migration_plan", lambda self, targets: [("m", False)] * 2
    )
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["details"]["checks"]
    assert checks["migrations"] == {"ok": False, "detail": "2 migration(s) not applied"}
    assert response.json()["message"] == "Not ready: migrations."


def test_a_dead_database_is_named_without_its_message(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("could not connect to postgres://admin:hunter2@db/automate")

    monkeypatch.setattr(health.connection, "cursor", refuse)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["details"]["checks"]["database"] == {
        "ok": False,
        "detail": "the database did not answer (OperationalError)",
    }
    assert body["details"]["checks"]["workers"]["detail"] == "not checked: no database"
    assert "hunter2" not in response.content.decode()


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_channel_layer_is_not_ready(client):
    from automate.realtime.layers import redis_channel_layer

    layers = {"default": redis_channel_layer(f"redis://127.0.0.1:{_free_port()}/0")}
    with override_settings(CHANNEL_LAYERS=layers):
        response = client.get("/readyz")
    assert response.status_code == 503
    check = response.json()["details"]["checks"]["channel_layer"]
    assert check["ok"] is False
    assert check["detail"].startswith("unreachable (")


def test_the_real_redis_layer_answers(client):
    from tests.integration.realtime.test_redis import redis_answers

    if not redis_answers():
        if os.environ.get("CI") == "true":
            pytest.fail("Redis does not answer on 127.0.0.1:6379 (required under CI=true).")
        pytest.skip("Redis does not answer on 127.0.0.1:6379")
    from automate.realtime.layers import redis_channel_layer

    layers = {
        "default": redis_channel_layer(
            "redis://127.0.0.1:6379/0", prefix=f"automate-test-readyz-{os.getpid()}"
        )
    }
    with override_settings(CHANNEL_LAYERS=layers):
        response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["channel_layer"] == {
        "ok": True,
        "detail": "RedisChannelLayer answers",
    }


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_are_not_redirected_to_https(client, settings, path):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(path)
    assert response.status_code in (200, 503)


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_only_get(client, method):
    assert getattr(client, method)("/readyz").status_code == 405
