"""Reddit: one task per active subreddit (asyncpraw, application-only OAuth).

Each poll reads `/r/<sub>/new`; posts not produced before become signals (their raw JSON goes to
reddit.posts.raw), known posts whose score or comment count moved become refreshes. For each post
whose tree was not fetched yet, one `/comments/<id>` request returns the submission with its
comment tree, from which the top REDDIT_TOP_COMMENTS comments scoring at least
REDDIT_COMMENT_MIN_SCORE are produced. Every REDDIT_REFRESH_SECONDS the subreddit's recent posts
are re-read by id (`/api/info`) for refreshes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Any

import asyncpraw
from asyncprawcore import exceptions as prawcore_exceptions
from django.conf import settings

from apps.ingest import metrics
from apps.ingest.normalisers.reddit import reddit_normalise
from apps.ingest.ratelimit import TokenBucket
from apps.ingest.selectors import SourceSpec
from apps.ingest.services import Publisher
from signalflow.signal import Signal

from .base import RateLimited, Source, retry_after_seconds

logger = logging.getLogger("apps.ingest")
MAX_TRACKED_POSTS = 1_000


def reddit_credentials_missing() -> str | None:
    """Why Reddit is disabled, or None when credentials are set."""
    if not settings.REDDIT_CLIENT_ID or not settings.REDDIT_CLIENT_SECRET:
        return "REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET are not set"
    return None


def reddit_client_create() -> asyncpraw.Reddit:
    return asyncpraw.Reddit(
        client_id=settings.REDDIT_CLIENT_ID,
        client_secret=settings.REDDIT_CLIENT_SECRET,
        user_agent=settings.REDDIT_USER_AGENT,
        oauth_url=settings.REDDIT_OAUTH_URL,
        reddit_url=settings.REDDIT_URL,
        check_for_updates=False,
    )


class RedditSource(Source):
    platform = "reddit"

    def __init__(
        self,
        *,
        spec: SourceSpec,
        publisher: Publisher,
        reddit: asyncpraw.Reddit,
        bucket: TokenBucket,
        initial_delay: float = 0.0,
    ) -> None:
        super().__init__(spec=spec, publisher=publisher, initial_delay=initial_delay)
        self.reddit = reddit
        self.bucket = bucket
        self.recent: OrderedDict[str, float] = OrderedDict()  # post id → created_utc, for refreshes
        self.last_refresh = time.monotonic()

    async def get(self, path: str, params: dict[str, Any]) -> Any:
        await self.bucket.acquire()
        try:
            return await self.reddit.request(method="GET", path=path, params={**params, "raw_json": 1})
        except prawcore_exceptions.TooManyRequests as exc:
            wait = retry_after_seconds(exc.response.headers)
            self.bucket.pause(wait)
            metrics.UPSTREAM_ERRORS.labels(self.platform, "rate_limited").inc()
            raise RateLimited(wait) from None

    async def poll(self) -> None:
        listing = await self.get(f"/r/{self.name}/new", {"limit": settings.REDDIT_LISTING_LIMIT})
        posts = reddit_normalise(listing, self.item_errors())
        raw = _raw_posts(listing)
        result = await self.publish(posts)
        new_ids = set(result.new_ids)
        raw_new = [(f"reddit:{pid}", data) for pid, data in raw.items() if f"reddit:{pid}" in new_ids]
        await asyncio.to_thread(self.publisher.raw_publish, raw_new, platform=self.platform)
        for post in posts:
            self._track(post)
        # Comment trees are fetched once per post, marked only after their comments are produced: a
        # crash or a 429 part-way leaves the rest for the next poll instead of losing them.
        discussed = [p for p in posts if p.comment_count > 0]
        marks = await asyncio.to_thread(self.publisher.seen.lookup, [_comments_key(p) for p in discussed])
        pending = sorted(
            (p for p, mark in zip(discussed, marks, strict=True) if mark is None),
            key=lambda p: p.raw_score,
            reverse=True,
        )
        for post in pending[: settings.REDDIT_COMMENT_POSTS_PER_POLL]:
            await self._comments(post)
            await asyncio.to_thread(self.publisher.seen.mark, {_comments_key(post): "1"})
        if time.monotonic() - self.last_refresh >= settings.REDDIT_REFRESH_SECONDS:
            await self.refresh()
        logger.debug("reddit %s: %d posts, %d new, %d refreshed", self.name, len(posts), result.new, result.refreshed)

    async def _comments(self, post: Signal) -> None:
        tree = await self.get(f"/comments/{post.source_id}", {"sort": "top", "limit": settings.REDDIT_TOP_COMMENTS * 2})
        signals = reddit_normalise(tree, self.item_errors())
        comments = [s for s in signals if s.is_comment and s.raw_score >= settings.REDDIT_COMMENT_MIN_SCORE]
        comments.sort(key=lambda s: s.raw_score, reverse=True)
        posts = [s for s in signals if not s.is_comment]
        await self.publish(posts + comments[: settings.REDDIT_TOP_COMMENTS])

    def _track(self, post: Signal) -> None:
        self.recent[post.source_id] = post.published_at.timestamp()
        self.recent.move_to_end(post.source_id)
        horizon = time.time() - settings.REDDIT_REFRESH_WINDOW_HOURS * 3600
        while self.recent and (len(self.recent) > MAX_TRACKED_POSTS or next(iter(self.recent.values())) < horizon):
            self.recent.popitem(last=False)

    async def refresh(self) -> int:
        """Re-read recent posts by fullname, 100 per request; changed counts go out as refreshes."""
        self.last_refresh = time.monotonic()
        ids = list(self.recent)
        refreshed = 0
        for start in range(0, len(ids), 100):
            chunk = ",".join(f"t3_{pid}" for pid in ids[start : start + 100])
            listing = await self.get("/api/info", {"id": chunk})
            result = await self.publish(reddit_normalise(listing, self.item_errors()))
            refreshed += result.refreshed
        return refreshed


def _comments_key(post: Signal) -> str:
    return f"comments-fetched:{post.id}"


def _raw_posts(listing: Any) -> dict[str, dict[str, Any]]:
    raw: dict[str, dict[str, Any]] = {}
    children = listing.get("data", {}).get("children") if isinstance(listing, dict) else None
    for child in children if isinstance(children, list) else []:
        data = child.get("data") if isinstance(child, dict) else None
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            raw[data["id"]] = data
    return raw
