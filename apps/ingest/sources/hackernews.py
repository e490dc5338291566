"""Hacker News through Algolia (httpx): one task per feed row (front_page, story, ask_hn, show_hn).

Each poll reads the feed's latest HN_STORIES stories (new ones become signals, moved scores become
refreshes), then, in one query, the comments on those stories newer than the feed's high-water
mark (`created_at_i`, persisted in ingest_cursors so a restart neither re-reads nor skips).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from django.conf import settings

from apps.ingest import metrics
from apps.ingest.normalisers import base
from apps.ingest.normalisers.base import NormaliseError
from apps.ingest.normalisers.hackernews import hackernews_normalise
from apps.ingest.ratelimit import TokenBucket
from apps.ingest.selectors import SourceSpec, cursor_get
from apps.ingest.services import Publisher, cursor_set
from signalflow.signal import Signal

from .base import RateLimited, Source, retry_after_seconds

MAX_STORIES_PER_QUERY = 100  # Algolia's OR-group of story tags stays well under its filter limits


def hackernews_client_create() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=settings.HN_ALGOLIA_URL.rstrip("/") + "/",
        timeout=settings.HN_TIMEOUT_SECONDS,
        headers={"User-Agent": "signalflow-ingest/1.0"},
        follow_redirects=True,
    )


class HackerNewsSource(Source):
    platform = "hackernews"

    def __init__(
        self,
        *,
        spec: SourceSpec,
        publisher: Publisher,
        client: httpx.AsyncClient,
        bucket: TokenBucket,
        initial_delay: float = 0.0,
    ) -> None:
        super().__init__(spec=spec, publisher=publisher, initial_delay=initial_delay)
        self.client = client
        self.bucket = bucket

    @property
    def cursor_key(self) -> str:
        return f"hackernews:{self.name}:comments_after"

    async def get(self, endpoint: str, params: dict[str, Any]) -> Any:
        await self.bucket.acquire()
        response = await self.client.get(endpoint, params=params)
        if response.status_code == 429:
            wait = retry_after_seconds(response.headers)
            self.bucket.pause(wait)
            metrics.UPSTREAM_ERRORS.labels(self.platform, "rate_limited").inc()
            raise RateLimited(wait)
        response.raise_for_status()
        if len(response.content) > base.MAX_PAYLOAD_BYTES:
            raise NormaliseError(f"hackernews {endpoint}: response of {len(response.content)} bytes is over the limit")
        try:
            return response.json()
        except ValueError as exc:  # truncated JSON, invalid UTF-8
            raise NormaliseError(f"hackernews {endpoint}: response is not valid JSON: {str(exc)[:200]}") from None

    async def poll(self) -> None:
        tags = str(self.spec.option("tags", self.name))
        hits = int(self.spec.option("hits", settings.HN_STORIES))
        # front_page is ranked, not chronological: only /search serves it
        endpoint = "search" if tags == "front_page" else "search_by_date"
        data = await self.get(endpoint, {"tags": tags, "hitsPerPage": min(max(hits, 1), 1000)})
        stories = [s for s in hackernews_normalise(data, self.item_errors()) if not s.is_comment]
        await self.publish(stories)
        await self._comments(stories)

    async def _comments(self, stories: list[Signal]) -> None:
        if not stories:
            return
        after = int(await asyncio.to_thread(cursor_get, key=self.cursor_key) or 0)
        newest = after
        story_tags = ",".join(f"story_{s.source_id}" for s in stories[:MAX_STORIES_PER_QUERY])
        for page in range(max(1, settings.HN_COMMENT_PAGES)):
            data = await self.get(
                "search_by_date",
                {
                    "tags": f"comment,({story_tags})",
                    "numericFilters": f"created_at_i>{max(0, after - settings.HN_COMMENT_OVERLAP_SECONDS)}",
                    "hitsPerPage": 1000,
                    "page": page,
                },
            )
            comments = hackernews_normalise(data, self.item_errors())
            await self.publish(comments)
            for comment in comments:
                newest = max(newest, int(comment.published_at.timestamp()))
            if not isinstance(data, dict) or page + 1 >= int(data.get("nbPages") or 0):
                break
        if newest > after:
            await asyncio.to_thread(cursor_set, key=self.cursor_key, value=str(newest))
