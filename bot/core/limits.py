"""Token buckets: how often one sender, address or account may ask, kept in memory.

Each key has a bucket holding up to `burst` tokens, refilled at `per_minute`; a request takes one or is
refused with the seconds until the next. Refusing costs a dictionary look-up and nothing else (no database,
no model), so one client flooding is turned away before it slows anyone else. The buckets live in one
process: with several bot processes a client gets each process's allowance, which is still a limit. At most
`max_keys` buckets are kept (the longest unused go first), so a flood of made-up ids cannot fill memory.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class TokenBuckets:
    def __init__(
        self,
        per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, when)

    def take(self, key: str) -> float:
        """0.0 when `key` may go ahead (a token is taken), else the seconds until it may."""
        now = self.clock()
        tokens, then = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait

    def allows(self, key: str) -> bool:
        return self.take(key) == 0.0
