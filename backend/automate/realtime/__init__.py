"""Live run state for the studio: the engine's signals become Channels group messages.

``connect()`` hooks the publisher to the engine's signals; ``publish_run`` sends a run's
current state on demand (after a change that has no signal). Importing this package does
not import models, so ``connect`` can be called from ``AppConfig.ready()``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["connect", "disconnect", "publish_run"]


def connect() -> None:
    """Start publishing run state changes (idempotent)."""
    from automate.realtime.publisher import connect as _connect

    _connect()


def disconnect() -> None:
    """Stop publishing run state changes."""
    from automate.realtime.publisher import disconnect as _disconnect

    _disconnect()


def publish_run(run_id: Any, *, reason: str) -> None:
    """Send the run's current state to its watchers; logs failures, never raises."""
    from automate.realtime.publisher import publish_run as _publish

    _publish(run_id, reason=reason)
