"""Bluesky firehose (atproto's reconnecting websocket client): push, no polling.

Frames are decoded by our own normaliser (DAG-CBOR + CAR). Every BLUESKY_CURSOR_SAVE_SECONDS (or
BLUESKY_BATCH_SIZE signals) the pending signals are produced and flushed, *then* the last seq is
saved in ingest_cursors; a reconnect or restart subscribes with `cursor=<seq>`, and frames at or below
it are dropped, so the stream resumes with no gap and no duplicate. A socket silent for
BLUESKY_RECV_TIMEOUT_SECONDS is treated as dead (watchdog) and redialled with exponential backoff.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from atproto_firehose import AsyncFirehoseSubscribeReposClient
from django.conf import settings

from apps.ingest import metrics
from apps.ingest.normalisers.base import NormaliseError
from apps.ingest.normalisers.bluesky import bluesky_frame_decode
from apps.ingest.ratelimit import TokenBucket
from apps.ingest.selectors import SourceSpec, cursor_get
from apps.ingest.services import Publisher, cursor_set
from signalflow.signal import Signal

from .base import Source

logger = logging.getLogger("apps.ingest")
CURSOR_KEY = "bluesky:firehose:seq"


class _FirehoseClient(AsyncFirehoseSubscribeReposClient):
    """atproto's client, handing us raw frames and resuming from our cursor on every (re)connect."""

    def __init__(self, *, owner: BlueskyFirehoseSource, base_uri: str, recv_timeout: float) -> None:
        super().__init__(base_uri=base_uri, recv_timeout=recv_timeout)
        self.owner = owner

    async def _before_connect(self) -> None:
        await self.owner.flush()
        cursor = self.owner.cursor
        self.update_params({"cursor": cursor} if cursor is not None else {})
        self.owner.connects += 1
        logger.info("bluesky: connecting to %s (cursor %s)", self._base_uri, cursor)

    def _decode_frame(self, raw_frame: str | bytes) -> Any:
        return raw_frame if isinstance(raw_frame, bytes) else None

    def _handle_websocket_error_or_stop(self, exception: Exception) -> bool:
        stop = super()._handle_websocket_error_or_stop(exception)
        if not stop:
            kind = "timeout" if isinstance(exception, TimeoutError) else "connection"
            metrics.UPSTREAM_ERRORS.labels("bluesky", kind).inc()
            logger.warning(
                "bluesky: firehose connection lost (%s: %s); reconnecting with backoff",
                type(exception).__name__,
                str(exception)[:200] or "silent socket",
            )
        return stop


class BlueskyFirehoseSource(Source):
    platform = "bluesky"

    def __init__(
        self, *, spec: SourceSpec, publisher: Publisher, bucket: TokenBucket, initial_delay: float = 0.0
    ) -> None:
        super().__init__(spec=spec, publisher=publisher, initial_delay=initial_delay)
        self.bucket = bucket
        self.cursor: int | None = None
        self.pending: list[Signal] = []
        self.pending_seq: int | None = None
        self.last_flush = time.monotonic()
        self.connects = 0
        self.frames = 0
        self.lock = asyncio.Lock()
        self.client: _FirehoseClient | None = None

    @property
    def url(self) -> str:
        return str(self.spec.option("url", "") or settings.BLUESKY_FIREHOSE_URL)

    async def run(self) -> None:
        if self.initial_delay > 0:
            await asyncio.sleep(self.initial_delay)
        stored = await asyncio.to_thread(cursor_get, key=CURSOR_KEY)
        self.cursor = int(stored) if stored and stored.isdigit() else None
        self.client = _FirehoseClient(owner=self, base_uri=self.url, recv_timeout=settings.BLUESKY_RECV_TIMEOUT_SECONDS)
        flusher = asyncio.create_task(self._flush_periodically())
        try:
            await self.client.start(self.on_frame, self.on_callback_error)
        finally:
            flusher.cancel()
            await self.client.stop()
            await self.flush()

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(settings.BLUESKY_CURSOR_SAVE_SECONDS)
            try:
                await self.flush()
            except Exception as exc:
                metrics.UPSTREAM_ERRORS.labels(self.platform, "produce").inc()
                logger.warning("bluesky: flush failed (%s), will retry", exc)

    async def on_callback_error(self, exc: BaseException) -> None:
        metrics.UPSTREAM_ERRORS.labels(self.platform, "crash").inc()
        logger.error("bluesky: frame handler failed: %s: %s", type(exc).__name__, exc)

    async def on_frame(self, raw: bytes) -> None:
        self.frames += 1
        try:
            frame = bluesky_frame_decode(raw, self.item_errors())
        except NormaliseError as exc:
            metrics.MALFORMED_ITEMS.labels(self.platform).inc()
            logger.warning("bluesky: skipped malformed frame: %s", exc)
            return
        if frame.seq is None:
            return
        high = self.pending_seq if self.pending_seq is not None else self.cursor
        if high is not None and frame.seq <= high:
            return  # already produced before a reconnect: the relay replays from the cursor
        if frame.time is not None:
            metrics.FIREHOSE_LAG.set(max(0.0, (datetime.now(UTC) - frame.time).total_seconds()))
        if frame.signals:
            await self.bucket.acquire(len(frame.signals))
        async with self.lock:
            self.pending.extend(frame.signals)
            self.pending_seq = frame.seq
        if len(self.pending) >= settings.BLUESKY_BATCH_SIZE or (
            time.monotonic() - self.last_flush >= settings.BLUESKY_CURSOR_SAVE_SECONDS
        ):
            await self.flush()

    async def flush(self) -> None:
        """Produce what is pending, then move the persisted cursor to the last seq it covers."""
        async with self.lock:
            if self.pending_seq is None:
                return
            signals, seq = self.pending, self.pending_seq
            await self.publish(signals, seen_ttl=settings.BLUESKY_SEEN_TTL_SECONDS)
            await asyncio.to_thread(cursor_set, key=CURSOR_KEY, value=str(seq))
            self.pending, self.pending_seq = [], None
            self.cursor = seq
            self.last_flush = time.monotonic()
            metrics.FIREHOSE_SEQ.set(seq)
            metrics.LAST_SUCCESS.labels(self.platform, self.name).set(time.time())
