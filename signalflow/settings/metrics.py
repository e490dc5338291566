"""Prometheus exposition knobs (signalflow/metrics.py, signalflow/celery_metrics.py); docs/operations.md."""

from .env import env_bool, env_int, env_str

# Address the /metrics listeners of non-web processes bind to: loopback by default, 0.0.0.0 in containers.
SIGNALFLOW_METRICS_ADDR = env_str("SIGNALFLOW_METRICS_ADDR", "127.0.0.1")
# Port of a Celery worker's own /metrics listener, started in the worker's main process; 0 turns it off.
SIGNALFLOW_WORKER_METRICS_PORT = env_int("SIGNALFLOW_WORKER_METRICS_PORT", 0)
# Web /metrics also reports the streaming replica's lag when DATABASE_REPLICA_URL is set.
SIGNALFLOW_REPLICA_LAG_METRICS = env_bool("SIGNALFLOW_REPLICA_LAG_METRICS", True)
