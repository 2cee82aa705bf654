"""Who hears that an event's outbox job was written: listeners connected at start-up.

``record_event`` writes the event and its job in one transaction, then calls
``jobs_written()`` inside that transaction. The execution plane connects its waker here
(``AutomateConfig.ready``): ``NOTIFY`` on PostgreSQL, the inline drain in synchronous mode.
Events therefore never import the worker, and the worker can import what it likes (the
schedule ticker writes events) without an import circle.

Listeners run in the writing transaction, in the order they were connected; one that
raises rolls the write back, as the waker's own ``NOTIFY`` failing did before.
"""

from __future__ import annotations

from collections.abc import Callable

JobsWrittenListener = Callable[[], None]

_listeners: list[JobsWrittenListener] = []


def connect_jobs_written(listener: JobsWrittenListener) -> None:
    """Call ``listener()`` whenever an event's job is written (once, however often connected)."""
    if listener not in _listeners:
        _listeners.append(listener)


def disconnect_jobs_written(listener: JobsWrittenListener) -> None:
    """Stop calling ``listener`` (no error if it was not connected)."""
    if listener in _listeners:
        _listeners.remove(listener)


def jobs_written() -> None:
    """Tell every listener that jobs were written in the current transaction."""
    for listener in tuple(_listeners):
        listener()
