"""Prometheus metrics of the ingest process (`run_ingest --metrics-port`). Labels are bounded:
platform is one of four; `source` is a source_config identifier, bounded by that table.
"""

from prometheus_client import Counter, Gauge

SIGNALS_PRODUCED = Counter(
    "signalflow_ingest_signals_produced_total", "New signals produced to signals.normalised", ["platform"]
)
REFRESHES_PRODUCED = Counter(
    "signalflow_ingest_refreshes_produced_total", "Score/comment-count refreshes produced", ["platform"]
)
RAW_PRODUCED = Counter(
    "signalflow_ingest_raw_produced_total", "Raw payloads produced to reddit.posts.raw", ["platform"]
)
DUPLICATES_SKIPPED = Counter(
    "signalflow_ingest_duplicates_skipped_total", "Items already produced and unchanged, not sent again", ["platform"]
)
UPSTREAM_ERRORS = Counter(
    "signalflow_ingest_upstream_errors_total",
    "Upstream failures by kind (http, rate_limited, connection, timeout, decode, crash)",
    ["platform", "kind"],
)
MALFORMED_ITEMS = Counter(
    "signalflow_ingest_malformed_items_total", "Malformed payloads or items logged and skipped", ["platform"]
)
RATE_LIMIT_WAITS = Counter(
    "signalflow_ingest_rate_limit_waits_total", "Times a request waited for its platform's token bucket", ["platform"]
)
RATE_LIMIT_WAIT_SECONDS = Counter(
    "signalflow_ingest_rate_limit_wait_seconds_total", "Seconds spent waiting for tokens or Retry-After", ["platform"]
)
LAST_SUCCESS = Gauge(
    "signalflow_ingest_last_success_timestamp_seconds", "Unix time of the last successful poll", ["platform", "source"]
)
SOURCES_RUNNING = Gauge("signalflow_ingest_sources_running", "Source tasks currently running", ["platform"])
FIREHOSE_LAG = Gauge("signalflow_ingest_firehose_lag_seconds", "Now minus the time of the last firehose event")
FIREHOSE_SEQ = Gauge("signalflow_ingest_firehose_cursor_seq", "Last firehose seq produced and persisted")
YOUTUBE_QUOTA_USED = Gauge("signalflow_ingest_youtube_quota_units_used", "YouTube API quota units spent today (UTC)")
