"""``WORKER_MODE = "synchronous"``: run jobs in the calling thread right after commit.

For development and tests: an event emitted in a view has run its workflow by the time the
view returns. Jobs scheduled for later (delays, retry backoff) wait for a later drain or a
real worker.
"""

from __future__ import annotations

import threading

from django.db import transaction

_state = threading.local()


def drain_after_commit() -> None:
    """Register an inline drain for when the current transaction commits.

    Not deduplicated per transaction (a rolled-back transaction drops its callbacks, and a
    flag would go stale): extra drains find nothing due and cost one query.
    """
    if getattr(_state, "draining", False):
        return  # the drain under way picks new jobs up itself
    transaction.on_commit(_drain)


def _drain() -> None:
    if getattr(_state, "draining", False):
        return
    _state.draining = True
    try:
        from automate.execution.worker import Worker

        Worker(worker_id=f"inline-{threading.get_ident()}", concurrency=1).run_until_idle()
    finally:
        _state.draining = False
