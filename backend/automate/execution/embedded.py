"""``WORKER_MODE = "thread"``: worker threads inside the ASGI server process.

Started from ``config/asgi.py`` (so only a real server starts it, never ``migrate`` or the
test suite). One embedded worker per process; it stops when the process exits.
"""

from __future__ import annotations

import atexit
import logging
import threading

from automate import conf

logger = logging.getLogger("automate.worker")
_started: threading.Thread | None = None
_lock = threading.Lock()


def start_embedded_worker() -> threading.Thread | None:
    """Start the in-process worker if ``WORKER_MODE`` is "thread" (idempotent)."""
    global _started
    if conf.get("WORKER_MODE") != "thread":
        return None
    with _lock:
        if _started is not None and _started.is_alive():
            return _started
        from automate.execution.worker import Worker

        worker = Worker(concurrency=conf.get("EXECUTION", "worker_threads"))
        thread = threading.Thread(target=worker.run, name="automate-worker", daemon=True)
        thread.start()
        atexit.register(worker.stop)
        _started = thread
        logger.info("Embedded worker started (%s threads)", worker.concurrency)
        return thread
