"""Prometheus metrics of the periodic intelligence jobs. Labels are bounded: job names, providers, kinds."""

from prometheus_client import Counter, Gauge, Histogram

JOB_RUNS = Counter(
    "signalflow_intel_job_runs_total",
    "Periodic intelligence job runs by outcome (ok, error, locked = another run held the lock).",
    ["job", "outcome"],
)
JOB_DURATION = Histogram(
    "signalflow_intel_job_duration_seconds",
    "Wall time of a periodic intelligence job run that held the lock.",
    ["job"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
)
BUCKETS_UPSERTED = Counter(
    "signalflow_intel_buckets_upserted_total",
    "topic_timeseries buckets recomputed and upserted by the aggregator.",
)
DIVERGENCE_EVENTS = Counter(
    "signalflow_intel_divergence_events_total",
    "Divergence events opened, updated and resolved.",
    ["action"],
)
SUMMARIES_WRITTEN = Counter(
    "signalflow_intel_summaries_written_total",
    "Topic summaries written, by provider (extractive when no key is configured).",
    ["provider"],
)
LLM_TOKENS = Counter(
    "signalflow_intel_llm_tokens_total",
    "Tokens used by LLM summaries.",
    ["provider", "kind"],
)
LLM_LATENCY = Histogram(
    "signalflow_intel_llm_latency_seconds",
    "Latency of one LLM call that returned an answer.",
    ["provider"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
)
LLM_ERRORS = Counter(
    "signalflow_intel_llm_errors_total",
    "LLM calls that failed: rate_limited, timeout, malformed (JSON unrepairable), repaired, api.",
    ["provider", "kind"],
)
ARCHIVE_ROWS = Counter(
    "signalflow_intel_archive_rows_total",
    "Signals archived to Parquet, deleted after verification, and replayed onto the bus.",
    ["action"],
)
DISK_USAGE_RATIO = Gauge(
    "signalflow_intel_disk_usage_ratio",
    "Used fraction of a watched filesystem (warns at SIGNALFLOW_DISK_WARN_RATIO).",
    ["path"],
)
