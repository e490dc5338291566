"""What every live source shares: the poll loop with its watchdog, backoff on failure, error accounting."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

from django.conf import settings

from apps.ingest import metrics
from apps.ingest.normalisers.base import ItemErrors
from apps.ingest.selectors import SourceSpec
from apps.ingest.services import Publisher, PublishResult
from signalflow.signal import Signal

logger = logging.getLogger("apps.ingest")


class RateLimited(Exception):
    """The upstream said 429; the platform's bucket is already paused for `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited, retry after {retry_after:.1f} s")
        self.retry_after = retry_after


def backoff_delay(failures: int, *, base: float = 1.0, cap: float | None = None) -> float:
    """Exponential backoff with full jitter (so many failing sources do not retry in lockstep)."""
    cap = cap if cap is not None else settings.INGEST_BACKOFF_MAX_SECONDS
    return random.uniform(0.5, 1.0) * min(cap, base * 2 ** min(failures, 20))


class Source:
    """One watched source. `run` loops until cancelled; a failing poll is logged, counted, backed off."""

    platform: str = ""

    def __init__(self, *, spec: SourceSpec, publisher: Publisher, initial_delay: float = 0.0) -> None:
        self.spec = spec
        self.publisher = publisher
        self.initial_delay = initial_delay
        self.polls = 0
        self.failures = 0

    @property
    def name(self) -> str:
        return self.spec.identifier

    @property
    def interval(self) -> float:
        return float(max(1, self.spec.poll_interval_seconds))

    @property
    def poll_timeout(self) -> float:
        # watchdog: a poll that hangs (half-open socket, stuck DNS) is abandoned and retried; generous,
        # because a poll may legitimately queue behind its platform's token bucket
        return max(600.0, self.interval * 4)

    def item_errors(self) -> ItemErrors:
        def record(message: str) -> None:
            metrics.MALFORMED_ITEMS.labels(self.platform).inc()
            logger.warning("%s %s: skipped malformed item: %s", self.platform, self.name, message)

        return ItemErrors(strict=False, on_error=record)

    async def publish(self, signals: list[Signal], **kwargs: Any) -> PublishResult:
        return await asyncio.to_thread(self.publisher.signals_publish, signals, **kwargs)

    async def poll(self) -> None:
        raise NotImplementedError

    async def run(self) -> None:
        if self.initial_delay > 0:
            await asyncio.sleep(self.initial_delay)
        while True:
            started = time.monotonic()
            try:
                await asyncio.wait_for(self.poll(), timeout=self.poll_timeout)
            except asyncio.CancelledError:
                raise
            except RateLimited as exc:
                self.failures += 1
                logger.warning("%s %s: %s", self.platform, self.name, exc)
                await asyncio.sleep(exc.retry_after)
                continue
            except Exception as exc:
                self.failures += 1
                kind = "timeout" if isinstance(exc, TimeoutError) else error_kind(exc)
                metrics.UPSTREAM_ERRORS.labels(self.platform, kind).inc()
                if kind == "decode":  # a malformed payload: skipped, the source carries on
                    metrics.MALFORMED_ITEMS.labels(self.platform).inc()
                delay = backoff_delay(self.failures)
                logger.warning(
                    "%s %s: poll failed (%s: %s); retrying in %.1f s",
                    self.platform,
                    self.name,
                    type(exc).__name__,
                    str(exc)[:300],
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            self.failures = 0
            self.polls += 1
            metrics.LAST_SUCCESS.labels(self.platform, self.name).set(time.time())
            await asyncio.sleep(max(0.0, self.interval - (time.monotonic() - started)))


def error_kind(exc: BaseException) -> str:
    name = type(exc).__name__.lower()
    if "json" in name or "decode" in name or "normalise" in name or isinstance(exc, UnicodeError):
        return "decode"
    if "connect" in name or "connection" in name or isinstance(exc, OSError):
        return "connection"
    return "http"


def retry_after_seconds(headers: Any, default: float = 60.0) -> float:
    """Seconds to wait from Retry-After or Reddit's x-ratelimit-reset, bounded to [1, 900]."""
    for name in ("retry-after", "x-ratelimit-reset"):
        value = headers.get(name) if headers is not None else None
        if value is None:
            continue
        try:
            return max(1.0, min(900.0, float(value)))
        except ValueError:
            continue
    return default
