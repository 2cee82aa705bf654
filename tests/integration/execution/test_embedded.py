"""WORKER_MODE "thread" (the default) in any project: a server process runs the worker
from its first request; management commands and tests start none; ``check`` says when no
worker runs inside the web server."""

import gc
import time
from wsgiref.util import setup_testing_defaults

import pytest
from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core import mail
from django.core.checks import run_checks
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.signals import request_started
from django.test import override_settings
from django.test.client import AsyncClientHandler, ClientHandler

from automate.execution import embedded
from automate.execution.models import ExecutionRun, OutboxJob
from automate.runtime import emit_event
from tests.factories import make_published

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # The worker's step threads keep their database connection until the process exits;
    # stopped in a test, they leave connections for the garbage collector (closed in
    # _no_embedded_worker_left, before the test database is dropped).
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def automate_settings(**extra):
    return {**settings.DJANGO_AUTOMATE, **extra}


THREAD_MODE = automate_settings(
    WORKER_MODE="thread", EXECUTION={"poll_interval_seconds": 0.05, "worker_threads": 1}
)


@pytest.fixture(autouse=True)
def _no_embedded_worker_left():
    embedded.stop_embedded_worker()
    yield
    embedded.stop_embedded_worker()
    gc.collect()


@pytest.fixture
def outside_test_environment(monkeypatch):
    """As in a real server process: no test runner set up Django's test environment."""
    monkeypatch.delattr(mail, "outbox")


def serve_one_request(path="/api/v1/health/"):
    """One request through Django's own WSGI handler, as gunicorn or runserver call it."""
    environ = {}
    setup_testing_defaults(environ)
    environ["PATH_INFO"] = path
    statuses = []
    body = b"".join(WSGIHandler()(environ, lambda status, headers: statuses.append(status)))
    return statuses[0], body


@pytest.mark.parametrize(
    ("handler", "serves"),
    [
        (WSGIHandler, True),  # runserver, gunicorn, uwsgi
        (ASGIHandler, True),  # daphne, uvicorn, channels' ProtocolTypeRouter
        (StaticFilesHandler, True),  # runserver with django.contrib.staticfiles
        (ClientHandler, False),  # the test client
        (AsyncClientHandler, False),
    ],
)
def test_only_real_server_handlers_count_as_serving_requests(handler, serves):
    assert embedded.serves_requests(handler) is serves


@override_settings(DJANGO_AUTOMATE=THREAD_MODE)
def test_a_server_process_runs_the_worker_from_its_first_request(outside_test_environment):
    make_published(
        trigger_spec={"event_type": "order.placed"},
        rule_spec={},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {
                    "id": "echo",
                    "type": "action",
                    "connector": "testkit",
                    "action": "echo",
                    "inputs": {"text": "order {{ event.payload.id }}"},
                },
            ],
            "edges": [{"source": "trigger", "target": "echo"}],
        },
    )
    emit_event("order.placed", {"id": 7})
    time.sleep(0.3)
    assert OutboxJob.objects.get().status == OutboxJob.Status.PENDING, "no worker yet"
    assert not ExecutionRun.objects.exists()
    assert not embedded.embedded_worker_running()

    status, _ = serve_one_request()

    assert status.startswith("200")
    assert embedded.embedded_worker_running()
    deadline = time.monotonic() + 15
    run = None
    while time.monotonic() < deadline:
        run = ExecutionRun.objects.first()
        if run is not None and run.status == ExecutionRun.Status.SUCCEEDED:
            break
        time.sleep(0.1)
    assert run is not None, "the worker never matched the event"
    assert run.status == ExecutionRun.Status.SUCCEEDED
    step = run.steps.get(node_id="echo")
    assert step.outputs["echo"]["text"] == "order 7"


@override_settings(DJANGO_AUTOMATE=THREAD_MODE)
def test_later_requests_keep_the_one_worker_and_restart_a_dead_one(outside_test_environment):
    serve_one_request()
    first = embedded._started
    serve_one_request()
    assert embedded._started is first

    embedded.stop_embedded_worker()
    assert not embedded.embedded_worker_running()
    serve_one_request()
    assert embedded.embedded_worker_running()
    assert embedded._started is not first


@override_settings(DJANGO_AUTOMATE=THREAD_MODE)
def test_test_clients_and_test_runs_start_no_worker(client):
    client.get("/api/v1/health/")  # the test client's own handler
    assert not embedded.embedded_worker_running()
    serve_one_request()  # a live test server: inside Django's test environment
    assert not embedded.embedded_worker_running()


@override_settings(DJANGO_AUTOMATE=THREAD_MODE)
def test_management_commands_start_no_worker(outside_test_environment):
    call_command("migrate", verbosity=0)
    call_command("check", verbosity=0)
    assert not embedded.embedded_worker_running()


@pytest.mark.parametrize("mode", ["process", "synchronous"])
def test_other_worker_modes_start_nothing_on_requests(outside_test_environment, mode):
    with override_settings(DJANGO_AUTOMATE=automate_settings(WORKER_MODE=mode)):
        request_started.send(sender=ASGIHandler, scope={})
        serve_one_request()
    assert not embedded.embedded_worker_running()


def worker_messages():
    return [m for m in run_checks() if m.id == "automate.I050"]


def test_check_says_when_no_worker_runs_in_the_web_server():
    with override_settings(DJANGO_AUTOMATE=automate_settings(WORKER_MODE="process")):
        [message] = worker_messages()
    assert "PENDING" in message.msg
    assert "manage.py automate_worker" in message.hint


@pytest.mark.parametrize("mode", ["thread", "synchronous"])
def test_check_is_quiet_when_jobs_run_without_a_separate_worker(mode):
    with override_settings(DJANGO_AUTOMATE=automate_settings(WORKER_MODE=mode)):
        assert worker_messages() == []


def test_check_is_quiet_with_no_django_automate_setting():
    with override_settings():
        del settings.DJANGO_AUTOMATE
        assert worker_messages() == []
