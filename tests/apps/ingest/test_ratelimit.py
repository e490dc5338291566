"""The per-platform token bucket waits instead of dropping, and a pause holds every caller."""

from __future__ import annotations

import asyncio
import time

from apps.ingest.ratelimit import TokenBucket


def test_bucket_waits_for_tokens_and_drops_nothing():
    async def scenario() -> tuple[float, int]:
        bucket = TokenBucket(platform="hackernews", rate=20, burst=2)
        done = 0

        async def one() -> None:
            nonlocal done
            await bucket.acquire()
            done += 1

        started = time.monotonic()
        await asyncio.gather(*(one() for _ in range(8)))
        return time.monotonic() - started, done

    elapsed, done = asyncio.run(scenario())
    assert done == 8
    assert 0.27 <= elapsed < 2.0  # 2 from the burst, 6 more at 20/s = 0.3 s


def test_pause_holds_the_bucket_and_oversized_cost_still_passes():
    async def scenario() -> tuple[float, float]:
        bucket = TokenBucket(platform="reddit", rate=1000, burst=5)
        bucket.pause(0.3)
        started = time.monotonic()
        waited = await bucket.acquire()
        paused = time.monotonic() - started
        started = time.monotonic()
        await bucket.acquire(50)  # more than the burst: capped, not a deadlock
        return paused, waited + (time.monotonic() - started)

    paused, _ = asyncio.run(scenario())
    assert paused >= 0.28
