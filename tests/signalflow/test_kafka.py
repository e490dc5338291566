"""Produce → consume round trips against the real broker, with manual commits."""

import time
import uuid

import pytest

from signalflow.kafka import (
    SIGNALS_NORMALISED,
    TopicSpec,
    consumer_create,
    producer_create,
    signal_produce,
    topic_registry,
    topics_ensure,
)
from signalflow.signal import signal_from_bytes, signal_validate

pytestmark = pytest.mark.usefixtures("kafka_topics")


def _signals(n, tag):
    return [
        signal_validate(
            {
                "id": f"hackernews:{tag}-{i}",
                "platform": "hackernews",
                "source_id": f"{tag}-{i}",
                "title": f"story {i}",
                "published_at": "2026-01-01T00:00:00Z",
            }
        )
        for i in range(n)
    ]


def _private_topic(tag):
    """A topic of this test's own: other tests' traffic (keyless poison messages included) never meets it."""
    name = f"roundtrip-{tag}"
    topics_ensure([TopicSpec(name, 3, "test round trip")])
    return name


def _drain(consumer, want, timeout_ms=30_000):
    got = []
    deadline = time.monotonic() + timeout_ms / 1000
    while len(got) < want and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            got.extend(records)
    return got


def test_registry_has_dlqs_and_three_signal_partitions():
    names = {spec.name: spec for spec in topic_registry()}
    assert names["signals.normalised"].partitions >= 3
    for base in ("signals.normalised", "reddit.posts.raw", "reddit.posts.refresh"):
        assert f"{base}.dlq" in names


def test_auto_commit_is_refused():
    with pytest.raises(ValueError, match="commit manually"):
        consumer_create(SIGNALS_NORMALISED, group="x", enable_auto_commit=True)


def test_round_trip_and_restarted_consumer_resumes_from_committed_offset():
    tag = uuid.uuid4().hex[:8]
    group = f"roundtrip-{tag}"
    topic = _private_topic(tag)
    producer = producer_create()
    sent = _signals(20, tag)
    for signal in sent[:10]:
        signal_produce(producer, signal, topic)
    producer.flush()

    consumer = consumer_create(topic, group=group)
    first = _drain(consumer, 10)
    assert sorted(signal_from_bytes(r.value).id for r in first) == sorted(s.id for s in sent[:10])
    consumer.commit()
    consumer.close()

    for signal in sent[10:]:
        signal_produce(producer, signal, topic)
    producer.flush()
    producer.close()

    resumed = consumer_create(topic, group=group)
    second = _drain(resumed, 10)
    resumed.close()
    # exactly the ten not yet committed: nothing replayed, nothing skipped
    assert sorted(r.key.decode() for r in second) == sorted(s.id for s in sent[10:])


def test_uncommitted_messages_are_delivered_again():
    tag = uuid.uuid4().hex[:8]
    group = f"uncommitted-{tag}"
    topic = _private_topic(tag)
    producer = producer_create()
    for signal in _signals(5, tag):
        signal_produce(producer, signal, topic)
    producer.flush()
    producer.close()

    consumer = consumer_create(topic, group=group)
    first = sorted(r.key for r in _drain(consumer, 5))
    assert len(first) == 5
    consumer.close(autocommit=False)

    again = consumer_create(topic, group=group)
    assert sorted(r.key for r in _drain(again, 5)) == first
    again.close()
