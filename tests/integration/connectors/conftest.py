"""Fixtures for the HTTP connector tests: real local HTTP servers, a fake resolver (no DB)."""

import socket

import pytest
from django.conf import settings
from django.test import override_settings

from automate.connectors import ExecutionContext

from .http_servers import FakeResolver, LocalServer

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def automate_settings(**sections):
    """The project's DJANGO_AUTOMATE with ``sections`` replaced."""
    return override_settings(DJANGO_AUTOMATE={**settings.DJANGO_AUTOMATE, **sections})


@pytest.fixture
def allow_local():
    """Allow-list 127.0.0.1 (only the IP: ``localhost`` stays blocked)."""
    with automate_settings(POLICY={"http_allowlist": ["127.0.0.1"]}):
        yield


@pytest.fixture
def serve():
    """``serve(app)`` starts a LocalServer for the test and stops it afterwards."""
    servers = []

    def start(app=None, **kwargs):
        server = LocalServer(app, **kwargs).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def fake_dns(monkeypatch):
    """``fake_dns({"name": ["1.2.3.4"]})``: answer those names, resolve others for real."""
    real = socket.getaddrinfo

    def install(table):
        resolver = FakeResolver(table, real)
        monkeypatch.setattr(socket, "getaddrinfo", resolver)
        return resolver

    return install


@pytest.fixture
def step_context():
    return ExecutionContext(run_id="run-1", node_id="call", trace_id=TRACE_ID, timeout_seconds=10)
