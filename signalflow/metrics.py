"""Prometheus plumbing shared by every process. Metric objects live in each app's metrics.py.

Names follow `signalflow_<subsystem>_<what>_<unit>` with bounded labels. With
PROMETHEUS_MULTIPROC_DIR set (Celery prefork workers, several Daphne processes), values are
written to that directory and aggregated at scrape time.
"""

from __future__ import annotations

import os

from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess, start_http_server
from prometheus_client import REGISTRY as DEFAULT_REGISTRY


def metrics_registry() -> CollectorRegistry:
    """The registry to expose: an aggregating one in multiprocess mode, else the default."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return DEFAULT_REGISTRY


def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics for Prometheus."""
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)


def metrics_http_serve(port: int, addr: str = "127.0.0.1") -> None:
    """Expose /metrics on `port` from a long-running non-web process (ingest, bridge, workers)."""
    if port > 0:
        start_http_server(port, addr=addr, registry=metrics_registry())
