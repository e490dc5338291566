"""Reads behind the REST endpoints. Per-topic reads go through signal_topics' covering index
(topic, published_at DESC) INCLUDE (platform, sentiment, is_comment, signal_id), never the GIN
index on signals.topics; time series come from topic_timeseries (15-minute buckets).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connections, router
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.api.params import WINDOWS
from apps.intel.models import PlatformDivergence, TopicSummary, TopicTimeseries
from apps.nlp.models import DeadLetter, Signal, SignalTopic

SPARKLINE_DAYS = 7
TOP_SIGNALS_PER_PLATFORM = 3
LEADERBOARD_SIZE = 10
# Severity of a divergence from its sentiment gap on [-1, 1] (so the gap lies in [0, 2]).
SEVERITY_THRESHOLDS = (("critical", 1.0), ("high", 0.6), ("medium", 0.35))
SUMMARY_FIELDS = (
    "summary",
    "dominant_narrative",
    "emerging_angle",
    "divergence_explanation",
    "source_platform",
    "provider",
    "model",
    "signal_count",
)


def _rows(model: type, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Raw SQL on the database the router picks for reading `model` (the replica when configured)."""
    with connections[router.db_for_read(model)].cursor() as cursor:
        cursor.execute(sql, params)
        columns = [c.name for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def severity_for_gap(gap: float) -> str:
    for name, threshold in SEVERITY_THRESHOLDS:
        if gap >= threshold:
            return name
    return "low"


# --- trending ---------------------------------------------------------------------------------

# Per (topic, platform) first, so both levels hash-aggregate; DISTINCT aggregates over the raw
# buckets would sort the whole window (measured 2x slower at 1 M signals).
TRENDING_SQL = """
WITH per_platform AS (
    SELECT topic, platform,
           sum(signal_count) AS signal_count, sum(sentiment_sum) AS sentiment_sum,
           sum(sentiment_count) AS sentiment_count, max(max_trending) AS max_trending
    FROM topic_timeseries
    WHERE bucket >= %(since)s AND bucket <= %(now)s {platform_filter}
    GROUP BY topic, platform
), cur AS (
    SELECT topic,
           sum(signal_count)::bigint                           AS signal_count,
           count(*)                                            AS platform_count,
           array_agg(platform ORDER BY platform)               AS platforms,
           sum(sentiment_sum) / NULLIF(sum(sentiment_count), 0) AS avg_sentiment,
           max(max_trending)                                   AS max_trending_score
    FROM per_platform
    GROUP BY topic
), prev AS (
    SELECT topic, sum(signal_count) AS signal_count
    FROM topic_timeseries
    WHERE bucket >= %(prev_since)s AND bucket < %(since)s {platform_filter}
    GROUP BY topic
)
SELECT cur.*, COALESCE(prev.signal_count, 0) AS previous_count
FROM cur LEFT JOIN prev USING (topic)
ORDER BY (cur.signal_count - COALESCE(prev.signal_count, 0)) DESC, cur.signal_count DESC, cur.topic
LIMIT %(limit)s
"""

SPARKLINE_SQL = """
SELECT topic,
       floor(extract(epoch FROM (%(now)s - bucket)) / 86400)::int AS days_ago,
       sum(signal_count) AS signal_count
FROM topic_timeseries
WHERE topic = ANY(%(topics)s) AND bucket > %(now)s - interval '7 days' AND bucket <= %(now)s {platform_filter}
GROUP BY 1, 2
"""


def trending_topics(*, window: str, platform: str | None, limit: int) -> list[dict[str, Any]]:
    """Topics ranked by velocity: the change in mentions per hour against the window before.

    sparkline_7d holds the mentions of each of the last 7 days (rolling 24 h slots, oldest
    first), on the same platform filter.
    """
    now = timezone.now()
    span = WINDOWS[window]
    hours = span.total_seconds() / 3600
    params = {"now": now, "since": now - span, "prev_since": now - 2 * span, "limit": limit, "platform": platform}
    platform_filter = "AND platform = %(platform)s" if platform else ""
    rows = _rows(TopicTimeseries, TRENDING_SQL.format(platform_filter=platform_filter), params)
    topics = [row["topic"] for row in rows]
    sparks: dict[str, list[int]] = {topic: [0] * SPARKLINE_DAYS for topic in topics}
    if topics:
        spark_rows = _rows(
            TopicTimeseries,
            SPARKLINE_SQL.format(platform_filter=platform_filter),
            {"now": now, "topics": topics, "platform": platform},
        )
        for row in spark_rows:
            days_ago = row["days_ago"]
            if 0 <= days_ago < SPARKLINE_DAYS:
                sparks[row["topic"]][SPARKLINE_DAYS - 1 - days_ago] = int(row["signal_count"])
    result = []
    for rank, row in enumerate(rows, start=1):
        rate = row["signal_count"] / hours
        previous_rate = row["previous_count"] / hours
        result.append(
            {
                "rank": rank,
                "topic": row["topic"],
                "velocity": round(rate - previous_rate, 3),
                "mentions_per_hour": round(rate, 3),
                "previous_mentions_per_hour": round(previous_rate, 3),
                "signal_count": int(row["signal_count"]),
                "platform_count": row["platform_count"],
                "platforms": list(row["platforms"]),
                "avg_sentiment": _round(row["avg_sentiment"]),
                "max_trending_score": _round(row["max_trending_score"]),
                "sparkline_7d": sparks[row["topic"]],
            }
        )
    return result


# --- pulse ------------------------------------------------------------------------------------

PULSE_AGGREGATE_SQL = """
SELECT platform, is_comment, count(*) AS signal_count, count(sentiment) AS scored, avg(sentiment) AS avg_sentiment
FROM signal_topics
WHERE topic = %(topic)s AND published_at > %(since)s
GROUP BY platform, is_comment
"""

# Top signals per platform by trending score, then engagement; the candidates come from the
# covering index (topic, time) and are joined to signals by primary key.
PULSE_TOP_SQL = """
SELECT * FROM (
    SELECT s.id, s.platform, s.title, left(s.body, 280) AS body, s.url, s.author, s.community,
           s.published_at, s.raw_score, s.comment_count, s.sentiment_compound, s.sentiment_label,
           s.is_comment, s.trending_score, s.velocity,
           row_number() OVER (PARTITION BY st.platform
                              ORDER BY s.trending_score DESC, s.raw_score DESC, s.published_at DESC) AS position
    FROM signal_topics st
    JOIN signals s ON s.id = st.signal_id
    WHERE st.topic = %(topic)s AND st.published_at > %(since)s
) ranked
WHERE position <= %(top)s
ORDER BY platform, position
"""


def _sentiment_block(count: int, scored: int, total: float | None) -> dict[str, Any]:
    return {"signal_count": count, "scored_count": scored, "avg_sentiment": _round(total / scored if scored else None)}


def topic_summary(*, topic: str) -> dict[str, Any] | None:
    """The intelligence fields of a topic: apps.intel's selector when present, else its table."""
    try:
        from apps.intel.selectors import summary_for_topic  # type: ignore[attr-defined]
    except ImportError:
        summary_for_topic = None
    if summary_for_topic is not None:
        return summary_for_topic(topic=topic)
    row = TopicSummary.objects.filter(topic=topic).order_by("-updated_at").first()
    if row is None:
        return None
    data = {name: getattr(row, name) for name in SUMMARY_FIELDS}
    data.update({"window": row.window, "updated_at": row.updated_at.isoformat()})
    return data


def _divergence_dict(row: PlatformDivergence | dict[str, Any]) -> dict[str, Any]:
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    gap = float(get("gap"))
    detected = get("detected_at")
    resolved = get("resolved_at")
    return {
        "id": get("id"),
        "topic": get("topic"),
        "platform_a": get("platform_a"),
        "platform_b": get("platform_b"),
        "sentiment_a": _round(get("sentiment_a")),
        "sentiment_b": _round(get("sentiment_b")),
        "count_a": get("count_a"),
        "count_b": get("count_b"),
        "gap": _round(gap),
        "p_value": get("p_value"),
        "severity": severity_for_gap(gap),
        "origin_platform": get("origin_platform") or None,
        "lag_seconds": get("lag_seconds"),
        "status": get("status"),
        "detected_at": detected.isoformat() if detected else None,
        "resolved_at": resolved.isoformat() if resolved else None,
    }


def topic_pulse(*, topic: str, window: str) -> dict[str, Any]:
    now = timezone.now()
    since = now - WINDOWS[window]
    params = {"topic": topic, "since": since, "top": TOP_SIGNALS_PER_PLATFORM}
    aggregate = _rows(SignalTopic, PULSE_AGGREGATE_SQL, params)
    platforms: dict[str, dict[str, Any]] = {}
    kinds = {False: [0, 0, 0.0], True: [0, 0, 0.0]}  # count, scored, sentiment total
    for row in aggregate:
        entry = platforms.setdefault(row["platform"], {"by_kind": {False: [0, 0, 0.0], True: [0, 0, 0.0]}})
        total = (row["avg_sentiment"] or 0.0) * row["scored"]
        for bucket in (entry["by_kind"][row["is_comment"]], kinds[row["is_comment"]]):
            bucket[0] += row["signal_count"]
            bucket[1] += row["scored"]
            bucket[2] += total
    top = _rows(Signal, PULSE_TOP_SQL, params) if platforms else []
    tops: dict[str, list[dict[str, Any]]] = {}
    for row in top:
        row.pop("position")
        row["published_at"] = row["published_at"].isoformat()
        row["sentiment_compound"] = _round(row["sentiment_compound"])
        row["trending_score"] = _round(row["trending_score"])
        row["velocity"] = _round(row["velocity"])
        tops.setdefault(row["platform"], []).append(row)

    per_platform = []
    for name in sorted(platforms):
        posts, comments = platforms[name]["by_kind"][False], platforms[name]["by_kind"][True]
        count, scored, total = (posts[i] + comments[i] for i in range(3))
        per_platform.append(
            {
                "platform": name,
                **_sentiment_block(count, scored, total),
                "posts": _sentiment_block(*posts),
                "comments": _sentiment_block(*comments),
                "top_signals": tops.get(name, []),
            }
        )
    posts_block, comments_block = _sentiment_block(*kinds[False]), _sentiment_block(*kinds[True])
    gap = (
        _round(abs(posts_block["avg_sentiment"] - comments_block["avg_sentiment"]))
        if posts_block["avg_sentiment"] is not None and comments_block["avg_sentiment"] is not None
        else None
    )
    divergences = PlatformDivergence.objects.filter(topic=topic, status=PlatformDivergence.Status.OPEN).order_by(
        "-gap"
    )[:LEADERBOARD_SIZE]
    total_count = sum(entry["signal_count"] for entry in per_platform)
    return {
        "topic": topic,
        "window": window,
        "generated_at": now.isoformat(),
        "signal_count": total_count,
        "platforms": per_platform,
        "posts_vs_comments": {"posts": posts_block, "comments": comments_block, "gap": gap},
        "divergence": [_divergence_dict(d) for d in divergences],
        "intelligence": topic_summary(topic=topic),
    }


# --- divergence -------------------------------------------------------------------------------

LEADERBOARD_SQL = """
SELECT * FROM (
    SELECT DISTINCT ON (topic) *
    FROM platform_divergence
    WHERE status = 'open'
    ORDER BY topic, gap DESC, detected_at DESC
) widest
ORDER BY gap DESC, detected_at DESC
LIMIT %(limit)s
"""


def divergence_leaderboard(*, limit: int = LEADERBOARD_SIZE) -> list[dict[str, Any]]:
    """The widest open dispute of each topic (DISTINCT ON topic), widest first."""
    rows = _rows(PlatformDivergence, LEADERBOARD_SQL, {"limit": limit})
    return [{"rank": rank, **_divergence_dict(row)} for rank, row in enumerate(rows, start=1)]


def divergence_compare(
    *,
    topic: str | None,
    platform_a: str | None,
    platform_b: str | None,
    status: str,
    since: datetime | None,
    limit: int,
) -> dict[str, Any]:
    """Divergence events filtered by topic and platform pair (either order), grouped by pair."""
    events = PlatformDivergence.objects.all()
    if topic:
        events = events.filter(topic=topic)
    if platform_a and platform_b:
        events = events.filter(
            Q(platform_a=platform_a, platform_b=platform_b) | Q(platform_a=platform_b, platform_b=platform_a)
        )
    elif platform_a or platform_b:
        one = platform_a or platform_b
        events = events.filter(Q(platform_a=one) | Q(platform_b=one))
    if status != "all":
        events = events.filter(status=status)
    if since:
        events = events.filter(detected_at__gte=since)
    listed = [_divergence_dict(e) for e in events.order_by("-detected_at", "-id")[:limit]]
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    for event in listed:
        key = tuple(sorted((event["platform_a"], event["platform_b"])))
        pair = pairs.setdefault(
            key, {"platforms": list(key), "event_count": 0, "open_count": 0, "max_gap": 0.0, "topics": []}
        )
        pair["event_count"] += 1
        pair["open_count"] += event["status"] == PlatformDivergence.Status.OPEN
        pair["max_gap"] = max(pair["max_gap"], event["gap"])
        if event["topic"] not in pair["topics"]:
            pair["topics"].append(event["topic"])
    return {
        "filters": {
            "topic": topic,
            "platform_a": platform_a,
            "platform_b": platform_b,
            "status": status,
            "since": since.isoformat() if since else None,
        },
        "pairs": sorted(pairs.values(), key=lambda p: -p["max_gap"]),
        "events": listed,
    }


# --- signals feed, totals, dead letters --------------------------------------------------------

FEED_FIELDS = (
    "id",
    "platform",
    "source_id",
    "title",
    "body",
    "url",
    "author",
    "community",
    "published_at",
    "raw_score",
    "comment_count",
    "is_comment",
    "language",
    "sentiment_compound",
    "sentiment_label",
    "sentiment_model",
    "topics",
    "velocity",
    "trending_score",
    "is_trending",
)


def signals_feed(
    *,
    platform: str | None,
    topic: str | None,
    trending: bool | None,
    since: datetime | None,
    until: datetime | None,
) -> QuerySet[Signal]:
    """The raw feed, newest first; a topic filter is a semi-join on signal_topics' covering index."""
    signals = Signal.objects.only(*FEED_FIELDS)
    if topic:
        rows = SignalTopic.objects.filter(topic=topic)
        if since:
            rows = rows.filter(published_at__gte=since)
        if until:
            rows = rows.filter(published_at__lt=until)
        signals = signals.filter(id__in=rows.values("signal_id"))
    if platform:
        signals = signals.filter(platform=platform)
    if trending is not None:
        signals = signals.filter(is_trending=trending)
    if since:
        signals = signals.filter(published_at__gte=since)
    if until:
        signals = signals.filter(published_at__lt=until)
    return signals


TOTALS_SQL = """
SELECT platform, count(*) AS all_time, count(*) FILTER (WHERE published_at > %(since)s) AS last_24h
FROM signals GROUP BY platform
"""


def signal_totals() -> dict[str, Any]:
    now = timezone.now()
    rows = {row["platform"]: row for row in _rows(Signal, TOTALS_SQL, {"since": now - timedelta(hours=24)})}
    from apps.api.params import PLATFORMS

    platforms = {
        name: {"all_time": rows.get(name, {}).get("all_time", 0), "last_24h": rows.get(name, {}).get("last_24h", 0)}
        for name in PLATFORMS
    }
    return {
        "generated_at": now.isoformat(),
        "platforms": platforms,
        "total": {
            "all_time": sum(p["all_time"] for p in platforms.values()),
            "last_24h": sum(p["last_24h"] for p in platforms.values()),
        },
    }


def dead_letters(*, topic: str | None, replayed: bool | None) -> QuerySet[DeadLetter]:
    letters = DeadLetter.objects.all()
    if topic:
        letters = letters.filter(topic=topic)
    if replayed is not None:
        letters = letters.filter(replayed_at__isnull=not replayed)
    return letters


def dead_letter_get(*, dead_letter_id: int) -> DeadLetter | None:
    return DeadLetter.objects.filter(pk=dead_letter_id).first()
