"""Celery beat: the one schedule. Every entry says why it runs and expires if it could not start in time.

django-celery-beat's DatabaseScheduler syncs these entries into its tables at start-up, so
operators can see and pause them in the admin; exactly one beat process runs (each intel job
also takes a Redis lock, so a second beat by mistake cannot run a job twice at once).
Intervals come from settings (environment) because the demo runs them much faster.
"""

from typing import Any

from django.conf import settings

from signalflow.queues import Queue, queue_name


def _options(every_s: float) -> dict[str, Any]:
    """Routing and expiry of one entry.

    A tick that waited in the queue longer than most of its interval is superseded by the next
    one, so it expires. `expires` is what Celery's own scheduler reads; django-celery-beat's
    DatabaseScheduler (the one configured) keeps only `expire_seconds` when it syncs an entry.
    """
    expiry = max(10.0, every_s * 0.9)
    return {"queue": queue_name(Queue.DEFAULT), "expires": expiry, "expire_seconds": expiry}


BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Keeps topic_timeseries (charts, alerts' inputs) at most a minute behind the signals; each
    # run ends by asking the alerts engine to evaluate the fresh buckets.
    "intel-aggregate-topics": {
        "task": "intel.aggregate_topics",
        "schedule": float(settings.SIGNALFLOW_AGGREGATE_EVERY_S),
        "options": _options(settings.SIGNALFLOW_AGGREGATE_EVERY_S),
    },
    # Cross-platform disagreement needs a window of signals to be significant; 15 min is the
    # cadence at which a new event can plausibly appear or an open one close.
    "intel-detect-divergence": {
        "task": "intel.detect_divergence",
        "schedule": float(settings.SIGNALFLOW_DIVERGENCE_EVERY_S),
        "options": _options(settings.SIGNALFLOW_DIVERGENCE_EVERY_S),
    },
    # LLM calls cost money and rate limit: summaries refresh every 15 min, not per signal.
    "intel-summarise-topics": {
        "task": "intel.summarise_topics",
        "schedule": float(settings.SIGNALFLOW_SUMMARY_EVERY_S),
        "options": _options(settings.SIGNALFLOW_SUMMARY_EVERY_S),
    },
    # Moves signals past retention to Parquet so PostgreSQL stays small; daily is enough, and a
    # missed day is caught up by the next run.
    "intel-archive-signals": {
        "task": "intel.archive_signals",
        "schedule": float(settings.SIGNALFLOW_ARCHIVE_EVERY_S),
        "kwargs": {"older_than_days": settings.SIGNALFLOW_ARCHIVE_AFTER_DAYS},
        "options": _options(settings.SIGNALFLOW_ARCHIVE_EVERY_S),
    },
    # Warns (log + signalflow_intel_disk_usage_ratio) at 70 % before the database or archive disk fills.
    "intel-check-disk": {
        "task": "intel.check_disk",
        "schedule": float(settings.SIGNALFLOW_DISK_CHECK_EVERY_S),
        "options": _options(settings.SIGNALFLOW_DISK_CHECK_EVERY_S),
    },
    # Webhook retries (apps/alerts): re-enqueues firings whose backoff has passed or whose worker
    # died mid-send; the delivery's claim UPDATE makes a duplicate enqueue harmless.
    "alerts-sweep-due": {
        "task": "alerts.sweep_due",
        "schedule": 30.0,
        "options": _options(30.0),
    },
}
