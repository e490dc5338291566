"""YouTube (google-api-python-client with its bundled static discovery document): one task per channel.

The @handle is resolved once (`channels.list forHandle`, cached in ingest_cursors with the uploads
playlist); each poll reads the latest uploads (`playlistItems.list`) and their comment threads
(`commentThreads.list`, replies included). Every call costs quota units; the daily spend is counted
(persisted per UTC day) and the source stops before YOUTUBE_DAILY_QUOTA, saying so.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import httplib2
from django.conf import settings
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from apps.ingest import metrics
from apps.ingest.normalisers.youtube import youtube_normalise, youtube_video_titles
from apps.ingest.ratelimit import TokenBucket
from apps.ingest.selectors import SourceSpec, cursor_get
from apps.ingest.services import Publisher, cursor_set

from .base import RateLimited, Source, retry_after_seconds

logger = logging.getLogger("apps.ingest")
UNITS_PER_LIST_CALL = 1


def youtube_credentials_missing() -> str | None:
    return None if settings.YOUTUBE_API_KEY else "YOUTUBE_API_KEY is not set"


def youtube_client_create() -> Any:
    return build(
        "youtube",
        "v3",
        developerKey=settings.YOUTUBE_API_KEY,
        http=httplib2.Http(timeout=settings.YOUTUBE_TIMEOUT_SECONDS),
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": settings.YOUTUBE_API_URL},
    )


class QuotaExhausted(Exception):
    pass


class YouTubeQuota:
    """Quota units spent today (UTC), shared by every channel task and persisted across restarts."""

    def __init__(self, *, daily_limit: int) -> None:
        self.daily_limit = daily_limit
        self.day = ""
        self.used = 0
        self.announced = False

    def _key(self, day: str) -> str:
        return f"youtube:quota:{day}"

    async def spend(self, units: int) -> None:
        day = datetime.now(UTC).date().isoformat()
        if day != self.day:
            self.day, self.announced = day, False
            self.used = int(await asyncio.to_thread(cursor_get, key=self._key(day)) or 0)
        if self.used + units > self.daily_limit:
            if not self.announced:
                logger.warning(
                    "youtube: daily quota reached (%d of %d units spent today); no more calls until 00:00 UTC",
                    self.used,
                    self.daily_limit,
                )
                self.announced = True
            raise QuotaExhausted(f"daily quota of {self.daily_limit} units reached")
        self.used += units
        metrics.YOUTUBE_QUOTA_USED.set(self.used)
        await asyncio.to_thread(cursor_set, key=self._key(day), value=str(self.used))


class YouTubeSource(Source):
    platform = "youtube"

    def __init__(
        self,
        *,
        spec: SourceSpec,
        publisher: Publisher,
        client: Any,
        bucket: TokenBucket,
        quota: YouTubeQuota,
        lock: asyncio.Lock,
        initial_delay: float = 0.0,
    ) -> None:
        super().__init__(spec=spec, publisher=publisher, initial_delay=initial_delay)
        self.client = client
        self.bucket = bucket
        self.quota = quota
        self.lock = lock  # httplib2 is not thread-safe: one request at a time through the shared client

    async def call(self, request: Any) -> Any:
        await self.quota.spend(UNITS_PER_LIST_CALL)
        await self.bucket.acquire()
        async with self.lock:
            try:
                return await asyncio.to_thread(request.execute, num_retries=0)
            except HttpError as exc:
                if exc.resp.status in (403, 429) and b"quotaExceeded" in (exc.content or b""):
                    self.quota.used = self.quota.daily_limit
                    raise QuotaExhausted("upstream says quotaExceeded") from None
                if exc.resp.status == 429:
                    wait = retry_after_seconds(exc.resp)
                    self.bucket.pause(wait)
                    metrics.UPSTREAM_ERRORS.labels(self.platform, "rate_limited").inc()
                    raise RateLimited(wait) from None
                raise

    async def channel(self) -> tuple[str, str]:
        """(channel id, uploads playlist id) for the @handle, resolved once and cached."""
        key = f"youtube:channel:{self.name}"
        cached = await asyncio.to_thread(cursor_get, key=key)
        if cached:
            channel_id, _, uploads = cached.partition(" ")
            return channel_id, uploads
        handle = self.name
        request = self.client.channels().list(part="id,contentDetails", forHandle=handle, maxResults=1)
        data = await self.call(request)
        items = data.get("items") if isinstance(data, dict) else None
        if not items:
            raise LookupError(f"youtube: no channel for handle {handle!r}")
        channel_id = items[0]["id"]
        uploads = items[0].get("contentDetails", {}).get("relatedPlaylists", {}).get("uploads") or ""
        await asyncio.to_thread(cursor_set, key=key, value=f"{channel_id} {uploads}")
        return channel_id, uploads

    async def poll(self) -> None:
        try:
            await self._poll()
        except QuotaExhausted as exc:
            logger.info("youtube %s: skipped this poll: %s", self.name, exc)

    async def _poll(self) -> None:
        channel_id, uploads = await self.channel()
        playlist = uploads or "UU" + channel_id.removeprefix("UC")
        items = await self.call(
            self.client.playlistItems().list(
                part="snippet", playlistId=playlist, maxResults=min(50, settings.YOUTUBE_VIDEOS_PER_CHANNEL)
            )
        )
        titles = youtube_video_titles(items)
        for video_id in list(titles)[: settings.YOUTUBE_VIDEOS_PER_CHANNEL]:
            try:
                threads = await self.call(
                    self.client.commentThreads().list(
                        part="snippet,replies",
                        videoId=video_id,
                        maxResults=min(100, settings.YOUTUBE_THREADS_PER_VIDEO),
                        order="time",
                        textFormat="plainText",
                    )
                )
            except HttpError as exc:
                if exc.resp.status == 403:  # comments disabled on this video: not a failure of the source
                    continue
                raise
            signals = youtube_normalise(threads, self.item_errors(), video_titles=titles, community=self.name)
            await self.publish(signals)
