"""Prometheus plumbing shared by every process. Metric objects live in each app's metrics.py.

Names follow `signalflow_<subsystem>_<what>_<unit>` with bounded labels. Each process exposes
what it has registered:

- web (Daphne): GET /metrics through `metrics_view`, plus the read replica's lag when
  DATABASE_REPLICA_URL is set (`ReplicaLagCollector`, queried at scrape time);
- ingest and bridge: `metrics_http_serve(port)` from their `--metrics-port`;
- Celery workers: signalflow/celery_metrics.py starts the listener in the worker's main process.

With PROMETHEUS_MULTIPROC_DIR set (Celery prefork workers, several Daphne processes), values are
written to that directory by every process and summed at scrape time; it must be set before
prometheus_client is imported and must be emptied when the process group starts.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess, start_http_server
from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

# A scrape must not hang on a sick replica: Prometheus times out at 10 s by default.
REPLICA_QUERY_TIMEOUT_S = 2

# Lag as operators read it: 0 while the replica has replayed everything it received (an idle
# primary sends nothing, so "now - last replayed commit" alone would grow without any lag),
# otherwise the age of the last replayed transaction.
REPLICA_LAG_SQL = """
SELECT pg_is_in_recovery(),
       CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
            ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END,
       COALESCE(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0),
       EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')
"""


class ReplicaLagCollector(Collector):
    """signalflow_db_replica_* gauges, read from the replica itself at scrape time.

    A fresh short-lived connection per scrape (not Django's thread-bound one): the collector also
    runs in prometheus_client's listener threads, and a broken replica must show as up=0, not
    as an exception in the scrape.
    """

    def __init__(self, *, alias: str = "replica") -> None:
        self.alias = alias

    def _connect_kwargs(self) -> dict[str, Any]:
        db = settings.DATABASES[self.alias]
        kwargs: dict[str, Any] = {
            "host": db.get("HOST") or None,
            "port": db.get("PORT") or None,
            "dbname": db.get("NAME") or None,
            "user": db.get("USER") or None,
            "password": db.get("PASSWORD") or None,
            "connect_timeout": REPLICA_QUERY_TIMEOUT_S,
            "options": f"-c statement_timeout={REPLICA_QUERY_TIMEOUT_S * 1000}",
            "application_name": "signalflow-metrics",
        }
        return {key: value for key, value in kwargs.items() if value is not None}

    def collect(self) -> Iterable[GaugeMetricFamily]:
        import psycopg

        up = GaugeMetricFamily("signalflow_db_replica_up", "1 when the read replica answered the lag query")
        in_recovery = GaugeMetricFamily(
            "signalflow_db_replica_in_recovery", "1 when the read replica is a standby (pg_is_in_recovery)"
        )
        streaming = GaugeMetricFamily(
            "signalflow_db_replica_streaming", "1 when the replica's WAL receiver is streaming from the primary"
        )
        lag = GaugeMetricFamily(
            "signalflow_db_replica_lag_seconds",
            "Age of the last replayed transaction while WAL is waiting to be replayed; 0 when caught up",
        )
        lag_bytes = GaugeMetricFamily(
            "signalflow_db_replica_replay_lag_bytes", "WAL received by the replica but not yet replayed"
        )
        try:
            with psycopg.connect(**self._connect_kwargs()) as conn, conn.cursor() as cursor:
                cursor.execute(REPLICA_LAG_SQL)
                recovering, lag_s, lag_b, is_streaming = cursor.fetchone()
        except psycopg.Error as exc:
            logger.warning("replica lag query failed: %s", exc)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        in_recovery.add_metric([], 1 if recovering else 0)
        streaming.add_metric([], 1 if is_streaming else 0)
        lag.add_metric([], float(lag_s))
        lag_bytes.add_metric([], float(lag_b))
        return [up, in_recovery, streaming, lag, lag_bytes]


_replica_collector: ReplicaLagCollector | None = None
_replica_lock = threading.Lock()


def _replica_collector_get() -> ReplicaLagCollector | None:
    """The replica lag collector when a replica is configured and the metric is on, else None."""
    global _replica_collector
    if "replica" not in settings.DATABASES or not getattr(settings, "SIGNALFLOW_REPLICA_LAG_METRICS", True):
        return None
    with _replica_lock:
        if _replica_collector is None:
            _replica_collector = ReplicaLagCollector()
            if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
                DEFAULT_REGISTRY.register(_replica_collector)
    return _replica_collector


def metrics_registry(*, replica_lag: bool = False) -> CollectorRegistry:
    """The registry to expose: an aggregating one in multiprocess mode, else the default.

    `replica_lag` adds the replica lag gauges (web only, so a fleet reports it once per web replica
    rather than from every process).
    """
    collector = _replica_collector_get() if replica_lag else None
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        if collector is not None:
            registry.register(collector)
        return registry
    return DEFAULT_REGISTRY


def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics for Prometheus."""
    return HttpResponse(generate_latest(metrics_registry(replica_lag=True)), content_type=CONTENT_TYPE_LATEST)


def metrics_http_serve(port: int, addr: str | None = None) -> Any:
    """Expose /metrics on `port` from a long-running non-web process (ingest, bridge, workers).

    Binds SIGNALFLOW_METRICS_ADDR (loopback unless configured) when `addr` is not given; port 0 or
    less turns the listener off. Returns prometheus_client's (server, thread), or None when off.
    """
    if port <= 0:
        return None
    bind = addr or getattr(settings, "SIGNALFLOW_METRICS_ADDR", "127.0.0.1")
    served = start_http_server(port, addr=bind, registry=metrics_registry())
    logger.info("metrics on http://%s:%d/metrics", bind, port)
    return served
