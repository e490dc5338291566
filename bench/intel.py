"""Intelligence jobs on a synthetic day of signals: aggregation (full and incremental), divergence, summaries.

Everything runs inside one transaction that is rolled back at the end, so the database the
settings point at is left exactly as it was (watermark included).
"""

import tempfile
import time
from pathlib import Path

from django.db import connection, transaction
from django.test import override_settings

from apps.intel import services

PLATFORMS = ["reddit", "bluesky", "hackernews", "youtube"]


def _insert(cursor, *, start: int, count: int, topics: int, minutes_ago: int, written_ago: str) -> None:
    cursor.execute(
        """
        INSERT INTO signals (id, platform, source_id, title, body, url, author, community, published_at,
                             raw_score, comment_count, extra, schema_version, is_comment, language,
                             sentiment_compound, topics, velocity, trending_score, is_trending,
                             first_seen_at, last_updated_at)
        SELECT (ARRAY['reddit','bluesky','hackernews','youtube'])[1 + mod(i, 4)] || ':bench' || i,
               (ARRAY['reddit','bluesky','hackernews','youtube'])[1 + mod(i, 4)], 'bench' || i,
               'Bench title ' || i, 'Bench body about topic ' || mod(i / 4, %(topics)s), '', 'a' || mod(i, 97), '',
               now() - (mod(i, %(minutes)s) || ' minutes')::interval, mod(i, 50), 0, '{}', 1, false, 'en',
               -- per-platform mood so divergence has something to find
               least(1, greatest(-1, (ARRAY[-0.1, 0.2, 0.05, -0.7])[1 + mod(i, 4)]
                                     + (mod(i::bigint * 7919, 100) - 50) / 250.0)),
               jsonb_build_array('bench-topic-' || mod(i / 4, %(topics)s)), 0, mod(i, 13)::float, false,
               now() - %(written_ago)s::interval, now() - %(written_ago)s::interval
        FROM generate_series(%(start)s, %(end)s) AS i
        """,
        {
            "start": start,
            "end": start + count - 1,
            "topics": topics,
            "minutes": minutes_ago,
            "written_ago": written_ago,
        },
    )
    cursor.execute(
        """
        INSERT INTO signal_topics (topic, published_at, signal_id, platform, sentiment, is_comment)
        SELECT 'bench-topic-' || mod(split_part(s.id, 'bench', 2)::int / 4, %(topics)s), s.published_at, s.id,
               s.platform, s.sentiment_compound, false
        FROM signals s
        WHERE s.id LIKE '%%:bench%%' AND split_part(s.id, 'bench', 2)::int BETWEEN %(start)s AND %(end)s
        """,
        {"start": start, "end": start + count - 1, "topics": topics},
    )


def _timed(work) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return round(time.perf_counter() - started, 3), result


def run(quick: bool) -> dict:
    signals = 20_000 if quick else 200_000
    topics = 200 if quick else 1_000
    results: dict = {"signals": signals, "topics": topics}
    with transaction.atomic():
        with connection.cursor() as cursor:
            started = time.perf_counter()
            # Written an hour ago: the steady state, where the lag window holds only recent writes.
            _insert(cursor, start=1, count=signals, topics=topics, minutes_ago=1440, written_ago="1 hour")
            results["seed_s"] = round(time.perf_counter() - started, 2)
            cursor.execute("ANALYZE signals")
            cursor.execute("ANALYZE signal_topics")
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM job_watermarks WHERE name = %s", [services.AGGREGATE_JOB])
        seconds, outcome = _timed(services.topics_aggregate)
        results["aggregate_full_s"] = seconds
        results["buckets"] = outcome["buckets_upserted"]
        seconds, outcome = _timed(services.topics_aggregate)
        results["aggregate_rerun_nothing_new_s"] = seconds
        with connection.cursor() as cursor:
            _insert(cursor, start=signals + 1, count=1_000, topics=topics, minutes_ago=30, written_ago="0 seconds")
        seconds, outcome = _timed(services.topics_aggregate)
        results["aggregate_incremental_1000_s"] = seconds
        results["incremental_buckets"] = outcome["buckets_upserted"]
        seconds, outcome = _timed(services.divergences_detect)
        results["divergence_s"] = seconds
        results["divergence"] = outcome
        seconds, outcome = _timed(services.topics_summarise)
        results["summaries_extractive_s"] = seconds
        results["summaries"] = outcome

        archived = 5_000 if quick else 50_000
        with connection.cursor() as cursor:
            _insert(cursor, start=10_000_000, count=archived, topics=topics, minutes_ago=1440, written_ago="1 hour")
            cursor.execute(
                "UPDATE signals SET published_at = published_at - interval '120 days' WHERE id LIKE %s AND "
                "split_part(id, 'bench', 2)::int >= 10000000",
                ["%:bench%"],
            )
        with tempfile.TemporaryDirectory() as directory, override_settings(SIGNALFLOW_ARCHIVE_DIR=directory):
            seconds, outcome = _timed(lambda: services.signals_archive(older_than_days=90))
            size = sum(path.stat().st_size for path in Path(directory).rglob("*.parquet"))
        results["archive_rows"] = outcome["archived"]
        results["archive_s"] = seconds
        results["archive_rows_per_s"] = round(outcome["archived"] / seconds)
        results["archive_bytes_per_row"] = round(size / max(outcome["archived"], 1), 1)
        transaction.set_rollback(True)
    return results
