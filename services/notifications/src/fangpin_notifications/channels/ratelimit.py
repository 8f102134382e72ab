"""A token bucket per channel: at most `rate_per_minute` sends, bursts of `burst`."""

from __future__ import annotations

import time


class TokenBucket:
    def __init__(self, rate_per_minute: float, burst: int, now=time.monotonic) -> None:
        self.rate = rate_per_minute / 60.0
        self.capacity = float(burst)
        self.tokens = float(burst)
        self._now = now
        self._at = now()

    def _refill(self) -> None:
        at = self._now()
        self.tokens = min(self.capacity, self.tokens + (at - self._at) * self.rate)
        self._at = at

    def available(self) -> int:
        self._refill()
        return int(self.tokens)

    def take(self, n: int = 1) -> None:
        self._refill()
        self.tokens -= n

    def wait_seconds(self) -> float:
        """How long until one token is there."""
        self._refill()
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate
