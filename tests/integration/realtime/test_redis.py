"""The live explorer over channels-redis, as production runs it (several daphne processes).

Needs Redis on 127.0.0.1:6379. Skipped with a reason when it does not answer, except under
CI=true, where a missing Redis is a failure.
"""

import os
import socket

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.test import override_settings

from automate.execution.models import ExecutionRun
from automate.execution.services import retry_step
from automate.realtime.layers import redis_channel_layer
from automate.runtime import emit_event
from tests.factories import make_published, make_studio_user
from tests.integration.realtime.conftest import frames_until, open_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

REDIS = ("127.0.0.1", 6379)
# Built as the standalone site builds it (automate.realtime.layers); other test runs may
# share this Redis, so the prefix keeps our channels and groups apart.
LAYERS = {
    "default": redis_channel_layer(
        f"redis://{REDIS[0]}:{REDIS[1]}/0", prefix=f"automate-test-{os.getpid()}"
    )
}


def redis_answers():
    try:
        with socket.create_connection(REDIS, timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def redis_layer():
    if not redis_answers():
        if os.environ.get("CI") == "true":
            pytest.fail("Redis does not answer on 127.0.0.1:6379 (required under CI=true).")
        pytest.skip("Redis does not answer on 127.0.0.1:6379; start it to run this test.")
    with override_settings(CHANNEL_LAYERS=LAYERS):
        yield


@database_sync_to_async
def failed_run():
    make_published(
        slug="wf",
        rule_spec={},
        trigger_spec={"event_type": "invoice.paid"},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {
                    "id": "a",
                    "type": "action",
                    "connector": "testkit",
                    "action": "fail",
                    "inputs": {"retryable": False, "times": 1},
                },
            ],
            "edges": [{"source": "trigger", "target": "a"}],
        },
    )
    emit_event("invoice.paid", {})
    return ExecutionRun.objects.get(), make_studio_user()


async def test_frames_travel_through_redis(redis_layer):
    layer = get_channel_layer()
    assert type(layer).__name__ == "RedisChannelLayer"

    run, user = await failed_run()
    page = await open_socket(f"/ws/runs/{run.pk}/", user)
    try:
        snapshot = await page.receive_json_from(timeout=5)
        assert snapshot["run"]["status"] == "failed"
        await database_sync_to_async(retry_step)(run=run, node_id="a", actor=user)
        frames = await frames_until(page, lambda f: f["run"]["status"] == "succeeded")
        assert {s["node_id"]: s["status"] for s in frames[-1]["steps"]}["a"] == "succeeded"
    finally:
        await page.disconnect()
        await layer.flush()
        await layer.close_pools()


async def test_an_idle_page_keeps_its_websocket_for_30_seconds(redis_layer):
    """redis-py's default 5 s socket timeout equals channels-redis's 5 s blocking read: with
    a bare {"hosts": [url]} layer this page was closed (1011) after about 5.5 s idle."""
    layer = get_channel_layer()
    run, user = await failed_run()
    page = await open_socket(f"/ws/runs/{run.pk}/", user)
    try:
        assert (await page.receive_json_from(timeout=5))["run"]["status"] == "failed"
        # Nothing happens for 30 s: no frame, no close, no crash of the consumer.
        assert await page.receive_nothing(timeout=30, interval=0.5)
        # And the page still hears what happens next.
        await database_sync_to_async(retry_step)(run=run, node_id="a", actor=user)
        frames = await frames_until(page, lambda f: f["run"]["status"] == "succeeded")
        assert frames[-1]["run"]["status"] == "succeeded"
    finally:
        await page.disconnect()
        await layer.flush()
        await layer.close_pools()
