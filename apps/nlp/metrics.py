"""Prometheus metrics of the pipeline: the bridge (consume, batch, DLQ, lag) and storage. Labels are bounded."""

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_CONSUMED = Counter(
    "signalflow_bridge_messages_consumed",
    "Kafka messages read by the bridge.",
    ["topic"],  # logical topic: signals.normalised | reddit.posts.refresh
)
BATCH_FLUSH_SECONDS = Histogram(
    "signalflow_bridge_batch_flush_seconds",
    "From a batch's dispatch to its task reporting it stored.",
    ["lane"],  # comments | posts | refreshes
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
)
BATCH_SIZE = Histogram(
    "signalflow_bridge_batch_size_messages",
    "Messages per dispatched batch.",
    ["lane"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
BATCHES_REDISPATCHED = Counter(
    "signalflow_bridge_batches_redispatched",
    "Batches dispatched again, by why.",
    ["reason"],  # timeout | failure | revoked
)
BATCHES_IN_FLIGHT = Gauge("signalflow_bridge_batches_in_flight", "Batches dispatched and not yet stored.")
DLQ_MESSAGES = Counter(
    "signalflow_bridge_dlq_messages",
    "Messages sent to a dead-letter topic.",
    ["topic", "reason"],  # reason: invalid | processing
)
CIRCUIT_BREAKER_TRIPS = Counter(
    "signalflow_bridge_circuit_breaker_trips", "Times the bridge stopped on too many bad messages in a row."
)
CONSUMER_LAG = Gauge(
    "signalflow_bridge_consumer_lag_messages",
    "End offset minus committed offset, per assigned partition (Tansu under-reads by up to one record batch).",
    ["topic", "partition"],
)
OFFSETS_COMMITTED = Counter("signalflow_bridge_offset_commits", "Offset commits sent to the broker.")
SIGNALS_STORED = Counter(
    "signalflow_nlp_signals_stored",
    "Signal rows inserted or updated by the pipeline's upsert.",
    ["platform", "kind"],  # kind: post | comment
)
REFRESHES_APPLIED = Counter(
    "signalflow_nlp_refreshes_applied", "Score refreshes that updated a stored signal.", ["outcome"]
)  # outcome: applied | stale_or_missing
PUBLISH_FAILURES = Counter(
    "signalflow_nlp_publish_failures", "Stored signals that could not be sent to the live feed (rows are kept)."
)
STORE_SECONDS = Histogram(
    "signalflow_nlp_store_seconds",
    "Wall time of one batch's upsert transaction.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
