"""Reads of apps/intel: per-topic statistics for the jobs, and summaries for the API.

Per-topic reads go through signal_topics' covering index (topic, published_at) rather than
the GIN index on signals.topics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection

from apps.intel.models import PlatformDivergence, TopicSummary

PLATFORM_DISPLAY = {"reddit": "Reddit", "bluesky": "Bluesky", "hackernews": "Hacker News", "youtube": "YouTube"}
ATTRIBUTION_SEPARATOR = " · "
# Any "<Platform>-dominant · " prefix, however many times an earlier bug or an LLM repeated it.
_ATTRIBUTION_RE = re.compile(
    r"^(?:\s*(?:" + "|".join(re.escape(name) for name in PLATFORM_DISPLAY.values()) + r")-dominant\s*·\s*)+",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PlatformStats:
    topic: str
    platform: str
    count: int  # signals with a sentiment
    mean: float | None
    stddev: float | None
    first_at: datetime
    total: int  # all signals, scored or not


def platform_stats_list(*, since: datetime, min_count: int = 1, topics: list[str] | None = None) -> list[PlatformStats]:
    """Sentiment mean, sample standard deviation and first mention per (topic, platform) since `since`."""
    topic_filter = "AND topic = ANY(%(topics)s)" if topics is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT topic, platform, count(sentiment), avg(sentiment), stddev_samp(sentiment),
                   min(published_at), count(*)
            FROM signal_topics
            WHERE published_at > %(since)s {topic_filter}
            GROUP BY topic, platform
            HAVING count(sentiment) >= %(min_count)s
            ORDER BY topic, platform
            """,  # noqa: S608 - the only interpolation is a fixed clause
            {"since": since, "min_count": min_count, "topics": topics},
        )
        return [
            PlatformStats(
                topic=topic,
                platform=platform,
                count=count,
                mean=None if mean is None else float(mean),
                stddev=None if stddev is None else float(stddev),
                first_at=first_at,
                total=total,
            )
            for topic, platform, count, mean, stddev, first_at, total in cursor.fetchall()
        ]


def divergences_open_list() -> list[PlatformDivergence]:
    return list(PlatformDivergence.objects.filter(status=PlatformDivergence.Status.OPEN).order_by("topic", "id"))


def topics_for_summary_list(*, since: datetime, min_signals: int, limit: int) -> list[tuple[str, int]]:
    """Topics with at least `min_signals` signals since `since`, busiest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT topic, count(*) AS n FROM signal_topics
            WHERE published_at > %s
            GROUP BY topic HAVING count(*) >= %s
            ORDER BY n DESC, topic LIMIT %s
            """,
            [since, min_signals, limit],
        )
        return [(topic, count) for topic, count in cursor.fetchall()]


def topic_samples_list(*, topic: str, since: datetime, per_platform: int) -> list[dict[str, Any]]:
    """The most representative signals of a topic on every platform: top trending, then score, then newest."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT platform, title, body, sentiment, trending_score, raw_score, published_at FROM (
                SELECT st.platform, s.title, s.body, st.sentiment, s.trending_score, s.raw_score, st.published_at,
                       row_number() OVER (PARTITION BY st.platform
                                          ORDER BY s.trending_score DESC, s.raw_score DESC, st.published_at DESC,
                                                   s.id) AS rank
                FROM signal_topics st JOIN signals s ON s.id = st.signal_id
                WHERE st.topic = %s AND st.published_at > %s
            ) ranked
            WHERE rank <= %s
            ORDER BY platform, rank
            """,
            [topic, since, per_platform],
        )
        columns = ["platform", "title", "body", "sentiment", "trending_score", "raw_score", "published_at"]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def narrative_attributed(narrative: str, platform: str) -> str:
    """`narrative` with exactly one "<Platform>-dominant · " prefix (none when the platform is unknown).

    Idempotent: an already attributed narrative keeps its one prefix, so the write-time
    attribution and the read-time fallback can never stack.
    """
    bare = _ATTRIBUTION_RE.sub("", narrative or "").strip()
    display = PLATFORM_DISPLAY.get(platform)
    if not display or not bare:
        return bare
    return f"{display}-dominant{ATTRIBUTION_SEPARATOR}{bare}"


def summary_for_topic(*, topic: str, window: str | None = None) -> dict[str, Any] | None:
    """The stored summary of `topic` for the API, or None. Rows written before attribution get it here."""
    row = TopicSummary.objects.filter(topic=topic, window=window or settings.SIGNALFLOW_SUMMARY_WINDOW).first()
    if row is None:
        return None
    return {
        "topic": row.topic,
        "window": row.window,
        "summary": row.summary,
        "dominant_narrative": narrative_attributed(row.dominant_narrative, row.source_platform),
        "emerging_angle": row.emerging_angle,
        "divergence_explanation": row.divergence_explanation,
        "source_platform": row.source_platform,
        "provider": row.provider,
        "model": row.model,
        "signal_count": row.signal_count,
        "prompt_tokens": row.prompt_tokens,
        "completion_tokens": row.completion_tokens,
        "latency_ms": row.latency_ms,
        "updated_at": row.updated_at.isoformat(),
    }
