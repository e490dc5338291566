"""A per-platform token bucket that makes callers wait instead of dropping work.

Upstream Retry-After / rate-limit-reset answers pause the whole bucket, so every task of that
platform (all subreddits share one client id and one quota) backs off together.
"""

from __future__ import annotations

import asyncio
import time

from . import metrics


class TokenBucket:
    def __init__(self, *, platform: str, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("token bucket needs rate > 0 and burst ≥ 1")
        self.platform = platform
        self.rate = rate
        self.burst = float(burst)
        self._tokens = float(burst)
        self._updated = time.monotonic()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    async def acquire(self, cost: float = 1.0) -> float:
        """Wait until `cost` tokens are available, take them; returns the seconds waited."""
        waited = 0.0
        cost = min(cost, self.burst)  # a request bigger than the bucket would otherwise wait forever
        async with self._lock:  # FIFO-ish: one waiter at a time, so a burst queues instead of stampeding
            while True:
                now = time.monotonic()
                self._refill(now)
                pause = self._paused_until - now
                if pause <= 0 and self._tokens >= cost:
                    self._tokens -= cost
                    break
                delay = max(pause, (cost - self._tokens) / self.rate, 0.001)
                waited += delay
                await asyncio.sleep(delay)
        if waited > 0:
            metrics.RATE_LIMIT_WAITS.labels(self.platform).inc()
            metrics.RATE_LIMIT_WAIT_SECONDS.labels(self.platform).inc(waited)
        return waited

    def pause(self, seconds: float) -> None:
        """Take no request for `seconds` (a 429's Retry-After or the window reset), and start empty."""
        until = time.monotonic() + max(0.0, seconds)
        if until > self._paused_until:
            self._paused_until = until
        self._tokens = 0.0
