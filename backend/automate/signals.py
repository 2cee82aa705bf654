"""Django signals sent by the engine, each once, after the transaction that caused it commits.

Receivers get ``sender`` (the model class) and keyword arguments:

- ``event_received``: ``event``
- ``workflow_started`` / ``workflow_completed``: ``execution`` (the ExecutionRun)
- ``workflow_failed``: ``execution``, ``error``
- ``step_started`` / ``step_completed``: ``step`` (the StepRun), ``execution``
- ``step_failed``: ``step``, ``execution``, ``error``
"""

from django.dispatch import Signal

event_received = Signal()
workflow_started = Signal()
workflow_completed = Signal()
workflow_failed = Signal()
step_started = Signal()
step_completed = Signal()
step_failed = Signal()

__all__ = [
    "event_received",
    "step_completed",
    "step_failed",
    "step_started",
    "workflow_completed",
    "workflow_failed",
    "workflow_started",
]
