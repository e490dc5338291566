"""Velocity and trending scores in the real Redis (DB 3): atomic, idempotent, with TTLs."""

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from apps.nlp import scoring

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def prefix(settings, redis_nlp):
    settings.SIGNALFLOW_NLP_KEY_PREFIX = f"test-{uuid.uuid4().hex[:8]}:"
    yield settings.SIGNALFLOW_NLP_KEY_PREFIX
    keys = list(redis_nlp.scan_iter(match=settings.SIGNALFLOW_NLP_KEY_PREFIX + "*"))
    if keys:
        redis_nlp.delete(*keys)


def _obs(signal_id, engagement, observed, published=T0):
    return scoring.VelocityObservation(signal_id, engagement, observed, published)


def test_first_velocity_is_engagement_per_hour_of_age_then_change_per_hour(prefix, redis_nlp):
    assert scoring.signal_velocity_update(observations=[_obs("s1", 100, T0 + timedelta(hours=2))]) == {"s1": 50.0}
    second = scoring.signal_velocity_update(observations=[_obs("s1", 160, T0 + timedelta(hours=2, minutes=30))])
    assert second == {"s1": pytest.approx(120.0)}  # +60 points in half an hour
    ttl = redis_nlp.pttl(f"{prefix}vel:s1")
    assert 0 < ttl <= 7 * 24 * 3600 * 1000


def test_young_signal_velocity_uses_the_minimum_age(prefix, settings):
    settings.SIGNALFLOW_VELOCITY_MIN_HOURS = 0.25
    got = scoring.signal_velocity_update(observations=[_obs("young", 10, T0 + timedelta(seconds=1))])
    assert got["young"] == pytest.approx(40.0)  # 10 points over the 15-minute floor, not over one second


def test_replayed_or_older_observation_changes_nothing(prefix, redis_nlp):
    scoring.signal_velocity_update(observations=[_obs("s2", 100, T0 + timedelta(hours=1))])
    scoring.signal_velocity_update(observations=[_obs("s2", 130, T0 + timedelta(hours=2))])
    stored = redis_nlp.hgetall(f"{prefix}vel:s2")
    for replay in (_obs("s2", 130, T0 + timedelta(hours=2)), _obs("s2", 999, T0 + timedelta(minutes=90))):
        assert scoring.signal_velocity_update(observations=[replay]) == {"s2": pytest.approx(30.0)}
    assert redis_nlp.hgetall(f"{prefix}vel:s2") == stored


def test_concurrent_updates_keep_the_newest_observation(prefix, redis_nlp):
    """Eight threads race; a read-modify-write would let an older observation overwrite a newer one."""
    observations = [_obs("hot", 10 * i, T0 + timedelta(minutes=i)) for i in range(1, 81)]
    chunks = [observations[i::8] for i in range(8)]
    threads = [
        threading.Thread(target=lambda c=c: [scoring.signal_velocity_update(observations=[o]) for o in reversed(c)])
        for c in chunks
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = redis_nlp.hgetall(f"{prefix}vel:hot")
    assert int(stored[b"t"]) == int((T0 + timedelta(minutes=80)).timestamp() * 1000)
    assert int(stored[b"e"]) == 800


def _mention(signal_id, platform, published, topics):
    return scoring.TopicMention(signal_id, platform, published, topics)


def test_topic_trend_is_velocity_times_spread_times_recency(prefix, settings):
    settings.SIGNALFLOW_TRENDING_WINDOW_SECONDS = 3600
    settings.SIGNALFLOW_TRENDING_HALF_LIFE_SECONDS = 1800
    now = T0.timestamp()
    mentions = [
        _mention("reddit:a", "reddit", T0 - timedelta(minutes=10), ["iran"]),
        _mention("bluesky:b", "bluesky", T0 - timedelta(minutes=5), ["iran", "oil"]),
        _mention("reddit:c", "reddit", T0, ["iran"]),
        _mention("reddit:old", "reddit", T0 - timedelta(hours=2), ["iran"]),  # outside the window
    ]
    trends = scoring.topic_mentions_record(mentions=mentions, now=now)
    iran = trends["iran"]
    assert (iran.mentions, iran.platforms) == (3, 2)
    assert iran.velocity == pytest.approx(3.0)  # mentions per hour
    assert iran.spread == pytest.approx(0.5)  # 2 of 4 platforms
    assert iran.recency == pytest.approx(1.0)
    assert iran.trending_score == pytest.approx(1.5)
    assert trends["oil"].mentions == 1

    # Redelivery of the same mentions counts nothing twice; half an hour later recency has halved.
    again = scoring.topic_mentions_record(mentions=mentions[:3], now=now + 1800)
    assert again["iran"].mentions == 3
    assert again["iran"].recency == pytest.approx(0.5)
    assert again["iran"].trending_score == pytest.approx(0.75)


def test_trending_threshold_and_signal_score(prefix, settings):
    settings.SIGNALFLOW_TRENDING_THRESHOLD = 2.0
    now = T0.timestamp()
    platforms = ["reddit", "bluesky", "hackernews", "youtube"]
    mentions = [_mention(f"{p}:{i}", p, T0, ["gpu"]) for i in range(2) for p in platforms]
    mentions.append(_mention("reddit:x", "reddit", T0, ["quiet"]))
    trends = scoring.topic_mentions_record(mentions=mentions, now=now)
    assert trends["gpu"].trending_score == pytest.approx(8.0)
    assert trends["gpu"].is_trending
    assert not trends["quiet"].is_trending
    assert scoring.signal_trending_score(topics=["quiet", "gpu"], trends=trends) == pytest.approx(8.0)
    assert scoring.signal_trending_score(topics=[], trends=trends) == 0.0
