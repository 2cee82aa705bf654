"""The publisher never gets in the engine's way."""

import logging

import pytest
from django.test import override_settings

from automate.execution.models import ExecutionRun
from automate.realtime.publisher import publish_run
from automate.runtime import emit_event
from tests.factories import make_published

pytestmark = pytest.mark.django_db(transaction=True)

BROKEN_LAYER = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # Nothing listens on port 9: every send fails at once.
        "CONFIG": {"hosts": ["redis://127.0.0.1:9/0"]},
    }
}


def test_a_broken_channel_layer_is_logged_and_the_run_carries_on(caplog):
    make_published(
        slug="wf",
        rule_spec={},
        trigger_spec={"event_type": "invoice.paid"},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {"id": "a", "type": "action", "connector": "testkit", "action": "echo"},
            ],
            "edges": [{"source": "trigger", "target": "a"}],
        },
    )
    with override_settings(CHANNEL_LAYERS=BROKEN_LAYER), caplog.at_level(logging.WARNING):
        emit_event("invoice.paid", {})
    assert ExecutionRun.objects.get().status == "succeeded"
    warnings = [r for r in caplog.records if r.name == "automate.realtime"]
    assert warnings
    assert "Could not publish the state of run" in warnings[0].getMessage()


def test_publishing_an_unknown_run_does_nothing():
    with override_settings(CHANNEL_LAYERS=BROKEN_LAYER):
        publish_run("00000000-0000-0000-0000-000000000000", reason="test")
