"""Periodic duties a worker loop runs besides its jobs, connected at start-up.

The schedule ticker (``automate.triggers.schedules.fire_due_schedules``) is the one the
engine connects (``AutomateConfig.ready``). Triggers start runs, so they import execution;
execution reaches them only through this list, never by importing them.
"""

from __future__ import annotations

from collections.abc import Callable

Duty = Callable[[], object]

_duties: list[Duty] = []


def connect(duty: Duty) -> None:
    """Have every worker call ``duty()`` every few seconds (once, however often connected)."""
    if duty not in _duties:
        _duties.append(duty)


def disconnect(duty: Duty) -> None:
    """Stop calling ``duty`` (no error if it was not connected)."""
    if duty in _duties:
        _duties.remove(duty)


def connected() -> tuple[Duty, ...]:
    """The duties to run on this turn of a worker loop, in the order they were connected."""
    return tuple(_duties)
