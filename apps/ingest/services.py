"""Writes of apps/ingest: producing to the bus (new signals, refreshes, raw payloads) with de-duplication,
and persisting resume points.

Order matters for the guarantees: a batch is sent and flushed (acks=all) *before* its ids are marked
seen and before a cursor moves, so a crash can only cause a re-send (which the consumers' upserts
absorb), never a gap.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
from django.conf import settings
from kafka import KafkaProducer

from signalflow.kafka import REDDIT_POSTS_RAW, REDDIT_POSTS_REFRESH, producer_create, signal_produce, topic_name
from signalflow.signal import Refresh, Signal

from . import metrics
from .models import IngestCursor, SourceConfig
from .seed import source_config_seed_rows

logger = logging.getLogger(__name__)


def cursor_set(*, key: str, value: str) -> None:
    IngestCursor.objects.update_or_create(key=key, defaults={"value": value})


def source_config_seed() -> int:
    """Insert the default watch list where rows are missing; existing rows, edited or not, are kept.
    Returns how many rows were added."""
    return source_config_seed_rows(model=SourceConfig)


class NoSeenStore:
    """Dedupe switched off (replay, load tests): every signal is produced as new."""

    def lookup(self, ids: list[str]) -> list[str | None]:
        return [None] * len(ids)

    def mark(self, counts: dict[str, str], *, ttl: int | None = None) -> None:
        return None


class SeenStore:
    """Ids already produced, with the counts they were produced with (Redis, one key per id, TTL)."""

    def __init__(
        self, *, client: redis.Redis | None = None, ttl_seconds: int | None = None, namespace: str = ""
    ) -> None:
        self.client = client or redis.Redis.from_url(settings.INGEST_REDIS_URL)
        self.ttl = ttl_seconds or settings.INGEST_SEEN_TTL_SECONDS
        # the topic prefix namespaces test runs and tenants exactly as it does topics
        self.prefix = f"{settings.KAFKA_TOPIC_PREFIX}{namespace}ingest:seen:"

    def lookup(self, ids: list[str]) -> list[str | None]:
        if not ids:
            return []
        values = self.client.mget([self.prefix + i for i in ids])
        return [v.decode() if v is not None else None for v in values]

    def mark(self, counts: dict[str, str], *, ttl: int | None = None) -> None:
        if not counts:
            return
        pipe = self.client.pipeline(transaction=False)
        for signal_id, value in counts.items():
            pipe.set(self.prefix + signal_id, value, ex=ttl or self.ttl)
        pipe.execute()


def _counts(signal: Signal) -> str:
    return f"{signal.raw_score}:{signal.comment_count}"


@dataclass
class PublishResult:
    new: int = 0
    refreshed: int = 0
    duplicates: int = 0
    new_ids: list[str] = field(default_factory=list)


class Publisher:
    """The one way sources and replay put data on the bus."""

    def __init__(self, *, producer: KafkaProducer | None = None, seen: SeenStore | NoSeenStore | None = None) -> None:
        self.producer = producer or producer_create()
        self.seen = seen if seen is not None else SeenStore()

    def signals_publish(
        self,
        signals: Iterable[Signal],
        *,
        refresh: bool = True,
        seen_ttl: int | None = None,
    ) -> PublishResult:
        """New signals are produced once; known ones with changed counts become Refresh messages.

        Blocking (kafka-python): sources call it through asyncio.to_thread.
        """
        result = PublishResult()
        unique: dict[str, Signal] = {}
        for signal in signals:
            unique[signal.id] = signal  # the last copy in a batch wins (freshest counts)
        ids = list(unique)
        previous = self.seen.lookup(ids)
        marks: dict[str, str] = {}
        observed = datetime.now(UTC)
        futures = []
        for signal_id, before in zip(ids, previous, strict=True):
            signal = unique[signal_id]
            now = _counts(signal)
            if before is None:
                futures.append(signal_produce(self.producer, signal))
                result.new += 1
                result.new_ids.append(signal_id)
                marks[signal_id] = now
            elif before != now and refresh:
                message = Refresh(
                    id=signal_id, raw_score=signal.raw_score, comment_count=signal.comment_count, observed_at=observed
                )
                futures.append(
                    self.producer.send(
                        topic_name(REDDIT_POSTS_REFRESH), key=signal_id.encode(), value=message.to_bytes()
                    )
                )
                result.refreshed += 1
                marks[signal_id] = now
            else:
                result.duplicates += 1
        self.producer.flush()
        for future in futures:
            future.get(timeout=30)  # raises if the broker refused: the ids stay unmarked and are retried
        self.seen.mark(marks, ttl=seen_ttl)
        self._count(unique, result)
        return result

    @staticmethod
    def _count(unique: dict[str, Signal], result: PublishResult) -> None:
        new = Counter(signal_id.split(":", 1)[0] for signal_id in result.new_ids)
        for platform, produced in new.items():
            metrics.SIGNALS_PRODUCED.labels(platform).inc(produced)
        if unique and (result.refreshed or result.duplicates):
            platform = next(iter(unique.values())).platform.value
            metrics.REFRESHES_PRODUCED.labels(platform).inc(result.refreshed)
            metrics.DUPLICATES_SKIPPED.labels(platform).inc(result.duplicates)

    def raw_publish(self, items: list[tuple[str, dict[str, Any]]], *, platform: str = "reddit") -> int:
        """Raw upstream payloads (Reddit posts) to reddit.posts.raw, keyed by signal id."""
        if not items:
            return 0
        futures = [
            self.producer.send(
                topic_name(REDDIT_POSTS_RAW), key=key.encode(), value=json.dumps(payload, ensure_ascii=False).encode()
            )
            for key, payload in items
        ]
        self.producer.flush()
        for future in futures:
            future.get(timeout=30)
        metrics.RAW_PRODUCED.labels(platform).inc(len(items))
        return len(items)

    def refreshes_publish(self, refreshes: list[Refresh]) -> int:
        """Explicit refreshes (Reddit's periodic re-read of recent posts); also updates the seen counts."""
        if not refreshes:
            return 0
        futures = [
            self.producer.send(topic_name(REDDIT_POSTS_REFRESH), key=r.id.encode(), value=r.to_bytes())
            for r in refreshes
        ]
        self.producer.flush()
        for future in futures:
            future.get(timeout=30)
        self.seen.mark({r.id: f"{r.raw_score}:{r.comment_count}" for r in refreshes})
        metrics.REFRESHES_PRODUCED.labels(refreshes[0].id.split(":", 1)[0]).inc(len(refreshes))
        return len(refreshes)

    def close(self) -> None:
        self.producer.flush()
        self.producer.close(timeout=5)
