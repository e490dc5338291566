"""Fixtures of the ingest tests: a tail of this run's topics, an isolated publisher, fake upstreams."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from django.conf import settings
from kafka import KafkaConsumer, TopicPartition

from apps.ingest.services import Publisher, SeenStore
from signalflow.kafka import SIGNALS_NORMALISED, topic_name
from tests.support.fakes.server import FakeServer
from tests.support.services import FIXTURES, redis_require


class BusTail:
    """Messages produced to a topic after this object was created (other tests' messages excluded)."""

    def __init__(self, topic: str = SIGNALS_NORMALISED) -> None:
        # Tansu reports a partition's end as the base offset of its last batch, so seeking to the end
        # can land a batch early: records are also filtered by their (producer) timestamp.
        self.since_ms = int(time.time() * 1000)
        self.consumer = KafkaConsumer(
            bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS.split(","), enable_auto_commit=False, group_id=None
        )
        name = topic_name(topic)
        partitions = self.consumer.partitions_for_topic(name) or {0}
        self.partitions = [TopicPartition(name, p) for p in sorted(partitions)]
        self.consumer.assign(self.partitions)
        self.consumer.seek_to_end(*self.partitions)
        for partition in self.partitions:
            self.consumer.position(partition)  # resolve now, before anything is produced
        self.records: list = []

    def read(self, *, want: int, timeout: float = 20.0, quiet: float = 0.5) -> list:
        """At least `want` records (or what came before the timeout), then anything arriving within `quiet`."""
        deadline = time.monotonic() + timeout
        while len(self.records) < want and time.monotonic() < deadline:
            for batch in self.consumer.poll(timeout_ms=200).values():
                self.records.extend(r for r in batch if r.timestamp >= self.since_ms)
        settle = time.monotonic() + quiet
        while time.monotonic() < settle:
            for batch in self.consumer.poll(timeout_ms=100).values():
                self.records.extend(r for r in batch if r.timestamp >= self.since_ms)
        return self.records

    def close(self) -> None:
        self.consumer.close()


@pytest.fixture
def bus_tail(kafka_topics: None) -> Iterator[type[BusTail]]:
    tails: list[BusTail] = []

    def make(topic: str = SIGNALS_NORMALISED) -> BusTail:
        tail = BusTail(topic)
        tails.append(tail)
        return tail

    yield make  # type: ignore[misc]
    for tail in tails:
        tail.close()


@pytest.fixture
def publisher(kafka_topics: None) -> Iterator[Publisher]:
    """A real producer with a seen-store namespace of its own, so tests never dedupe each other."""
    redis_require()
    seen = SeenStore(namespace=f"t{uuid.uuid4().hex[:8]}:")
    publisher = Publisher(seen=seen)
    yield publisher
    keys = list(seen.client.scan_iter(match=seen.prefix + "*", count=1000))
    if keys:
        seen.client.delete(*keys)
    publisher.close()


@pytest.fixture(scope="module", autouse=True)
def _default_sources_restored(django_db_blocker: object) -> Iterator[None]:
    """Transactional tests end with a flush that empties source_config; put the seeded watch list
    back after each module so that later tests (any app) find the rows the migration created."""
    yield
    from django.db import connection

    from apps.ingest.models import SourceConfig
    from apps.ingest.services import source_config_seed

    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        if connection.settings_dict["NAME"].startswith("test_") and not SourceConfig.objects.exists():
            source_config_seed()


@pytest.fixture
def fixtures_dir():
    return FIXTURES


def serve(server: FakeServer) -> FakeServer:
    return server.start()
