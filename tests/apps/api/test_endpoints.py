"""The shape and meaning of every REST endpoint, on rows written the way the pipeline and intel jobs write them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.intel.models import PlatformDivergence, TopicSummary, TopicTimeseries
from tests.support.factories import signal_create


def bucket_floor(moment):
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def series(topic, platform, *, hours_ago, count, sentiment=0.0, trending=1.0):
    """A topic_timeseries bucket `hours_ago` hours back with `count` signals."""
    bucket = bucket_floor(timezone.now() - timedelta(hours=hours_ago))
    row, _ = TopicTimeseries.objects.update_or_create(
        topic=topic,
        platform=platform,
        bucket=bucket,
        defaults={
            "signal_count": count,
            "sentiment_sum": sentiment * count,
            "sentiment_count": count,
            "max_trending": trending,
            "score_sum": count * 10,
        },
    )
    return row


def divergence(topic, a="reddit", b="youtube", *, gap, status="open", **fields):
    return PlatformDivergence.objects.create(
        topic=topic,
        platform_a=a,
        platform_b=b,
        sentiment_a=gap / 2,
        sentiment_b=-gap / 2,
        count_a=40,
        count_b=30,
        gap=gap,
        p_value=0.001,
        status=status,
        **fields,
    )


# --- trending ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_trending_ranks_by_velocity_with_a_7_day_sparkline(api):
    # "rising": 30 now vs 5 the window before; "steady": 50 now vs 50 before; "falling": 10 vs 40.
    series("rising", "reddit", hours_ago=2, count=20, sentiment=0.5, trending=4.0)
    series("rising", "bluesky", hours_ago=3, count=10, sentiment=-0.1)
    series("rising", "reddit", hours_ago=30, count=5)
    series("steady", "reddit", hours_ago=1, count=50)
    series("steady", "reddit", hours_ago=26, count=50)
    series("falling", "youtube", hours_ago=1, count=10)
    series("falling", "youtube", hours_ago=40, count=40)
    series("rising", "reddit", hours_ago=24 * 5 + 1, count=7)  # five days ago, for the sparkline

    response = api.get("/api/v1/trending/")
    assert response.status_code == 200
    body = response.json()
    assert (body["window"], body["platform"], body["limit"]) == ("24h", None, 20)
    topics = [item["topic"] for item in body["results"]]
    assert topics == ["rising", "steady", "falling"]
    rising = body["results"][0]
    assert rising["rank"] == 1
    assert rising["signal_count"] == 30
    assert rising["velocity"] == pytest.approx((30 - 5) / 24, abs=1e-3)
    assert rising["mentions_per_hour"] == pytest.approx(30 / 24, abs=1e-3)
    assert rising["platforms"] == ["bluesky", "reddit"]
    assert rising["platform_count"] == 2
    assert rising["avg_sentiment"] == pytest.approx((0.5 * 20 - 0.1 * 10) / 30, abs=1e-4)
    assert rising["max_trending_score"] == 4.0
    assert len(rising["sparkline_7d"]) == 7
    assert rising["sparkline_7d"][-1] == 30  # the last 24 h
    assert rising["sparkline_7d"][-2] == 5  # 24-48 h ago
    assert rising["sparkline_7d"][-6] == 7  # 5 days ago
    assert sum(rising["sparkline_7d"]) == 42


@pytest.mark.django_db
def test_trending_filters_by_platform_window_and_limit(api):
    series("a", "reddit", hours_ago=0.5, count=9)
    series("b", "youtube", hours_ago=0.5, count=5)
    series("c", "reddit", hours_ago=3, count=50)
    one_hour = api.get("/api/v1/trending/", {"window": "1h"}).json()["results"]
    assert [item["topic"] for item in one_hour] == ["a", "b"]
    reddit = api.get("/api/v1/trending/", {"platform": "reddit"}).json()["results"]
    assert [item["topic"] for item in reddit] == ["c", "a"]
    assert all(item["platforms"] == ["reddit"] for item in reddit)
    assert len(api.get("/api/v1/trending/", {"limit": 1}).json()["results"]) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"window": "2d"}, "window"),
        ({"platform": "myspace"}, "platform"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_trending_rejects_bad_parameters_naming_them(api, query, parameter):
    response = api.get("/api/v1/trending/", query)
    assert response.status_code == 400
    assert response.json()["parameter"] == parameter
    assert response.json()["detail"].startswith(f"{parameter}: ")


# --- pulse ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_pulse_of_a_topic(api):
    for n in range(4):
        signal_create(platform="reddit", topics=["iran"], sentiment=-0.1, trending_score=float(n), raw_score=n)
    for _ in range(3):
        signal_create(platform="reddit", topics=["iran"], sentiment=-0.5, is_comment=True, trending_score=0.5)
    signal_create(platform="youtube", topics=["iran", "oil"], sentiment=-0.4, is_comment=True, trending_score=9.0)
    signal_create(platform="hackernews", topics=["iran"], sentiment=None)
    signal_create(platform="reddit", topics=["iran"], sentiment=0.9, published_at=timezone.now() - timedelta(days=3))
    signal_create(platform="reddit", topics=["gaza"], sentiment=0.9)
    divergence("iran", gap=0.7)
    divergence("iran", "bluesky", "reddit", gap=0.2, status="resolved")
    TopicSummary.objects.create(
        topic="iran", window="24h", summary="Talk of sanctions.", dominant_narrative="sanctions", provider="fake"
    )

    response = api.get("/api/v1/pulse/", {"topic": " Iran "})  # topics are canonical lower case
    assert response.status_code == 200
    body = response.json()
    assert body["topic"] == "iran"
    assert body["window"] == "24h"
    assert body["signal_count"] == 9  # the 3-day-old one is outside the window
    platforms = {entry["platform"]: entry for entry in body["platforms"]}
    assert set(platforms) == {"reddit", "youtube", "hackernews"}
    reddit = platforms["reddit"]
    assert reddit["signal_count"] == 7
    assert reddit["avg_sentiment"] == pytest.approx((4 * -0.1 + 3 * -0.5) / 7, abs=1e-4)
    assert reddit["posts"] == {"signal_count": 4, "scored_count": 4, "avg_sentiment": -0.1}
    assert reddit["comments"]["avg_sentiment"] == pytest.approx(-0.5)
    assert [s["trending_score"] for s in reddit["top_signals"]] == [3.0, 2.0, 1.0]
    assert len(platforms["youtube"]["top_signals"]) == 1
    assert platforms["hackernews"]["avg_sentiment"] is None
    assert platforms["hackernews"]["scored_count"] == 0
    top = reddit["top_signals"][0]
    assert {"id", "platform", "title", "url", "published_at", "sentiment_compound", "trending_score"} <= set(top)
    posts_vs_comments = body["posts_vs_comments"]
    assert posts_vs_comments["posts"]["avg_sentiment"] == pytest.approx(-0.1)
    assert posts_vs_comments["comments"]["avg_sentiment"] == pytest.approx((3 * -0.5 - 0.4) / 4, abs=1e-4)
    assert posts_vs_comments["gap"] == pytest.approx(0.375, abs=1e-3)
    assert [d["gap"] for d in body["divergence"]] == [0.7]
    assert body["divergence"][0]["severity"] == "high"
    assert body["intelligence"]["summary"] == "Talk of sanctions."
    assert body["intelligence"]["dominant_narrative"].startswith("sanctions")


@pytest.mark.django_db
def test_pulse_of_an_unknown_topic_is_empty_not_an_error(api):
    body = api.get("/api/v1/pulse/", {"topic": "nothing-here", "window": "1h"}).json()
    assert body["signal_count"] == 0
    assert body["platforms"] == []
    assert body["intelligence"] is None


@pytest.mark.django_db
def test_pulse_needs_a_valid_topic(api):
    for query, parameter in (({}, "topic"), ({"topic": "x" * 101}, "topic"), ({"topic": "a", "window": "x"}, "window")):
        response = api.get("/api/v1/pulse/", query)
        assert response.status_code == 400
        assert response.json()["parameter"] == parameter


# --- divergence -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_leaderboard_is_one_row_per_topic_top_10(api):
    divergence("iran", gap=0.5)
    divergence("iran", "bluesky", "hackernews", gap=0.9)
    divergence("gaza", gap=1.2)
    divergence("oil", gap=1.9, status="resolved")
    for n in range(10):
        divergence(f"t{n}", gap=0.1 + n / 100)
    body = api.get("/api/v1/divergence/leaderboard/").json()
    results = body["results"]
    assert len(results) == 10
    assert [r["topic"] for r in results[:2]] == ["gaza", "iran"]
    assert results[1]["platform_a"] == "bluesky"  # the widest of iran's two
    assert results[0]["severity"] == "critical"
    assert results[1]["severity"] == "high"
    assert results[-1]["severity"] == "low"
    assert len({r["topic"] for r in results}) == 10
    assert [r["rank"] for r in results] == list(range(1, 11))
    assert api.get("/api/v1/divergence/leaderboard/", {"x": 1}).status_code == 400


@pytest.mark.django_db
def test_compare_by_topic_and_platform_pair(api):
    divergence("iran", "reddit", "youtube", gap=0.5)
    divergence("iran", "youtube", "reddit", gap=0.3, status="resolved")
    divergence("iran", "bluesky", "reddit", gap=0.4)
    divergence("gaza", "reddit", "youtube", gap=0.8)
    body = api.get("/api/v1/compare/", {"topic": "iran", "platform_a": "youtube", "platform_b": "reddit"}).json()
    assert {e["gap"] for e in body["events"]} == {0.5, 0.3}
    (pair,) = body["pairs"]
    assert pair["platforms"] == ["reddit", "youtube"]
    assert (pair["event_count"], pair["open_count"], pair["max_gap"]) == (2, 1, 0.5)
    open_iran = api.get("/api/v1/compare/", {"topic": "iran", "status": "open"}).json()
    assert len(open_iran["events"]) == 2
    assert len(open_iran["pairs"]) == 2
    everything = api.get("/api/v1/compare/").json()
    assert len(everything["events"]) == 4
    same = api.get("/api/v1/compare/", {"platform_a": "reddit", "platform_b": "reddit"})
    assert same.status_code == 400
    assert same.json()["parameter"] == "platform_b"
    assert api.get("/api/v1/compare/", {"since": "yesterday"}).json()["parameter"] == "since"


# --- signals ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_signals_feed_is_cursor_paginated_newest_first(api):
    now = timezone.now()
    made = [
        signal_create(platform="reddit", topics=["iran"], published_at=now - timedelta(minutes=n)) for n in range(7)
    ]
    seen, url, pages = [], "/api/v1/signals/?limit=3", 0
    while url:
        page = api.get(url).json()
        assert set(page) == {"next", "previous", "results"}
        seen += [item["id"] for item in page["results"]]
        url, pages = page["next"], pages + 1
    assert seen == [s.id for s in made]
    assert pages == 3
    first = api.get("/api/v1/signals/", {"limit": 1}).json()["results"][0]
    assert {"id", "platform", "title", "body", "topics", "sentiment_compound", "is_trending", "published_at"} <= set(
        first
    )


@pytest.mark.django_db
def test_signals_feed_filters(api):
    now = timezone.now()
    a = signal_create(platform="reddit", topics=["iran"], published_at=now - timedelta(hours=1))
    b = signal_create(
        platform="youtube", topics=["iran", "oil"], is_trending=True, published_at=now - timedelta(hours=2)
    )
    c = signal_create(platform="youtube", topics=["oil"], published_at=now - timedelta(hours=30))

    def ids(**query):
        response = api.get("/api/v1/signals/", query)
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["results"]]

    assert ids(platform="youtube") == [b.id, c.id]
    assert ids(topic="iran") == [a.id, b.id]
    assert ids(topic="oil", platform="youtube") == [b.id, c.id]
    assert ids(trending="true") == [b.id]
    assert ids(trending="false") == [a.id, c.id]
    assert ids(since=(now - timedelta(hours=3)).isoformat()) == [a.id, b.id]
    assert ids(until=(now - timedelta(hours=1, minutes=30)).isoformat()) == [b.id, c.id]
    assert ids(topic="oil", since=(now - timedelta(hours=24)).isoformat()) == [b.id]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"since": "not-a-date"}, "since"),
        ({"until": "2026-13-45"}, "until"),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
        ({"trending": "maybe"}, "trending"),
        ({"limit": "500"}, "limit"),
        ({"cursor": "bogus"}, "cursor"),
        ({"platform": "friendster"}, "platform"),
    ],
)
def test_signals_feed_rejects_bad_parameters(api, query, parameter):
    response = api.get("/api/v1/signals/", query)
    assert response.status_code == 400
    assert response.json()["parameter"] == parameter


# --- totals -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_totals_per_platform_all_time_and_24h(api):
    signal_create(platform="reddit")
    signal_create(platform="reddit", published_at=timezone.now() - timedelta(days=2))
    signal_create(platform="bluesky")
    body = api.get("/api/v1/stats/totals/").json()
    assert body["platforms"]["reddit"] == {"all_time": 2, "last_24h": 1}
    assert body["platforms"]["bluesky"] == {"all_time": 1, "last_24h": 1}
    assert body["platforms"]["youtube"] == {"all_time": 0, "last_24h": 0}
    assert body["total"] == {"all_time": 3, "last_24h": 2}
