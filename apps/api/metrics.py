"""Prometheus metrics of the web process (signalflow_api_*)."""

from prometheus_client import Counter, Histogram

REQUEST_DURATION = Histogram(
    "signalflow_api_request_duration_seconds",
    "REST request duration by route name, method and status code",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CACHE_LOOKUPS = Counter(
    "signalflow_api_cache_lookups_total", "Response cache lookups by endpoint and result", ["endpoint", "result"]
)
WS_CONNECTIONS = Counter("signalflow_api_ws_connections_total", "WebSocket connections by outcome", ["outcome"])
WS_MESSAGES = Counter("signalflow_api_ws_signals_sent_total", "Signals pushed to WebSocket clients")
