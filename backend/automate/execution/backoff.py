"""Retry timing: exponential backoff with full jitter and a cap (pure maths)."""

from __future__ import annotations

import random
from collections.abc import Callable


def backoff_ceiling(attempt: int, *, base: float, cap: float) -> float:
    """The largest delay before retry number ``attempt`` (1 for the first retry)."""
    if attempt < 1:
        return 0.0
    # Cap the exponent too: 2 ** 10_000 is a float overflow.
    return float(min(cap, base * (2.0 ** min(attempt - 1, 62))))


def backoff_delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    rng: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry ``attempt``: uniform in [0, ceiling] ("full jitter").

    Full jitter spreads retries of many failed jobs over the whole window, so a recovering
    service is not hit by a synchronised wave (see the AWS architecture blog on backoff).
    """
    return rng() * backoff_ceiling(attempt, base=base, cap=cap)
