"""Response caching in Redis, per-user throttling, request metrics, and the index per-topic reads use."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from prometheus_client import REGISTRY

from apps.api import selectors
from apps.api.cache import api_redis, cache_key
from tests.apps.api.conftest import client_for
from tests.apps.api.test_endpoints import series


def topics_of(response):
    return [item["topic"] for item in response.json()["results"]]


@pytest.mark.django_db
def test_trending_is_cached_by_normalised_parameters(api):
    series("first", "reddit", hours_ago=1, count=5)
    miss = api.get("/api/v1/trending/")
    assert miss["X-Cache"] == "MISS"
    series("second", "reddit", hours_ago=1, count=50)
    hit = api.get("/api/v1/trending/", {"limit": "20", "window": "24h"})  # the defaults, spelled out
    assert hit["X-Cache"] == "HIT"
    assert topics_of(hit) == ["first"]  # the cached answer, not the new row
    assert api_redis().get(cache_key(endpoint="trending", params={"window": "24h", "platform": None, "limit": 20}))
    other = api.get("/api/v1/trending/", {"limit": 5})
    assert other["X-Cache"] == "MISS"
    assert topics_of(other) == ["second", "first"]


@pytest.mark.django_db
def test_cached_answers_expire(api, settings):
    settings.API_CACHE_TTL = {**settings.API_CACHE_TTL, "trending": 3}  # room for a slow machine before expiry
    series("first", "reddit", hours_ago=1, count=5)
    assert api.get("/api/v1/trending/")["X-Cache"] == "MISS"
    series("second", "reddit", hours_ago=1, count=50)
    assert api.get("/api/v1/trending/")["X-Cache"] == "HIT"
    time.sleep(3.2)
    fresh = api.get("/api/v1/trending/")
    assert fresh["X-Cache"] == "MISS"
    assert topics_of(fresh) == ["second", "first"]


@pytest.mark.django_db
def test_every_cached_endpoint_hits_on_repeat(api):
    for url in (
        "/api/v1/pulse/?topic=iran",
        "/api/v1/divergence/leaderboard/",
        "/api/v1/stats/totals/",
        "/api/v1/trending/?platform=reddit",
    ):
        assert api.get(url)["X-Cache"] == "MISS", url
        assert api.get(url)["X-Cache"] == "HIT", url


@pytest.mark.django_db
def test_throttling_is_per_user(api, staff, settings):
    settings.API_THROTTLE_USER_RATE = "3/hour"  # an hour window: no boundary falls inside the test
    statuses = [api.get("/api/v1/stats/totals/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = api.get("/api/v1/stats/totals/")
    assert int(limited["Retry-After"]) > 0
    other = client_for("operator", "pw-operator-1")  # obtaining a token is anonymous-throttled, not per-user
    assert other.get("/api/v1/stats/totals/").status_code == 200


@pytest.mark.django_db
def test_anonymous_callers_are_throttled_too(user, settings):
    from rest_framework.test import APIClient

    settings.API_THROTTLE_ANON_RATE = "2/hour"
    client = APIClient()
    codes = [client.post("/api/token/", {"username": "reader", "password": "wrong"}).status_code for _ in range(3)]
    assert codes == [401, 401, 429]


@pytest.mark.django_db
def test_request_duration_is_recorded_by_route(api):
    labels = {"route": "api-stats-totals", "method": "GET", "status": "200"}
    before = REGISTRY.get_sample_value("signalflow_api_request_duration_seconds_count", labels) or 0
    api.get("/api/v1/stats/totals/")
    api.get("/api/v1/trending/", {"window": "bad"})
    assert REGISTRY.get_sample_value("signalflow_api_request_duration_seconds_count", labels) == before + 1
    bad = {"route": "api-trending", "method": "GET", "status": "400"}
    assert REGISTRY.get_sample_value("signalflow_api_request_duration_seconds_count", bad) >= 1


def _plan(sql: str, params: dict) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


BULK_SIGNALS = """
INSERT INTO signals (id, platform, source_id, title, body, url, author, community, published_at, raw_score,
                     comment_count, extra, schema_version, is_comment, language, topics, velocity,
                     trending_score, is_trending, first_seen_at, last_updated_at)
SELECT 'reddit:x' || g, 'reddit', 'x' || g, '', '', '', '', '', now() - (g % 2000) * interval '1 minute', 0, 0,
       '{}'::jsonb, 1, false, 'en', jsonb_build_array('t' || (g % 50)), 0, 0, false, now(), now()
FROM generate_series(1, 20000) g
"""


@pytest.mark.django_db
def test_per_topic_reads_use_the_covering_index_not_gin():
    """20,000 signals over 50 topics: the planner's own choice, without disabling anything."""
    from django.utils import timezone

    with connection.cursor() as cursor:
        cursor.execute(BULK_SIGNALS)
        cursor.execute(
            "INSERT INTO signal_topics (topic, published_at, signal_id, platform, sentiment, is_comment) "
            "SELECT t.topic, s.published_at, s.id, s.platform, s.sentiment_compound, s.is_comment "
            "FROM signals s CROSS JOIN LATERAL jsonb_array_elements_text(s.topics) AS t(topic)"
        )
        cursor.execute("ANALYZE signals")
        cursor.execute("ANALYZE signal_topics")
    params = {"topic": "t7", "since": timezone.now() - timezone.timedelta(hours=24), "top": 3}
    aggregate = _plan(selectors.PULSE_AGGREGATE_SQL, params)
    top = _plan(selectors.PULSE_TOP_SQL, params)
    feed = selectors.signals_feed(platform=None, topic="t7", trending=None, since=None, until=None)
    feed_plan = feed.explain()
    for plan in (aggregate, top, feed_plan):
        assert "signal_topics_topic_time_cov" in plan, plan
        assert "signals_topics_gin" not in plan, plan


@pytest.mark.django_db
def test_a_redis_outage_degrades_to_uncached_answers(api, settings):
    series("first", "reddit", hours_ago=1, count=5)
    settings.REDIS_CACHE_URL = "redis://127.0.0.1:1/1"  # nothing listens there: connection refused
    settings.API_THROTTLE_USER_RATE = "1/hour"
    for _ in range(2):  # neither the cache nor the throttle can answer: served, uncached, not throttled
        response = api.get("/api/v1/trending/")
        assert response.status_code == 200
        assert response["X-Cache"] == "MISS"
        assert topics_of(response) == ["first"]
