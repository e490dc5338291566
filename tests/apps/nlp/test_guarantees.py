"""DESIGN.md "Guarantees" against the real broker, real Celery workers, the real bridge and PostgreSQL.

Every signal produced is stored exactly once (by count and by id) while the bridge and the workers are
SIGKILLed mid-stream and restarted; bad messages land in the DLQ while the rest flow on, and a replay of
a corrected dead letter stores it once; a flood of bad messages opens the circuit breaker.

Each test gets its own topics, consumer group, Celery queues and Redis keys (prefixes), and deletes
the rows it made: the child processes write committed rows that no test transaction can roll back.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from kafka import KafkaConsumer, TopicPartition

from apps.nlp.models import DeadLetter, Signal, SignalTopic
from apps.nlp.services import dead_letter_replay
from signalflow.kafka import (
    REDDIT_POSTS_REFRESH,
    SIGNALS_NORMALISED,
    dlq_topic,
    group_name,
    producer_create,
    signal_produce,
    topic_name,
    topics_ensure,
)
from signalflow.queues import Queue
from signalflow.signal import Refresh, signal_validate
from tests.support.processes import (
    bridge_process,
    pipeline_env,
    processes_cleanup,
    wait_until,
    worker_process,
)
from tests.support.services import kafka_require, redis_require
from tests.support.tiny_models import tiny_roberta_dir

# The mark makes pytest-django create the test database even when this module runs alone (it sets up
# only the databases that marked tests use); transaction=True keeps the test outside a transaction, so
# the worker subprocesses' commits are what it reads, and empties the tables afterwards.
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NOW = datetime.now(UTC).replace(microsecond=0)
PLATFORMS = ("reddit", "hackernews", "youtube")


@pytest.fixture
def isolated(settings, django_db_setup, django_db_blocker, tmp_path):
    """This test's own topics, group and queues; the test database open outside any transaction."""
    kafka_require()
    redis_require()
    run = uuid.uuid4().hex[:6]
    settings.KAFKA_TOPIC_PREFIX = f"{settings.KAFKA_TOPIC_PREFIX}{run}-"
    settings.SIGNALFLOW_QUEUE_PREFIX = f"{settings.SIGNALFLOW_QUEUE_PREFIX}{run}-"
    topics_ensure()
    with django_db_blocker.unblock():
        dead_letters_before = DeadLetter.objects.order_by("-id").values_list("id", flat=True).first() or 0
        env = pipeline_env(SIGNALFLOW_SENTIMENT_MODEL=str(tiny_roberta_dir()), SIGNALFLOW_NLP_KEY_PREFIX=f"test-{run}:")
        yield {"run": run, "env": env, "logs": tmp_path}
        Signal.objects.filter(id__contains=f":{run}-").delete()
        DeadLetter.objects.filter(id__gt=dead_letters_before).delete()


def signal_for(run, n, *, raw_score=5):
    platform = PLATFORMS[n % len(PLATFORMS)]
    comment = n % 2 == 1
    return signal_validate(
        {
            "id": f"{platform}:{run}-{n}",
            "platform": platform,
            "source_id": f"{run}-{n}",
            "title": "" if comment else f"Apple and Google answer OpenAI, part {n}",
            "body": f"Honestly I love how Microsoft handled this, reply {n}." if comment else f"Story {n}.",
            "published_at": (NOW - timedelta(minutes=20)).isoformat(),
            "raw_score": raw_score,
            "comment_count": 1,
            "extra": {"is_comment": comment, "parent_id": "p", "parent_title": "t"} if comment else {},
        }
    )


def committed_offsets(group: str, partitions: list[TopicPartition]) -> dict[TopicPartition, int | None]:
    """The group's committed offsets, read without joining the group."""
    from django.conf import settings

    consumer = KafkaConsumer(bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS.split(","), group_id=group_name(group))
    try:
        return {tp: consumer.committed(tp) for tp in partitions}
    finally:
        consumer.close(autocommit=False)


class Ends:
    """End offsets per partition from the producer's own acknowledgements (Tansu's ListOffsets under-reads)."""

    def __init__(self) -> None:
        self.ends: dict[TopicPartition, int] = {}

    def add(self, future) -> None:
        meta = future.get(timeout=30)
        tp = TopicPartition(meta.topic, meta.partition)
        self.ends[tp] = max(self.ends.get(tp, 0), meta.offset + 1)


def stored_ids(run: str) -> set[str]:
    return set(Signal.objects.filter(id__contains=f":{run}-").values_list("id", flat=True))


def test_sigkill_of_bridge_and_workers_mid_stream_loses_nothing_and_stores_nothing_twice(isolated):
    run, env, logs = isolated["run"], isolated["env"], isolated["logs"]
    gpu = worker_process(logs, env, queues=[Queue.GPU], name="gpu-worker", pool="solo")
    cpu = worker_process(logs, env, queues=[Queue.CPU], name="cpu-worker", pool="prefork")
    bridge = bridge_process(logs, env)
    rng = random.Random(run)
    total = 240
    repolled = set(range(0, total, 8))  # 30 ids produced twice; the second copy has the newer counts
    producer = producer_create()
    ends = Ends()
    with processes_cleanup(bridge, gpu, cpu):
        gpu.start()
        cpu.start()
        bridge.start()
        # Six chunks; between them a SIGKILL of the bridge, a worker, or both, at a random moment.
        chunks = [list(range(i, total, 6)) for i in range(6)]
        kills = [[bridge], [gpu], [bridge], [cpu], [bridge, gpu], []]
        for chunk, victims in zip(chunks, kills, strict=True):
            for n in chunk:
                ends.add(signal_produce(producer, signal_for(run, n)))
            for n in chunk:
                if n in repolled:
                    ends.add(signal_produce(producer, signal_for(run, n, raw_score=500)))
            producer.flush()
            time.sleep(rng.uniform(1.0, 4.0))  # let work get in flight, then kill wherever it is
            for victim in victims:
                victim.kill()
            time.sleep(rng.uniform(0.2, 1.0))
            for victim in victims:
                victim.start()
        producer.close()

        expected = {signal_for(run, n).id for n in range(total)}
        wait_until(lambda: stored_ids(run) >= expected, timeout=150, interval=1, what=f"{total} stored signals")
        # Every offset ends up committed, exactly at the end of what was produced: nothing skipped.
        partitions = sorted(ends.ends, key=lambda tp: tp.partition)
        wait_until(
            lambda: committed_offsets("nlp-bridge", partitions) == ends.ends,
            timeout=30,
            what=f"committed offsets {ends.ends}",
        )

    assert bridge.starts == 4
    assert gpu.starts == 3
    assert cpu.starts == 2
    rows = Signal.objects.filter(id__contains=f":{run}-")
    assert rows.count() == total
    assert stored_ids(run) == expected
    assert set(rows.filter(raw_score=500).values_list("id", flat=True)) == {
        signal_for(run, n).id for n in repolled
    }  # the newest copy of a re-polled signal won, whatever the order of redeliveries
    assert not rows.filter(sentiment_model__isnull=True).exists()
    assert set(rows.filter(is_comment=True).values_list("sentiment_model", flat=True)) == {"roberta"}
    topic_rows = SignalTopic.objects.filter(signal__id__contains=f":{run}-")
    assert topic_rows.count() == sum(len(topics) for topics in rows.values_list("topics", flat=True))


def test_bad_messages_go_to_the_dlq_while_the_rest_flow_and_a_fixed_replay_is_stored_once(isolated):
    run, env, logs = isolated["run"], isolated["env"], isolated["logs"]
    worker = worker_process(logs, env, queues=[Queue.GPU, Queue.CPU], name="worker")
    bridge = bridge_process(logs, env)
    producer = producer_create()
    good = [signal_for(run, n) for n in range(20)]
    broken = signal_for(run, 99).to_dict() | {"published_at": "2026-01-01T00:00:00"}  # no timezone
    bad_payloads = [b"{not json", b'"a string"', str(broken).encode(), json.dumps(broken).encode()]
    with processes_cleanup(bridge, worker):
        worker.start()
        bridge.start()
        for index, signal in enumerate(good):
            signal_produce(producer, signal)
            if index % 5 == 0:
                producer.send(
                    topic_name(SIGNALS_NORMALISED), key=f"bad-{run}-{index}".encode(), value=bad_payloads[index // 5]
                )
        producer.send(topic_name(REDDIT_POSTS_REFRESH), key=b"x", value=b'{"id": "reddit:x"}')  # missing fields
        producer.flush()

        wait_until(lambda: stored_ids(run) >= {s.id for s in good}, timeout=90, interval=1, what="good signals")
        letters = wait_until(
            lambda: (
                (rows := list(DeadLetter.objects.filter(key__startswith=f"bad-{run}-").order_by("offset")))
                and len(rows) == 4
                and rows
            ),
            timeout=30,
            what="4 dead letters",
        )
        assert {bytes(letter.payload) for letter in letters} == set(bad_payloads)
        assert all(letter.topic == SIGNALS_NORMALISED and letter.error for letter in letters)
        fixed_letter = next(letter for letter in letters if bytes(letter.payload) == bad_payloads[3])
        assert "published_at" in fixed_letter.error
        assert DeadLetter.objects.filter(topic=REDDIT_POSTS_REFRESH, key="x").count() == 1

        dlq = KafkaConsumer(
            topic_name(dlq_topic(SIGNALS_NORMALISED)),
            bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"].split(","),
            auto_offset_reset="earliest",
            consumer_timeout_ms=5000,
        )
        dlq_records = [record for record in dlq if record.key and record.key.startswith(f"bad-{run}-".encode())]
        dlq.close()
        assert sorted(r.value for r in dlq_records) == sorted(bad_payloads)
        assert all(dict(r.headers)["signalflow-error"] for r in dlq_records)

        # A refresh of a stored post changes its counts, never its sentiment.
        post = Signal.objects.get(id=good[0].id)
        refresh = Refresh(id=post.id, raw_score=777, comment_count=9, observed_at=datetime.now(UTC))
        producer.send(topic_name(REDDIT_POSTS_REFRESH), key=post.id.encode(), value=refresh.to_bytes())
        producer.flush()
        wait_until(lambda: Signal.objects.get(id=post.id).raw_score == 777, timeout=30, what="refresh applied")
        refreshed = Signal.objects.get(id=post.id)
        assert refreshed.comment_count == 9
        assert (refreshed.sentiment_compound, refreshed.sentiment_model) == (
            post.sentiment_compound,
            post.sentiment_model,
        )

        # The operator corrects the timezone-less dead letter and replays it, twice: stored once.
        fixed = signal_for(run, 99)
        DeadLetter.objects.filter(pk=fixed_letter.pk).update(payload=fixed.to_bytes())
        dead_letter_replay(dead_letter_id=fixed_letter.pk)
        dead_letter_replay(dead_letter_id=fixed_letter.pk)
        wait_until(lambda: fixed.id in stored_ids(run), timeout=30, what="replayed signal stored")
        time.sleep(2)
        assert Signal.objects.filter(id=fixed.id).count() == 1
        assert DeadLetter.objects.get(pk=fixed_letter.pk).replay_count == 2
        assert stored_ids(run) == {s.id for s in good} | {fixed.id}
        producer.close()


def test_a_flood_of_bad_messages_opens_the_circuit_breaker(isolated):
    run, logs = isolated["run"], isolated["logs"]
    env = dict(isolated["env"], SIGNALFLOW_BRIDGE_DLQ_MAX_CONSECUTIVE="5")
    bridge = bridge_process(logs, env)
    producer = producer_create()
    with processes_cleanup(bridge):
        for index in range(12):
            producer.send(
                topic_name(SIGNALS_NORMALISED), key=f"flood-{run}-{index}".encode(), value=b"garbage", partition=0
            )
        producer.flush()
        producer.close()
        bridge.start()
        status = bridge.wait(timeout=60)
        assert status != 0
        assert "circuit breaker open" in bridge.log_tail()
        assert DeadLetter.objects.filter(key__startswith=f"flood-{run}-").count() == 5
        tp = TopicPartition(topic_name(SIGNALS_NORMALISED), 0)
        # The five dead-lettered messages are committed; the sixth, which tripped the breaker, is not.
        assert committed_offsets("nlp-bridge", [tp]) == {tp: 5}
