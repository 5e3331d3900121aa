"""Retry delays: exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter").

Full jitter spreads retries from many events (and several deliverers) evenly instead of in waves, which
matters when a receiver comes back after an outage with a backlog waiting.
"""

from __future__ import annotations

import random
from typing import Callable

# 2**62 is already far past any cap; bounding the exponent keeps huge attempt counts from overflowing.
_MAX_EXPONENT = 62


def next_delay(
    attempt: int, *, base: float = 1.0, cap: float = 300.0, rng: Callable[[], float] = random.random
) -> float:
    """Seconds to wait before retrying after failed attempt number `attempt` (1 = the first attempt).

    Uniform in [0, min(cap, base * 2**(attempt - 1))). Attempts below 1 are treated as 1.
    """
    if base < 0 or cap < 0:
        raise ValueError("base and cap must not be negative")
    exponent = min(max(int(attempt), 1) - 1, _MAX_EXPONENT)
    ceiling = min(cap, base * (2**exponent))
    return ceiling * rng()
