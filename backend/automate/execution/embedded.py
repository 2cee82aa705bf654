"""``WORKER_MODE = "thread"`` (the default): worker threads inside the web server process.

Any project with ``automate`` installed gets them: the first request a server process
handles starts its worker (``start_for_server``, connected to ``request_started`` by the
app config), whichever server it is: runserver, daphne, uvicorn, gunicorn (each of its
processes after the fork). Management commands (``migrate``, ``shell``...) handle no
request and start none; nor do the test client and live test servers (a test suite runs
jobs itself). The standalone site's ``config/asgi.py`` also starts it at import, so its
schedules fire before anyone opens a page. One embedded worker per process; it stops when
the process exits.
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import TYPE_CHECKING, Any

from django.core import mail
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections

from automate import conf

if TYPE_CHECKING:
    from automate.execution.worker import Worker

logger = logging.getLogger("automate.worker")
_started: threading.Thread | None = None
_worker: Worker | None = None
_lock = threading.Lock()
#: Why the embedded Celery relay could not start (each reason logged once).
_refused: set[str] = set()


def start_embedded_worker() -> threading.Thread | None:
    """Start the in-process worker if ``WORKER_MODE`` is "thread" (idempotent)."""
    global _started, _worker
    if conf.get("WORKER_MODE") != "thread":
        return None
    with _lock:
        if _started is not None and _started.is_alive():
            return _started
        from automate.execution.celery_relay import CeleryNotConfiguredError, make_worker

        # EXECUTION.backend = "celery": the embedded worker relays jobs to Celery.
        try:
            worker = make_worker(concurrency=conf.get("EXECUTION", "worker_threads"))
        except CeleryNotConfiguredError as exc:
            # automate.E090 says so at start-up; a server started without the checks
            # (daphne) still serves pages, and its log says why no job runs.
            if str(exc) not in _refused:
                _refused.add(str(exc))
                logger.error("No embedded worker: EXECUTION.backend is 'celery' but %s", exc)
            return None
        thread = threading.Thread(
            target=_run_worker, args=(worker,), name="automate-worker", daemon=True
        )
        thread.start()
        atexit.register(worker.stop)
        _started, _worker = thread, worker
        logger.info("Embedded worker started (%s threads)", worker.concurrency)
        return thread


def _run_worker(worker: Worker) -> None:
    try:
        worker.run()
    finally:
        # This thread's database connections end with it (a server's autoreload, a test).
        connections.close_all()


def stop_embedded_worker(timeout: float = 10.0) -> None:
    """Stop this process's embedded worker, if any: running steps finish first."""
    with _lock:
        thread, worker = _started, _worker
    if thread is None or worker is None:
        return
    worker.stop()
    thread.join(timeout)


def embedded_worker_running() -> bool:
    """True when this process runs an embedded worker."""
    return _started is not None and _started.is_alive()


def serves_requests(handler: Any) -> bool:
    """True for the handler class of a real server: Django's WSGI or ASGI handler.

    The test client sends ``request_started`` from its own handler classes, which are
    neither.
    """
    return isinstance(handler, type) and issubclass(handler, (WSGIHandler, ASGIHandler))


def in_test_environment() -> bool:
    """True between Django's ``setup_test_environment`` and its teardown.

    That set-up is what gives ``django.core.mail`` its ``outbox`` (Django's test runner
    and pytest-django both call it), so a host project's live-server tests do not get a
    worker writing into their test database behind their back.
    """
    return hasattr(mail, "outbox")


def start_for_server(sender: Any, **kwargs: Any) -> None:
    """``request_started`` receiver: a server process runs the worker from its first request.

    Cheap on every later request (a class check and a thread liveness check); a worker
    thread that died is started again by the next request.
    """
    if embedded_worker_running() or not serves_requests(sender) or in_test_environment():
        return
    start_embedded_worker()
