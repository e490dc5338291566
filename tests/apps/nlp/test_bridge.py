"""The bridge's parts: the consumer registry, parsing and routing, batching, ordering, commits, rebalances."""

import uuid
from datetime import UTC, datetime

import pytest
from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from apps.nlp import bridge as bridge_module
from apps.nlp.bridge import Bridge, Lane, PartitionOffsets, consumer_registry
from celery_app import app as celery_app
from signalflow.kafka import topic_name, topic_registry
from signalflow.signal import Refresh, SignalValidationError, signal_validate

STAMP = int(datetime(2026, 6, 1, 12, 0, tzinfo=UTC).timestamp() * 1000)


def record(value, *, topic="signals.normalised", partition=0, offset=0, key=b"k", timestamp=STAMP):
    return ConsumerRecord(
        topic_name(topic),
        partition,
        -1,
        offset,
        timestamp,
        0,
        key,
        value,
        [],
        None,
        len(key or b""),
        len(value or b""),
        0,
    )


def signal_bytes(n, *, comment=False, tag="t"):
    return signal_validate(
        {
            "id": f"reddit:{tag}{n}",
            "platform": "reddit",
            "source_id": f"{tag}{n}",
            "title": "" if comment else f"title {n}",
            "body": f"body {n}",
            "published_at": "2026-06-01T11:00:00Z",
            "extra": {"is_comment": comment},
        }
    ).to_bytes()


def test_every_registered_consumer_imports_and_points_at_real_topics_and_tasks():
    celery_app.loader.import_default_modules()
    topics = {spec.name: spec for spec in topic_registry()}
    registry = consumer_registry()
    assert "nlp-bridge" in registry
    for name, spec in registry.items():
        assert spec.name == name
        assert spec.batch_size > 0
        assert spec.max_in_flight > 0
        assert spec.batch_timeout_s > 0
        for route in spec.routes:
            assert topics[route.topic].has_dlq, route.topic
            assert f"{route.topic}.dlq" in topics
            assert callable(route.parse)
    for lane in bridge_module.LANES.values():
        assert lane.task_name in celery_app.tasks


def test_commit_point_never_passes_an_unfinished_offset():
    offsets = PartitionOffsets()
    assert offsets.commit_point() is None
    for offset in (5, 6, 7, 9):  # 8 was compacted away: gaps are fine
        offsets.add(offset)
    offsets.complete(7)
    offsets.complete(9)
    assert offsets.commit_point() == 5  # 5 and 6 are still in flight
    offsets.complete(5)
    assert offsets.commit_point() == 6
    offsets.complete(6)
    assert offsets.commit_point() == 10


def test_messages_are_parsed_and_routed_by_kind():
    comment = bridge_module.signal_message_parse(record(signal_bytes(1, comment=True)))
    post = bridge_module.signal_message_parse(record(signal_bytes(2)))
    assert (comment.lane, post.lane) == (Lane.COMMENTS, Lane.POSTS)
    assert comment.key == "reddit:t1"
    assert comment.item["observed_at"] == "2026-06-01T12:00:00Z"  # the record's producer timestamp
    assert comment.item["signal"]["extra"]["is_comment"] is True
    refresh = Refresh(id="reddit:t2", raw_score=3, comment_count=1, observed_at=datetime.now(UTC)).to_bytes()
    parsed = bridge_module.refresh_message_parse(record(refresh, topic="reddit.posts.refresh"))
    assert (parsed.lane, parsed.key) == (Lane.REFRESHES, "reddit:t2")
    for bad in (b"{", b"null", None, b'{"id": "reddit:x"}', b"x" * 300_000):
        with pytest.raises(SignalValidationError):
            bridge_module.signal_message_parse(record(bad))
    with pytest.raises(SignalValidationError):
        bridge_module.refresh_message_parse(record(b'{"id": "reddit:x", "raw_score": 1}', topic="reddit.posts.refresh"))


@pytest.fixture
def bridge(settings, kafka_topics):
    settings.SIGNALFLOW_QUEUE_PREFIX = f"{settings.SIGNALFLOW_QUEUE_PREFIX}{uuid.uuid4().hex[:6]}-"  # nobody consumes
    settings.SIGNALFLOW_BRIDGE_BATCH_SIZE = 3
    settings.SIGNALFLOW_BRIDGE_MAX_IN_FLIGHT = 2
    instance = Bridge(consumer_registry()["nlp-bridge"])
    yield instance
    instance.close()


def _accept(bridge, value, *, offset, partition=0, topic="signals.normalised"):
    tp = TopicPartition(topic_name(topic), partition)
    bridge._accept(tp, record(value, topic=topic, partition=partition, offset=offset), bridge.spec.route(topic))
    return tp


def test_batches_close_by_size_keep_key_order_and_commit_in_offset_order(bridge):
    tp = None
    for offset in range(3):
        tp = _accept(bridge, signal_bytes(offset), offset=offset)
    assert len(bridge.ready) == 1  # closed at three signals
    first = bridge.ready[0]
    bridge._dispatch_ready(0.0)
    assert len(bridge.in_flight) == 1

    # The same key again (a re-poll): its batch must wait behind the one in flight.
    for offset, n in ((3, 0), (4, 7), (5, 8)):
        _accept(bridge, signal_bytes(n), offset=offset)
    bridge._dispatch_ready(0.0)
    assert len(bridge.in_flight) == 1
    assert len(bridge.ready) == 1
    waiting = bridge.ready[0]

    # Nothing is committable until the first batch is stored; then exactly its offsets are.
    assert bridge.trackers[tp].commit_point() == 0
    bridge._landed(first.task_id)
    bridge._done(first)
    assert bridge.trackers[tp].commit_point() == 3
    bridge._dispatch_ready(0.0)
    assert list(bridge.in_flight.values()) == [waiting]


def test_a_key_in_another_lanes_open_batch_closes_it_first(bridge):
    _accept(bridge, signal_bytes(1), offset=0)
    refresh = Refresh(id="reddit:t1", raw_score=9, comment_count=0, observed_at=datetime.now(UTC)).to_bytes()
    _accept(bridge, refresh, offset=0, topic="reddit.posts.refresh")
    assert [batch.lane for batch in bridge.ready] == [Lane.POSTS]  # the post goes ahead of its refresh
    assert Lane.REFRESHES in bridge.buffers


@pytest.mark.django_db
def test_bad_messages_are_dead_lettered_and_commit_waits_for_earlier_work(bridge):
    from apps.nlp.models import DeadLetter

    DeadLetter.objects.filter(topic="signals.normalised", partition=0, offset=1).delete()
    tp = _accept(bridge, signal_bytes(1), offset=0)
    _accept(bridge, b"{oops", offset=1)
    assert bridge.consecutive_bad == 1
    assert bridge.trackers[tp].commit_point() == 0  # the good message before it is not stored yet
    row = DeadLetter.objects.get(topic="signals.normalised", partition=0, offset=1)
    assert "not valid JSON" in row.error
    assert bytes(row.payload) == b"{oops"


def test_revoked_partitions_are_forgotten_and_their_waiting_work_dropped(bridge):
    tp0 = _accept(bridge, signal_bytes(1), offset=0, partition=0)
    tp1 = _accept(bridge, signal_bytes(2), offset=0, partition=1)
    bridge.partitions_revoked({tp0})
    assert tp0 not in bridge.trackers
    assert tp1 in bridge.trackers
    remaining = [key for batch in bridge.buffers.values() for key in batch.entries]
    assert remaining == ["reddit:t2"]


def test_a_partition_revoked_and_assigned_again_is_read_again_from_where_work_was_forgotten(bridge):
    # kafka-python keeps the fetch position of a partition that stays assigned; the bridge dropped its
    # undispatched work on revoke, so it must seek back or that work would be skipped for good.
    partitions = [TopicPartition(topic_name("signals.normalised"), p) for p in range(2)]
    bridge.consumer.assign(partitions)
    tp0 = _accept(bridge, signal_bytes(1), offset=5, partition=0)
    _accept(bridge, signal_bytes(2), offset=6, partition=0)
    bridge.consumer.seek(tp0, 7)  # as if the consumer had fetched past both
    bridge.consumer.seek(partitions[1], 3)
    bridge.partitions_revoked({tp0})
    bridge.partitions_assigned({tp0, partitions[1]})
    assert bridge.consumer.position(tp0) == 5  # never committed here: back to where reading started
    assert bridge.consumer.position(partitions[1]) == 3  # not ours before: left alone


def test_backpressure_pauses_when_too_many_batches_wait(bridge):
    partitions = [TopicPartition(topic_name("signals.normalised"), p) for p in range(3)]
    bridge.consumer.assign(partitions)
    for offset in range(9):
        _accept(bridge, signal_bytes(offset), offset=offset)
    assert len(bridge.ready) == 3
    bridge._backpressure()
    assert bridge.paused
    assert bridge.consumer.paused() == set(partitions)
    bridge.ready.clear()
    bridge._backpressure()
    assert not bridge.paused
    assert not bridge.consumer.paused()


@pytest.mark.django_db
def test_a_batch_that_keeps_failing_is_split_and_only_the_failing_message_dead_lettered(bridge):
    from apps.nlp.models import DeadLetter

    DeadLetter.objects.filter(topic="signals.normalised", partition=2, offset__in=[0, 1, 2]).delete()
    for offset in range(3):
        tp = _accept(bridge, signal_bytes(offset, tag="f"), offset=offset, partition=2)
    batch = bridge.ready.popleft()
    error = RuntimeError("boom")
    for _ in range(bridge.spec.max_attempts - 1):
        bridge._failed(batch, error)
        assert bridge.ready.popleft() is batch  # retried whole, first in line
    bridge._failed(batch, error)
    singles = list(bridge.ready)
    assert [list(single.entries) for single in singles] == [["reddit:f0"], ["reddit:f1"], ["reddit:f2"]]

    bridge.ready.clear()
    bridge._done(singles[0])  # the first one stores fine on its own
    for _ in range(bridge.spec.max_attempts):
        bridge._failed(singles[1], error)  # the second keeps failing
        bridge.ready.clear()
    assert bridge.trackers[tp].commit_point() == 2  # the third is still to do
    row = DeadLetter.objects.get(topic="signals.normalised", partition=2, offset=1)
    assert "boom" in row.error
    assert bytes(row.payload) == signal_bytes(1, tag="f")


def test_run_bridge_and_replay_refuse_bad_arguments_with_status_2():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="unknown consumer") as raised:
        call_command("run_bridge", "--consumer", "nope")
    assert raised.value.returncode == 2
    with pytest.raises(CommandError, match="either --id") as raised:
        call_command("replay_dead_letters")
    assert raised.value.returncode == 2
    with pytest.raises(CommandError, match="unknown topic") as raised:
        call_command("replay_dead_letters", "--pending", "--topic", "nope")
    assert raised.value.returncode == 2


@pytest.mark.django_db
def test_replay_command_names_missing_ids():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="no dead letter with id 987654321") as raised:
        call_command("replay_dead_letters", "--id", "987654321")
    assert raised.value.returncode == 2


def test_consumer_lag_is_exported_per_assigned_partition(bridge):
    from apps.nlp import metrics
    from signalflow.kafka import producer_create

    producer = producer_create()
    for _ in range(3):  # separate record batches: Tansu reports the end as the last batch's base offset
        producer.send(topic_name("reddit.posts.refresh"), value=b"{}", partition=1).get(timeout=30)
    producer.close()
    partitions = [TopicPartition(topic_name("reddit.posts.refresh"), p) for p in range(3)]
    bridge.consumer.assign(partitions)
    bridge._lag_export()
    lag = metrics.CONSUMER_LAG.labels("reddit.posts.refresh", "1")._value.get()
    assert lag >= 2  # nothing committed by this bridge's group yet
    for partition in ("0", "2"):
        assert metrics.CONSUMER_LAG.labels("reddit.posts.refresh", partition)._value.get() >= 0
    bridge.partitions_revoked(set(partitions))
    assert ("reddit.posts.refresh", "1") not in bridge._lag_labels
