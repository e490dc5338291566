"""Prometheus metrics of webhook alerts (signalflow_alerts_*)."""

from prometheus_client import Counter, Histogram

# outcome: delivered, http_error, redirect, timeout, connection_error, blocked, unresolvable
WEBHOOK_DELIVERIES = Counter(
    "signalflow_alerts_webhook_deliveries_total",
    "Webhook delivery attempts by outcome",
    ["outcome"],
)
WEBHOOK_LATENCY = Histogram(
    "signalflow_alerts_webhook_latency_seconds",
    "Time from sending a webhook to its response",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
FIRINGS = Counter("signalflow_alerts_firings_total", "Watches that fired (claimed by an evaluator)")
