"""What Python 3.11 added to the standard library, for Python 3.10 (stdlib only, no Django).

``UTC`` is ``datetime.timezone.utc`` (3.11's ``datetime.UTC`` is the same object) and
``StrEnum`` is ``enum.StrEnum`` on 3.11+; on 3.10 it is an equivalent ``str`` enum whose
members print and format as their value (``f"{NodeType.ACTION}"`` is ``"action"``).
"""

from __future__ import annotations

import sys
from datetime import timezone

__all__ = ["UTC", "StrEnum"]

UTC = timezone.utc

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # pragma: no cover - Python 3.10 (the matrix-py310-django52 test tier)
    from enum import Enum

    class StrEnum(str, Enum):
        """``enum.StrEnum`` of Python 3.11: members are strings equal to their value."""

        __str__ = str.__str__
        __format__ = str.__format__

        @staticmethod
        def _generate_next_value_(name: str, start: int, count: int, last_values: list[str]) -> str:
            return name.lower()
