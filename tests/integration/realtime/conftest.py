"""Helpers for the live explorer's tests: websocket clients logged in by session cookie."""

import os

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from automate import realtime

CANARY = "canary-Zq8v1-do-not-leak-4711"


@pytest.fixture(autouse=True)
def _publisher():
    # AutomateConfig.ready() connects it in the real site; make sure tests do not depend
    # on that line being there.
    realtime.connect()
    yield
    # Follow-up publishes of runs that stopped mid-flight must not outlive the test.
    from automate.realtime.publisher import stop_settling

    stop_settling()


@pytest.fixture
def canary(monkeypatch):
    monkeypatch.setenv("AUTOMATE_CANARY", CANARY)
    yield CANARY
    os.environ.pop("AUTOMATE_CANARY", None)


def _session_cookie(user):
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def open_socket(path, user=None):
    """A WebsocketCommunicator on the real ASGI application (origin check, auth, routing)."""
    from config.asgi import application

    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if user is not None:
        cookie = await database_sync_to_async(_session_cookie)(user)
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def frames_until(communicator, done, timeout=5):
    """Receive frames until ``done(frame)`` is true; return them all."""
    frames = []
    while True:
        frame = await communicator.receive_json_from(timeout=timeout)
        frames.append(frame)
        if done(frame):
            return frames
