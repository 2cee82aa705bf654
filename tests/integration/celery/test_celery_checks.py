"""``EXECUTION.backend = "celery"`` is checked at start-up: the project's Celery app must
be found, and the message says what is wrong (no broker needed)."""

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from automate.checks import check_celery_backend
from automate.execution.celery_relay import CeleryRelay, celery_app, make_worker
from automate.execution.worker import Worker
from tests.integration.celery.celeryapp import app as test_app


def celery_settings(**execution):
    return override_settings(DJANGO_AUTOMATE={"EXECUTION": {"backend": "celery", **execution}})


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("proj.celery.app", "'proj.celery.app' cannot be imported"),
        ("automate.conf.SCHEMA", "is a dict, not a Celery app"),
    ],
)
def test_a_celery_app_that_is_not_one_fails_the_checks(path, says):
    with celery_settings(celery_app=path):
        (error,) = check_celery_backend()
    assert error.id == "automate.E090"
    assert says in error.msg
    assert error.msg.startswith("EXECUTION.backend is 'celery' but")


def test_the_worker_command_refuses_to_start_without_the_app():
    with celery_settings(celery_app="proj.celery.app"), pytest.raises(CommandError) as caught:
        call_command("automate_worker", "--once")
    assert "cannot be imported" in str(caught.value)


def test_the_named_app_is_the_one_the_relay_sends_through():
    with celery_settings(celery_app="tests.integration.celery.celeryapp.app"):
        assert check_celery_backend() == []
        assert celery_app() is test_app
        relay = make_worker(concurrency=4)
    assert isinstance(relay, CeleryRelay)
    assert relay.app is test_app


def test_the_default_backend_runs_jobs_itself():
    assert check_celery_backend() == []
    assert isinstance(make_worker(concurrency=1), Worker)


def test_a_server_without_the_app_serves_pages_and_logs_why_no_job_runs(caplog):
    from automate.execution import embedded

    embedded._refused.clear()
    with (
        override_settings(
            DJANGO_AUTOMATE={
                "WORKER_MODE": "thread",
                "EXECUTION": {"backend": "celery", "celery_app": "proj.celery.app"},
            }
        ),
        caplog.at_level("ERROR", logger="automate.worker"),
    ):
        assert embedded.start_embedded_worker() is None
        assert embedded.start_embedded_worker() is None  # the next request: no second line
    assert not embedded.embedded_worker_running()
    (line,) = [r.getMessage() for r in caplog.records if "No embedded worker" in r.getMessage()]
    assert "'proj.celery.app' cannot be imported" in line


def test_without_a_path_the_app_the_project_created_is_used():
    with celery_settings():
        assert check_celery_backend() == []
        assert celery_app() is test_app
