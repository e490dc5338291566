"""The ingest supervisor: one asyncio task per active source_config row, reconciled with the table
every INGEST_CONFIG_RELOAD_SECONDS (hot reload: added rows start, changed rows restart, deactivated or
deleted rows stop). A source that crashes is logged, counted and restarted with backoff; it never
takes the others down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from django.conf import settings
from django.db import close_old_connections

from . import metrics
from .ratelimit import TokenBucket
from .selectors import SourceSpec, source_specs_active
from .services import Publisher
from .sources.base import Source, backoff_delay
from .sources.bluesky import BlueskyFirehoseSource
from .sources.hackernews import HackerNewsSource, hackernews_client_create
from .sources.reddit import RedditSource, reddit_client_create, reddit_credentials_missing
from .sources.youtube import YouTubeQuota, YouTubeSource, youtube_client_create, youtube_credentials_missing

logger = logging.getLogger("apps.ingest")


def _specs(platform: str | None) -> list[SourceSpec]:
    close_old_connections()  # a long-lived thread must not hold a connection the server dropped
    return source_specs_active(platform=platform)


class Supervisor:
    def __init__(self, *, platform: str | None = None, publisher: Publisher | None = None) -> None:
        self.platform = platform
        self.publisher = publisher or Publisher()
        self.tasks: dict[str, tuple[SourceSpec, asyncio.Task[None]]] = {}
        self.sources: dict[str, Source] = {}
        self.disabled: dict[str, str] = {}
        self.clients: dict[str, Any] = {}
        self.buckets = {
            "reddit": TokenBucket(platform="reddit", rate=settings.REDDIT_RATE_PER_SECOND, burst=settings.REDDIT_BURST),
            "hackernews": TokenBucket(platform="hackernews", rate=settings.HN_RATE_PER_SECOND, burst=settings.HN_BURST),
            "youtube": TokenBucket(
                platform="youtube", rate=settings.YOUTUBE_RATE_PER_SECOND, burst=settings.YOUTUBE_BURST
            ),
            "bluesky": TokenBucket(
                platform="bluesky", rate=settings.BLUESKY_RATE_PER_SECOND, burst=settings.BLUESKY_BURST
            ),
        }
        self.youtube_quota = YouTubeQuota(daily_limit=settings.YOUTUBE_DAILY_QUOTA)
        self.youtube_lock = asyncio.Lock()
        self.reloads = 0

    def _disabled_reason(self, platform: str) -> str | None:
        if platform == "reddit":
            return reddit_credentials_missing()
        if platform == "youtube":
            return youtube_credentials_missing()
        return None  # Hacker News and the Bluesky firehose need no credentials

    def _client(self, platform: str) -> Any:
        if platform not in self.clients:
            factory = {
                "reddit": reddit_client_create,
                "hackernews": hackernews_client_create,
                "youtube": youtube_client_create,
            }
            self.clients[platform] = factory[platform]() if platform in factory else None
        return self.clients[platform]

    def _source(self, spec: SourceSpec, initial_delay: float) -> Source | None:
        reason = self._disabled_reason(spec.platform)
        if reason:
            if spec.platform not in self.disabled:
                logger.warning("%s: source disabled: %s", spec.platform, reason)
                self.disabled[spec.platform] = reason
            return None
        common = {"spec": spec, "publisher": self.publisher, "initial_delay": initial_delay}
        bucket = self.buckets[spec.platform]
        if spec.platform == "reddit":
            return RedditSource(reddit=self._client("reddit"), bucket=bucket, **common)
        if spec.platform == "hackernews":
            return HackerNewsSource(client=self._client("hackernews"), bucket=bucket, **common)
        if spec.platform == "youtube":
            return YouTubeSource(
                client=self._client("youtube"),
                bucket=bucket,
                quota=self.youtube_quota,
                lock=self.youtube_lock,
                **common,
            )
        if spec.platform == "bluesky":
            return BlueskyFirehoseSource(bucket=bucket, **common)
        return None

    async def _guard(self, source: Source) -> None:
        """Run a source forever: a crash is reported and the source restarted after a backoff."""
        failures = 0
        metrics.SOURCES_RUNNING.labels(source.platform).inc()
        try:
            while True:
                try:
                    await source.run()
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    failures += 1
                    delay = backoff_delay(failures)
                    metrics.UPSTREAM_ERRORS.labels(source.platform, "crash").inc()
                    logger.error(
                        "%s %s: source crashed (%s: %s); restarting in %.1f s",
                        source.platform,
                        source.name,
                        type(exc).__name__,
                        str(exc)[:300],
                        delay,
                    )
                    source.initial_delay = 0
                    await asyncio.sleep(delay)
        finally:
            metrics.SOURCES_RUNNING.labels(source.platform).dec()

    async def reconcile(self) -> None:
        """Make the running tasks match the active source_config rows."""
        specs = {spec.key: spec for spec in await asyncio.to_thread(_specs, self.platform)}
        for key in list(self.tasks):
            spec, task = self.tasks[key]
            if specs.get(key) != spec or task.done():
                if key in specs and not task.done():
                    logger.info("%s: configuration changed, restarting", key)
                elif key not in specs:
                    logger.info("%s: deactivated or removed, stopping", key)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                del self.tasks[key]
                self.sources.pop(key, None)
        starting = [spec for key, spec in specs.items() if key not in self.tasks]
        first_load = self.reloads == 0
        for index, spec in enumerate(starting):
            # spread the first polls of many sources (188 subreddits) over a window instead of one burst
            delay = (
                settings.INGEST_STARTUP_SPREAD_SECONDS * index / len(starting)
                if first_load and len(starting) > 1
                else 0.0
            )
            source = self._source(spec, delay)
            if source is None:
                continue
            self.sources[spec.key] = source
            self.tasks[spec.key] = (spec, asyncio.create_task(self._guard(source), name=spec.key))
            if not first_load:
                logger.info("%s: added, starting", spec.key)
        self.reloads += 1

    async def run(self, stop: asyncio.Event) -> None:
        logger.info("ingest: supervisor starting (platform %s)", self.platform or "all")
        try:
            while not stop.is_set():
                try:
                    await self.reconcile()
                except Exception as exc:
                    logger.error("ingest: reading source_config failed: %s", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=settings.INGEST_CONFIG_RELOAD_SECONDS)
        finally:
            await self.shutdown()

    async def shutdown(self) -> None:
        for _, task in self.tasks.values():
            task.cancel()
        for _, task in list(self.tasks.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tasks.clear()
        for platform, client in self.clients.items():
            closer = getattr(client, "aclose", None) or getattr(client, "close", None)
            if closer is None:
                continue
            with contextlib.suppress(Exception):
                result = closer()
                if asyncio.iscoroutine(result):
                    await result
            logger.debug("ingest: closed %s client", platform)
        await asyncio.to_thread(self.publisher.producer.flush)
