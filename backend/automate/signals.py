"""Django signals sent by the engine, each once, after the transaction that caused it commits.

Receivers get ``sender`` (the model class) and keyword arguments:

- ``event_received``: ``event``
- ``workflow_started`` / ``workflow_completed``: ``execution`` (the ExecutionRun)
- ``workflow_failed``: ``execution``, ``error``
- ``step_started`` / ``step_completed``: ``step`` (the StepRun), ``execution``
- ``step_failed``: ``step``, ``execution``, ``error``, ``will_retry``
- ``workflow_cancelled``: ``execution`` (someone cancelled it)
- ``workflow_resumed``: ``execution`` (a failed run is running again: retry, resume, replay)
"""

import logging
from typing import Any

from django.dispatch import Signal

logger = logging.getLogger("automate.signals")

event_received = Signal()
workflow_started = Signal()
workflow_completed = Signal()
workflow_failed = Signal()
step_started = Signal()
step_completed = Signal()
step_failed = Signal()
workflow_cancelled = Signal()
workflow_resumed = Signal()


def send(signal: Signal, sender: Any, **kwargs: Any) -> None:
    """Send ``signal`` so that a receiver that raises cannot break the engine.

    Receivers are the host application's code; their errors are logged (with the receiver's
    name), never turned into a failed step or a lost state change.
    """
    for receiver, result in signal.send_robust(sender=sender, **kwargs):
        if isinstance(result, BaseException):
            logger.error(
                "Receiver %r of an automate signal raised %s: %s",
                receiver,
                type(result).__name__,
                result,
                exc_info=result,
            )


__all__ = [
    "event_received",
    "send",
    "step_completed",
    "step_failed",
    "step_started",
    "workflow_cancelled",
    "workflow_completed",
    "workflow_failed",
    "workflow_resumed",
    "workflow_started",
]
