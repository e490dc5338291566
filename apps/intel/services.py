"""Writes of apps/intel: the periodic jobs' logic. Celery tasks in tasks.py only call these.

Every job runs under `job_run`, which takes a Redis lock (SET NX PX with a token, released
only by its holder) so that a second beat, a slow run overlapping the next tick, or a manual
`celery call` never runs the same job twice at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

import redis
from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from scipy import stats as scipy_stats

from apps.intel import llm, metrics, selectors
from apps.intel.models import ArchiveFile, JobWatermark, PlatformDivergence, TopicSummary
from signalflow.db_router import primary_reads
from signalflow.queues import Queue, queue_name

logger = logging.getLogger(__name__)

BUCKET = timedelta(minutes=15)
AGGREGATE_JOB = "aggregate_topics"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class JobLocked(Exception):
    """Another run of the same job holds its lock."""


# --- locking --------------------------------------------------------------------------------


def _lock_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_CELERY_URL, socket_timeout=5, socket_connect_timeout=5)


def job_lock_key(name: str) -> str:
    # The queue prefix keeps concurrent test runs (and tenants sharing a Redis) apart.
    return f"signalflow:{settings.SIGNALFLOW_QUEUE_PREFIX}intel:lock:{name}"


@contextmanager
def job_lock(*, name: str, ttl_s: float) -> Iterator[bool]:
    """Yield True when this caller holds the job's lock for up to `ttl_s`, False when another run does.

    redis-py's Lock is SET NX PX with a random token and a compare-and-delete release script, so
    a run whose lock expired can never release the lock a later run holds.
    """
    client = _lock_client()
    lock = client.lock(job_lock_key(name), timeout=ttl_s, blocking=False)
    acquired = lock.acquire()
    try:
        yield acquired
    finally:
        if acquired:
            try:
                lock.release()
            except redis.exceptions.LockError:
                logger.warning("lock of %s expired before the run ended (ttl %.0f s)", name, ttl_s)
        client.close()


def job_run(*, name: str, ttl_s: float, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run `work` under the job's lock with metrics; a locked job returns {"status": "locked"}."""
    with job_lock(name=name, ttl_s=ttl_s) as acquired:
        if not acquired:
            metrics.JOB_RUNS.labels(name, "locked").inc()
            logger.info("%s skipped: another run holds the lock", name)
            return {"job": name, "status": "locked"}
        started = time.monotonic()
        try:
            # Jobs act on the latest committed state (watermarks, manifests): never a lagging replica.
            with primary_reads():
                result = work()
        except Exception:
            metrics.JOB_RUNS.labels(name, "error").inc()
            raise
        finally:
            metrics.JOB_DURATION.labels(name).observe(time.monotonic() - started)
        metrics.JOB_RUNS.labels(name, "ok").inc()
        return {"job": name, "status": "ok", **result}


# --- aggregation ----------------------------------------------------------------------------

# Buckets touched by any signal written since `since` are recomputed from signal_topics in full
# and upserted as absolute values: re-runs, overlaps and restarts write the same numbers, and a
# late signal (old published_at, new write) lands in its own old bucket.
_AGGREGATE_SQL = """
WITH touched AS (
    SELECT DISTINCT st.topic, st.platform,
           date_bin('15 minutes', st.published_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket
    FROM signals s
    JOIN signal_topics st ON st.signal_id = s.id
    WHERE s.last_updated_at > %(since)s
)
INSERT INTO topic_timeseries AS ts
    (topic, platform, bucket, signal_count, sentiment_sum, sentiment_count, max_trending, score_sum)
SELECT t.topic, t.platform, t.bucket,
       count(*), coalesce(sum(st.sentiment), 0), count(st.sentiment),
       coalesce(max(s.trending_score), 0), coalesce(sum(s.raw_score), 0)
FROM touched t
JOIN signal_topics st ON st.topic = t.topic AND st.platform = t.platform
     AND st.published_at >= t.bucket AND st.published_at < t.bucket + interval '15 minutes'
JOIN signals s ON s.id = st.signal_id
GROUP BY t.topic, t.platform, t.bucket
ON CONFLICT (topic, platform, bucket) DO UPDATE SET
    signal_count = EXCLUDED.signal_count,
    sentiment_sum = EXCLUDED.sentiment_sum,
    sentiment_count = EXCLUDED.sentiment_count,
    max_trending = EXCLUDED.max_trending,
    score_sum = EXCLUDED.score_sum
WHERE (ts.signal_count, ts.sentiment_sum, ts.sentiment_count, ts.max_trending, ts.score_sum)
      IS DISTINCT FROM
      (EXCLUDED.signal_count, EXCLUDED.sentiment_sum, EXCLUDED.sentiment_count, EXCLUDED.max_trending,
       EXCLUDED.score_sum)
"""

# Serialises aggregations inside PostgreSQL too: the Redis lock keeps runs apart in the normal
# case, this keeps an older snapshot from overwriting a newer one if a lock ever expires mid-run.
_AGGREGATE_ADVISORY_KEY = 0x51F1A66


def alerts_evaluate_enqueue() -> None:
    """Ask the alerts engine to evaluate the fresh buckets (called after the aggregation commits)."""
    import celery_app  # noqa: F401 - makes the project's app current in any process (web, shell, tests)

    current_app.send_task("alerts.evaluate", queue=queue_name(Queue.DEFAULT))


def topics_aggregate() -> dict[str, Any]:
    """Recompute the (topic, platform, 15 min) buckets touched since the watermark minus the safety lag."""
    lag = timedelta(seconds=settings.SIGNALFLOW_AGGREGATE_LAG_S)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_AGGREGATE_ADVISORY_KEY])
        watermark = JobWatermark.objects.filter(name=AGGREGATE_JOB).values_list("value", flat=True).first()
        since = (watermark - lag) if watermark else EPOCH
        # Taken after the lock and before the snapshot the aggregate reads: a row stamped before it
        # and committed within `lag` after it is still read by the next run.
        cursor.execute("SELECT clock_timestamp()")
        run_started = cursor.fetchone()[0]
        cursor.execute(_AGGREGATE_SQL, {"since": since})
        upserted = cursor.rowcount
        JobWatermark.objects.update_or_create(name=AGGREGATE_JOB, defaults={"value": run_started})
        transaction.on_commit(alerts_evaluate_enqueue, robust=True)
    metrics.BUCKETS_UPSERTED.inc(max(upserted, 0))
    return {"buckets_upserted": upserted, "since": since.isoformat(), "watermark": run_started.isoformat()}


# --- divergence -----------------------------------------------------------------------------

_DIVERGENCE_UPSERT_SQL = """
INSERT INTO platform_divergence
    (topic, platform_a, platform_b, sentiment_a, sentiment_b, count_a, count_b, gap, p_value,
     origin_platform, lag_seconds, status, detected_at, updated_at)
VALUES (%(topic)s, %(platform_a)s, %(platform_b)s, %(sentiment_a)s, %(sentiment_b)s, %(count_a)s, %(count_b)s,
        %(gap)s, %(p_value)s, %(origin_platform)s, %(lag_seconds)s, 'open', now(), now())
ON CONFLICT (topic, platform_a, platform_b) WHERE status = 'open' DO UPDATE SET
    sentiment_a = EXCLUDED.sentiment_a, sentiment_b = EXCLUDED.sentiment_b,
    count_a = EXCLUDED.count_a, count_b = EXCLUDED.count_b,
    gap = EXCLUDED.gap, p_value = EXCLUDED.p_value, updated_at = now()
RETURNING (xmax = 0) AS inserted
"""


def welch_p_value(a: selectors.PlatformStats, b: selectors.PlatformStats) -> float:
    """Two-sided Welch's t-test p-value from the groups' mean, sample std and size.

    The same test as scipy.stats.ttest_ind(equal_var=False), from summary statistics so the
    database returns one row per (topic, platform) instead of every sentiment. NaN (both groups
    constant) counts as not significant.
    """
    result = scipy_stats.ttest_ind_from_stats(
        mean1=a.mean,
        std1=a.stddev or 0.0,
        nobs1=a.count,
        mean2=b.mean,
        std2=b.stddev or 0.0,
        nobs2=b.count,
        equal_var=False,
    )
    p_value = float(result.pvalue)
    return 1.0 if p_value != p_value else p_value


def divergences_detect() -> dict[str, int]:
    """Open, update and resolve divergence events over the lookback window.

    An event opens when both platforms have enough scored signals, the mean gap is at least
    MIN_GAP and Welch's p-value is below MAX_P; it stays open (its numbers refreshed) until the
    gap falls below RESOLVE_GAP — hysteresis, so an event does not flap around the threshold.
    """
    now = timezone.now()
    since = now - timedelta(seconds=settings.SIGNALFLOW_DIVERGENCE_LOOKBACK_S)
    min_signals = settings.SIGNALFLOW_DIVERGENCE_MIN_SIGNALS
    resolve_min = min(settings.SIGNALFLOW_DIVERGENCE_RESOLVE_MIN_SIGNALS, min_signals)
    rows = selectors.platform_stats_list(since=since, min_count=resolve_min)
    by_topic: dict[str, dict[str, selectors.PlatformStats]] = {}
    for row in rows:
        by_topic.setdefault(row.topic, {})[row.platform] = row

    counts = {"opened": 0, "updated": 0, "resolved": 0, "pairs_tested": 0}
    seen: set[tuple[str, str, str]] = set()
    with transaction.atomic(), connection.cursor() as cursor:
        for topic, platforms in by_topic.items():
            eligible = sorted(p for p, row in platforms.items() if row.count >= min_signals)
            for platform_a, platform_b in combinations(eligible, 2):
                a, b = platforms[platform_a], platforms[platform_b]
                counts["pairs_tested"] += 1
                gap = abs(a.mean - b.mean)
                if gap < settings.SIGNALFLOW_DIVERGENCE_MIN_GAP:
                    continue
                p_value = welch_p_value(a, b)
                if p_value >= settings.SIGNALFLOW_DIVERGENCE_MAX_P:
                    continue
                origin, later = (a, b) if a.first_at <= b.first_at else (b, a)
                cursor.execute(
                    _DIVERGENCE_UPSERT_SQL,
                    {
                        "topic": topic,
                        "platform_a": platform_a,
                        "platform_b": platform_b,
                        "sentiment_a": a.mean,
                        "sentiment_b": b.mean,
                        "count_a": a.count,
                        "count_b": b.count,
                        "gap": gap,
                        "p_value": p_value,
                        "origin_platform": origin.platform,
                        "lag_seconds": int((later.first_at - origin.first_at).total_seconds()),
                    },
                )
                inserted = cursor.fetchone()[0]
                counts["opened" if inserted else "updated"] += 1
                seen.add((topic, platform_a, platform_b))

        for event in selectors.divergences_open_list():
            if (event.topic, event.platform_a, event.platform_b) in seen:
                continue
            a = by_topic.get(event.topic, {}).get(event.platform_a)
            b = by_topic.get(event.topic, {}).get(event.platform_b)
            if a is None or b is None:
                continue  # too little data to say the gap closed: stays open, updated_at shows its age
            gap = abs(a.mean - b.mean)
            update: dict[str, Any] = {
                "sentiment_a": a.mean,
                "sentiment_b": b.mean,
                "count_a": a.count,
                "count_b": b.count,
                "gap": gap,
                "p_value": welch_p_value(a, b),
                "updated_at": now,
            }
            if gap < settings.SIGNALFLOW_DIVERGENCE_RESOLVE_GAP:
                update.update(status=PlatformDivergence.Status.RESOLVED, resolved_at=now)
                counts["resolved"] += 1
            else:
                counts["updated"] += 1
            PlatformDivergence.objects.filter(pk=event.pk, status=PlatformDivergence.Status.OPEN).update(**update)
    for action in ("opened", "updated", "resolved"):
        metrics.DIVERGENCE_EVENTS.labels(action).inc(counts[action])
    return counts


# --- summaries ------------------------------------------------------------------------------

_SUMMARY_UPDATE_FIELDS = [
    "summary",
    "dominant_narrative",
    "emerging_angle",
    "divergence_explanation",
    "source_platform",
    "provider",
    "model",
    "signal_count",
    "prompt_tokens",
    "completion_tokens",
    "latency_ms",
    "updated_at",
]


def summary_upsert(*, topic: str, window: str, signal_count: int, fields: dict[str, Any]) -> TopicSummary:
    """INSERT … ON CONFLICT (topic, window) DO UPDATE, with the narrative attributed once."""
    source = fields.get("source_platform") or ""
    row = TopicSummary(
        topic=topic[:100],
        window=window,
        summary=fields["summary"],
        dominant_narrative=selectors.narrative_attributed(fields.get("dominant_narrative", ""), source),
        emerging_angle=fields.get("emerging_angle", ""),
        divergence_explanation=fields.get("divergence_explanation", ""),
        source_platform=source,
        provider=fields.get("provider", ""),
        model=fields.get("model", ""),
        signal_count=signal_count,
        prompt_tokens=fields.get("prompt_tokens"),
        completion_tokens=fields.get("completion_tokens"),
        latency_ms=fields.get("latency_ms"),
    )
    TopicSummary.objects.bulk_create(
        [row], update_conflicts=True, unique_fields=["topic", "window"], update_fields=_SUMMARY_UPDATE_FIELDS
    )
    metrics.SUMMARIES_WRITTEN.labels(row.provider or "unknown").inc()
    return row


def _divergence_line(topic: str) -> str:
    events = PlatformDivergence.objects.filter(topic=topic, status=PlatformDivergence.Status.OPEN)
    return "; ".join(
        f"{e.platform_a} {e.sentiment_a:+.2f} vs {e.platform_b} {e.sentiment_b:+.2f} (p={e.p_value:.3g})"
        for e in events[:3]
    )


def topics_summarise() -> dict[str, Any]:
    """Summarise every topic above the volume threshold with the configured LLM, or extractively."""
    window = settings.SIGNALFLOW_SUMMARY_WINDOW
    since = timezone.now() - timedelta(seconds=settings.SIGNALFLOW_SUMMARY_WINDOW_S)
    topics = selectors.topics_for_summary_list(
        since=since, min_signals=settings.SIGNALFLOW_SUMMARY_MIN_SIGNALS, limit=settings.SIGNALFLOW_SUMMARY_MAX_TOPICS
    )
    if not topics:
        return {"topics": 0, "written": 0, "skipped": 0, "provider": llm.llm_provider_name()}
    names = [topic for topic, _ in topics]
    stats_by_topic: dict[str, list[selectors.PlatformStats]] = {}
    for row in selectors.platform_stats_list(since=since, min_count=0, topics=names):
        stats_by_topic.setdefault(row.topic, []).append(row)
    contexts: dict[str, dict[str, Any]] = {}
    for topic, count in topics:
        contexts[topic] = {
            "count": count,
            "stats": stats_by_topic.get(topic, []),
            "samples": selectors.topic_samples_list(
                topic=topic, since=since, per_platform=settings.SIGNALFLOW_SUMMARY_PER_PLATFORM
            ),
        }

    clients = llm.llm_clients_create()
    written = skipped = 0
    if not clients:
        for topic, context in contexts.items():
            fields = llm.summary_extractive(
                topic=topic,
                stats=context["stats"],
                samples=context["samples"],
                min_gap=settings.SIGNALFLOW_DIVERGENCE_MIN_GAP,
            )
            summary_upsert(topic=topic, window=window, signal_count=context["count"], fields=fields)
            written += 1
        return {"topics": len(topics), "written": written, "skipped": 0, "provider": llm.EXTRACTIVE}

    jobs = [
        llm.SummaryJob(
            topic=topic,
            prompt=llm.summary_prompt_build(
                topic=topic, stats=context["stats"], samples=context["samples"], divergence=_divergence_line(topic)
            ),
        )
        for topic, context in contexts.items()
    ]
    llm.summaries_generate(jobs, clients)
    for job in jobs:
        if job.result is None:
            skipped += 1
            continue
        fields = dict(job.result)
        stats = contexts[job.topic]["stats"]
        if fields["source_platform"] not in {item.platform for item in stats}:
            # The model named no platform, or one the topic has no signals on: attribute by volume.
            fields["source_platform"] = max(stats, key=lambda item: item.total).platform if stats else ""
        summary_upsert(topic=job.topic, window=window, signal_count=contexts[job.topic]["count"], fields=fields)
        written += 1
    return {"topics": len(topics), "written": written, "skipped": skipped, "provider": clients[0].provider}


# --- archive --------------------------------------------------------------------------------

_SIGNAL_COLUMNS = [
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
    "extra",
    "schema_version",
    "is_comment",
    "language",
    "sentiment_compound",
    "sentiment_label",
    "sentiment_model",
    "topics",
    "velocity",
    "trending_score",
    "is_trending",
    "first_seen_at",
    "last_updated_at",
]
_JSON_COLUMNS = ("extra", "topics")
_TOPIC_COLUMNS = ["topic", "published_at", "platform", "sentiment", "is_comment"]


def _archive_schema() -> Any:
    import pyarrow as pa

    timestamp = pa.timestamp("us", tz="UTC")
    types = {
        "published_at": timestamp,
        "first_seen_at": timestamp,
        "last_updated_at": timestamp,
        "raw_score": pa.int64(),
        "comment_count": pa.int64(),
        "schema_version": pa.int32(),
        "is_comment": pa.bool_(),
        "is_trending": pa.bool_(),
        "sentiment_compound": pa.float64(),
        "velocity": pa.float64(),
        "trending_score": pa.float64(),
    }
    fields = [pa.field(name, types.get(name, pa.string())) for name in _SIGNAL_COLUMNS]
    topic_row = pa.struct(
        [
            pa.field("topic", pa.string()),
            pa.field("published_at", timestamp),
            pa.field("platform", pa.string()),
            pa.field("sentiment", pa.float64()),
            pa.field("is_comment", pa.bool_()),
        ]
    )
    fields.append(pa.field("topic_rows", pa.list_(topic_row)))
    return pa.schema(fields)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"{type(value).__name__} is not archivable")


def rows_checksum(rows: list[dict[str, Any]]) -> str:
    """sha256 over the rows in canonical JSON: the same value from the database rows and the read-back file."""
    digest = hashlib.sha256()
    encode = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=_json_default).encode
    for row in rows:
        digest.update(encode(row).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def _archive_rows_load(*, start: datetime, end: datetime, limit: int) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(_SIGNAL_COLUMNS)} FROM signals "  # noqa: S608 - fixed column list
            "WHERE published_at >= %s AND published_at < %s ORDER BY id LIMIT %s",
            [start, end, limit],
        )
        rows = [dict(zip(_SIGNAL_COLUMNS, row, strict=True)) for row in cursor.fetchall()]
        if not rows:
            return rows
        cursor.execute(
            f"SELECT signal_id, {', '.join(_TOPIC_COLUMNS)} FROM signal_topics "  # noqa: S608 - fixed columns
            "WHERE signal_id = ANY(%s) ORDER BY signal_id, topic",
            [[row["id"] for row in rows]],
        )
        topic_rows: dict[str, list[dict[str, Any]]] = {}
        for signal_id, *values in cursor.fetchall():
            topic_rows.setdefault(signal_id, []).append(dict(zip(_TOPIC_COLUMNS, values, strict=True)))
    for row in rows:
        for column in _JSON_COLUMNS:
            # Django's psycopg setup hands jsonb back as text; store canonical JSON text, so the
            # archive round-trips any shape of `extra` exactly.
            value = json.loads(row[column]) if isinstance(row[column], str) else row[column]
            row[column] = json.dumps(value, sort_keys=True, ensure_ascii=False)
        row["topic_rows"] = topic_rows.get(row["id"], [])
    return rows


def archive_dir() -> Path:
    return Path(settings.SIGNALFLOW_ARCHIVE_DIR)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def archive_file_read(path: Path) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Rows and signalflow metadata of one archive file."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    raw = table.schema.metadata or {}
    meta = {key.decode(): value.decode() for key, value in raw.items() if key.startswith(b"signalflow.")}
    return table.to_pylist(), meta


def _archive_file_write(
    *, day: date, rows: list[dict[str, Any]], cutoff: datetime
) -> tuple[ArchiveFile, list[dict[str, Any]]]:
    """Write, fsync, rename, read back and verify one file; record it in the manifest. Returns the read-back rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    checksum = rows_checksum(rows)
    # Named by content: a re-run after a crash before the manifest row rewrites the same file.
    relative = Path(f"day={day.isoformat()}") / f"signals-{checksum[:20]}.parquet"
    final = archive_dir() / relative
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.with_suffix(".parquet.tmp")
    schema = _archive_schema().with_metadata(
        {"signalflow.checksum": checksum, "signalflow.rows": str(len(rows)), "signalflow.cutoff": cutoff.isoformat()}
    )
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, temporary, compression="snappy")
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, final)
    _fsync_dir(final.parent)

    read_back, meta = archive_file_read(final)
    if (
        len(read_back) != len(rows)
        or rows_checksum(read_back) != checksum
        or meta.get("signalflow.checksum") != checksum
    ):
        raise RuntimeError(f"archive file {final} failed verification; no rows were deleted")
    record, _ = ArchiveFile.objects.update_or_create(
        path=str(relative),
        defaults={
            "day": day,
            "row_count": len(rows),
            "checksum": checksum,
            "file_sha256": _file_sha256(final),
            "size_bytes": final.stat().st_size,
            "cutoff": cutoff,
            "state": ArchiveFile.State.VERIFIED,
        },
    )
    return record, read_back


def _archive_file_delete_rows(record: ArchiveFile, verified_rows: list[dict[str, Any]] | None = None) -> int:
    """Delete exactly the rows in the file: same id and same last_updated_at (a row changed since stays).

    `verified_rows` are the file's rows as just read back and verified; without them (resuming
    after a crash) the file is read and checked against its manifest entry again.
    """
    rows = verified_rows
    if rows is None:
        rows, _meta = archive_file_read(archive_dir() / record.path)
        if len(rows) != record.row_count or rows_checksum(rows) != record.checksum:
            raise RuntimeError(f"archive file {record.path} no longer matches its manifest; rows kept")
    ids = [row["id"] for row in rows]
    stamps = [row["last_updated_at"] for row in rows]
    with transaction.atomic(), connection.cursor() as cursor:
        # signal_topics' foreign key cascades only in the ORM, so its rows go first, explicitly.
        cursor.execute(
            """
            DELETE FROM signal_topics st
            USING signals s, unnest(%s::text[], %s::timestamptz[]) AS a(id, stamp)
            WHERE st.signal_id = s.id AND s.id = a.id AND s.last_updated_at = a.stamp
            """,
            [ids, stamps],
        )
        cursor.execute(
            """
            DELETE FROM signals s USING unnest(%s::text[], %s::timestamptz[]) AS a(id, stamp)
            WHERE s.id = a.id AND s.last_updated_at = a.stamp
            """,
            [ids, stamps],
        )
        deleted = cursor.rowcount
        ArchiveFile.objects.filter(pk=record.pk).update(
            state=ArchiveFile.State.DELETED, deleted_count=deleted, deleted_at=timezone.now()
        )
    metrics.ARCHIVE_ROWS.labels("deleted").inc(deleted)
    return deleted


def signals_archive(*, older_than_days: int, batch: int | None = None) -> dict[str, Any]:
    """Export signals published more than `older_than_days` ago to Parquet by day, verify, then delete.

    Restartable at any step: a verified file whose rows were not yet deleted is finished first;
    a file written but not verified is rewritten under the same name; rows are deleted only in
    the transaction that marks their file deleted.
    """
    if not isinstance(older_than_days, int) or isinstance(older_than_days, bool) or older_than_days < 1:
        raise ValueError(f"older_than_days must be a positive integer, got {older_than_days!r}")
    batch = batch or settings.SIGNALFLOW_ARCHIVE_BATCH
    root = archive_dir()
    root.mkdir(parents=True, exist_ok=True)
    for leftover in root.glob("day=*/*.parquet.tmp"):
        leftover.unlink()

    result = {"files": 0, "archived": 0, "deleted": 0, "resumed": 0}
    for record in ArchiveFile.objects.filter(state=ArchiveFile.State.VERIFIED).order_by("id"):
        result["deleted"] += _archive_file_delete_rows(record)
        result["resumed"] += 1

    cutoff = timezone.now() - timedelta(days=older_than_days)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT (published_at AT TIME ZONE 'UTC')::date FROM signals WHERE published_at < %s ORDER BY 1",
            [cutoff],
        )
        days = [row[0] for row in cursor.fetchall()]
    for day in days:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        end = min(start + timedelta(days=1), cutoff)
        while rows := _archive_rows_load(start=start, end=end, limit=batch):
            record, verified = _archive_file_write(day=day, rows=rows, cutoff=cutoff)
            metrics.ARCHIVE_ROWS.labels("archived").inc(len(rows))
            result["files"] += 1
            result["archived"] += len(rows)
            deleted = _archive_file_delete_rows(record, verified)
            result["deleted"] += deleted
            if deleted == 0:
                break  # every row changed under us since the export: leave them for the next run
    result["cutoff"] = cutoff.isoformat()
    logger.info("archive: %s", result)
    return result


def _day_parse(value: str | None, name: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{name} must be a date like 2026-01-31, got {value!r}") from None


def archive_files_list(*, day_from: str | None = None, day_to: str | None = None) -> list[Path]:
    """Archive files of the days in [day_from, day_to] (both optional), oldest day first."""
    first, last = _day_parse(day_from, "day_from"), _day_parse(day_to, "day_to")
    files = []
    for directory in sorted(archive_dir().glob("day=*")):
        try:
            day = date.fromisoformat(directory.name.removeprefix("day="))
        except ValueError:
            continue
        if (first and day < first) or (last and day > last):
            continue
        files.extend(sorted(directory.glob("*.parquet")))
    return files


def archive_replay(*, day_from: str | None = None, day_to: str | None = None) -> dict[str, Any]:
    """Produce the archived signals of [day_from, day_to] back onto signals.normalised.

    Each file's checksum is verified first (a damaged file is skipped whole and reported); each
    row goes through signal_validate, so only contract-valid signals reach the bus. Downstream
    upserts are idempotent on the signal id, so a replay may be repeated.
    """
    from signalflow.kafka import producer_create, signal_produce
    from signalflow.signal import SignalValidationError, signal_validate

    result: dict[str, Any] = {"files": 0, "produced": 0, "invalid": 0, "damaged_files": []}
    producer = producer_create()
    futures = []
    try:
        for path in archive_files_list(day_from=day_from, day_to=day_to):
            rows, meta = archive_file_read(path)
            if rows_checksum(rows) != meta.get("signalflow.checksum"):
                logger.error("archive file %s fails its checksum: not replayed", path)
                result["damaged_files"].append(str(path.relative_to(archive_dir())))
                continue
            result["files"] += 1
            for row in rows:
                try:
                    signal = signal_validate(archived_signal_dict(row))
                except SignalValidationError as exc:
                    result["invalid"] += 1
                    logger.warning("archived row %s is not a valid signal: %s", row.get("id"), exc)
                    continue
                futures.append(signal_produce(producer, signal))
        producer.flush(timeout=60)
    finally:
        producer.close(timeout=10)
    failed = [future for future in futures if not future.succeeded()]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(futures)} replayed signals were not acknowledged by Kafka")
    result["produced"] = len(futures)
    metrics.ARCHIVE_ROWS.labels("replayed").inc(len(futures))
    return result


def archived_signal_dict(row: dict[str, Any]) -> dict[str, Any]:
    """The normalised-signal fields (DESIGN.md contract) of one archived row."""
    return {
        "id": row["id"],
        "platform": row["platform"],
        "source_id": row["source_id"],
        "title": row["title"] or "",
        "body": row["body"] or "",
        "url": row["url"] or "",
        "author": row["author"] or "",
        "community": row["community"] or "",
        "published_at": row["published_at"],
        "raw_score": row["raw_score"],
        "comment_count": row["comment_count"],
        "extra": json.loads(row["extra"]) if row["extra"] else {},
        "schema_version": row["schema_version"],
    }


# --- disk -----------------------------------------------------------------------------------


def disk_check() -> list[dict[str, Any]]:
    """Used ratio of each watched filesystem, as a gauge; a warning at SIGNALFLOW_DISK_WARN_RATIO."""
    paths = settings.SIGNALFLOW_DISK_CHECK_PATHS or [settings.SIGNALFLOW_ARCHIVE_DIR]
    results = []
    for raw in paths:
        path = Path(raw)
        while not path.exists() and path != path.parent:
            path = path.parent  # the filesystem the directory will live on
        usage = shutil.disk_usage(path)
        ratio = usage.used / usage.total if usage.total else 0.0
        metrics.DISK_USAGE_RATIO.labels(raw).set(ratio)
        warn = ratio >= settings.SIGNALFLOW_DISK_WARN_RATIO
        if warn:
            logger.warning(
                "disk %s is %.0f%% full (warn at %.0f%%): archive old signals or add space",
                raw,
                ratio * 100,
                settings.SIGNALFLOW_DISK_WARN_RATIO * 100,
            )
        results.append({"path": raw, "used_ratio": round(ratio, 4), "free_bytes": usage.free, "warn": warn})
    return results
