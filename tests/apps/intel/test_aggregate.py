"""The topic aggregator: exact (topic, platform, 15 min) buckets under re-runs, overlaps, restarts and late signals."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
import redis
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from apps.intel import services, tasks
from apps.intel.models import JobWatermark, TopicTimeseries
from apps.nlp.models import Signal
from signalflow.queues import Queue, queue_name
from tests.support.factories import signal_create, signals_create

BUCKET = timedelta(minutes=15)


def bucket_of(moment: datetime) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    return epoch + ((moment - epoch) // BUCKET) * BUCKET


def stored() -> dict[tuple[str, str, datetime], tuple[int, float, int, float, int]]:
    return {
        (row.topic, row.platform, row.bucket): (
            row.signal_count,
            round(row.sentiment_sum, 6),
            row.sentiment_count,
            row.max_trending,
            row.score_sum,
        )
        for row in TopicTimeseries.objects.all()
    }


def truth() -> dict[tuple[str, str, datetime], tuple[int, float, int, float, int]]:
    """The buckets computed from scratch, independently of the aggregator's incremental path."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT st.topic, st.platform, st.published_at, st.sentiment, s.trending_score, s.raw_score
            FROM signal_topics st JOIN signals s ON s.id = st.signal_id
            """
        )
        rows = cursor.fetchall()
    buckets: dict[tuple[str, str, datetime], list] = {}
    for topic, platform, published_at, sentiment, trending, score in rows:
        acc = buckets.setdefault((topic, platform, bucket_of(published_at)), [0, 0.0, 0, 0.0, 0])
        acc[0] += 1
        if sentiment is not None:
            acc[1] += sentiment
            acc[2] += 1
        acc[3] = max(acc[3], trending)
        acc[4] += score
    return {key: (a[0], round(a[1], 6), a[2], a[3], a[4]) for key, a in buckets.items()}


@pytest.fixture
def base_time():
    # Mid-bucket, so fixed offsets stay within known buckets.
    return bucket_of(timezone.now()) - 4 * BUCKET + timedelta(minutes=7)


@pytest.mark.django_db
def test_buckets_are_exact_and_reruns_change_nothing(base_time):
    signals_create(3, platform="reddit", topics=["iran", "oil"], sentiment=-0.5, published_at=base_time)
    signals_create(2, platform="youtube", topics=["iran"], sentiment=0.25, published_at=base_time + BUCKET)
    signal_create(platform="youtube", topics=["iran"], sentiment=None, published_at=base_time + BUCKET, raw_score=7)

    first = services.topics_aggregate()
    assert first["buckets_upserted"] == 3
    assert stored() == truth()
    iran_reddit = TopicTimeseries.objects.get(topic="iran", platform="reddit", bucket=bucket_of(base_time))
    assert (iran_reddit.signal_count, iran_reddit.sentiment_count) == (3, 3)
    assert iran_reddit.sentiment_sum == pytest.approx(-1.5)
    youtube = TopicTimeseries.objects.get(topic="iran", platform="youtube", bucket=bucket_of(base_time + BUCKET))
    assert (youtube.signal_count, youtube.sentiment_count, youtube.score_sum) == (3, 2, 27)

    before = stored()
    assert services.topics_aggregate()["buckets_upserted"] == 0  # nothing changed, nothing rewritten
    services.topics_aggregate()
    assert stored() == before
    assert JobWatermark.objects.get(name="aggregate_topics").value > base_time


@pytest.mark.django_db
def test_late_signal_lands_in_its_own_old_bucket(base_time):
    signals_create(4, platform="bluesky", topics=["chips"], sentiment=0.5, published_at=base_time)
    services.topics_aggregate()
    old = base_time - timedelta(hours=6)
    signals_create(2, platform="bluesky", topics=["chips"], sentiment=-1.0, published_at=old)  # written late
    services.topics_aggregate()

    assert stored() == truth()
    late = TopicTimeseries.objects.get(topic="chips", platform="bluesky", bucket=bucket_of(old))
    assert (late.signal_count, late.sentiment_sum) == (2, -2.0)
    assert TopicTimeseries.objects.get(topic="chips", bucket=bucket_of(base_time)).signal_count == 4


@pytest.mark.django_db
def test_write_committed_after_the_watermark_but_within_the_lag_is_counted(base_time):
    signals_create(2, platform="reddit", topics=["rates"], published_at=base_time)
    services.topics_aggregate()
    watermark = JobWatermark.objects.get(name="aggregate_topics").value
    # A transaction that stamped its row before the last run's watermark and committed after it.
    late = signal_create(platform="reddit", topics=["rates"], published_at=base_time)
    Signal.objects.filter(pk=late.pk).update(last_updated_at=watermark - timedelta(seconds=30))
    services.topics_aggregate()
    assert TopicTimeseries.objects.get(topic="rates", platform="reddit").signal_count == 3


@pytest.mark.django_db
def test_restart_without_watermark_rebuilds_the_same_buckets(base_time):
    signals_create(5, platform="hackernews", topics=["rust"], sentiment=0.1, published_at=base_time)
    services.topics_aggregate()
    signal_create(platform="hackernews", topics=["rust"], sentiment=0.3, published_at=base_time - BUCKET)
    before_restart = truth()
    JobWatermark.objects.all().delete()  # a fresh deployment: full recompute, still absolute values
    services.topics_aggregate()
    assert stored() == before_restart


@pytest.mark.django_db
def test_score_refresh_updates_the_bucket(base_time):
    signal = signal_create(platform="reddit", topics=["ai"], published_at=base_time, raw_score=5, trending_score=1.0)
    services.topics_aggregate()
    signal.raw_score, signal.trending_score = 50, 9.5
    signal.save()  # auto_now bumps last_updated_at, as the pipeline's refresh does
    services.topics_aggregate()
    row = TopicTimeseries.objects.get(topic="ai")
    assert (row.score_sum, row.max_trending) == (50, 9.5)


@pytest.mark.django_db(transaction=True)
def test_overlapping_runs_while_signals_arrive_stay_exact(base_time):
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        try:
            for index in range(30):
                signal_create(
                    platform=("reddit", "youtube")[index % 2],
                    topics=["overlap"],
                    sentiment=index / 100,
                    published_at=base_time - (index % 5) * BUCKET,
                )
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()
            stop.set()

    def aggregator() -> None:
        try:
            while not stop.is_set():
                services.topics_aggregate()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=aggregator) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    services.topics_aggregate()
    assert stored() == truth()
    assert sum(count for count, *_ in stored().values()) == 30


@pytest.mark.django_db
def test_each_aggregation_enqueues_alerts_evaluate_after_commit(
    base_time, redis_ready, django_capture_on_commit_callbacks
):
    signals_create(1, topics=["alerting"], published_at=base_time)
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue = queue_name(Queue.DEFAULT)
    before = client.lrange(queue, 0, -1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.topics_aggregate()
    assert client.lrange(queue, 0, -1) == before  # nothing is published before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    new = [raw for raw in client.lrange(queue, 0, -1) if raw not in before]
    try:
        assert [json.loads(raw)["headers"]["task"] for raw in new] == ["alerts.evaluate"]
    finally:
        for raw in new:
            client.lrem(queue, 1, raw)
        client.close()


@pytest.mark.django_db
def test_a_held_lock_makes_a_second_run_skip(redis_ready):
    with services.job_lock(name="aggregate_topics", ttl_s=30) as acquired:
        assert acquired
        result = tasks.aggregate_topics.apply().get()
    assert result == {"job": "aggregate_topics", "status": "locked"}
    assert tasks.aggregate_topics.apply().get()["status"] == "ok"


def test_lock_is_released_only_by_its_holder(redis_ready):
    client = redis.Redis.from_url(settings.REDIS_CELERY_URL)
    key = services.job_lock_key("ownership")
    first = services.job_lock(name="ownership", ttl_s=30)
    second = services.job_lock(name="ownership", ttl_s=30)
    try:
        assert first.__enter__() is True
        assert services.job_lock(name="ownership", ttl_s=30).__enter__() is False  # held: a second run skips
        client.delete(key)  # the first run's lock expired while it was still running
        assert second.__enter__() is True
        token = client.get(key)
        first.__exit__(None, None, None)  # the late first run releases: the second's lock must survive
        assert client.get(key) == token
        second.__exit__(None, None, None)
        assert client.get(key) is None
    finally:
        client.delete(key)
        client.close()


@pytest.mark.django_db
def test_a_run_that_dies_before_its_watermark_leaves_nothing_half_done(base_time, monkeypatch):
    signals_create(3, platform="reddit", topics=["crash"], published_at=base_time)
    services.topics_aggregate()
    signals_create(2, platform="reddit", topics=["crash"], published_at=base_time)

    def die(*args, **kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr(JobWatermark.objects, "update_or_create", die)
    with pytest.raises(SystemExit):
        services.topics_aggregate()
    assert TopicTimeseries.objects.get(topic="crash").signal_count == 3  # the whole run rolled back
    monkeypatch.undo()
    services.topics_aggregate()
    assert TopicTimeseries.objects.get(topic="crash").signal_count == 5
