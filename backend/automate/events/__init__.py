"""Events: immutable records of things that happened. Write them with ``automate.runtime``."""

from automate.events.exceptions import InvalidEventError

__all__ = ["InvalidEventError"]
