"""Celery worker metrics: task duration and outcome per task name, from Celery signals.

`celery_app.py` imports this module before anything imports prometheus_client, so that a worker
can switch prometheus_client to multiprocess mode first: prefork children each write their own
files under PROMETHEUS_MULTIPROC_DIR and the main process's listener sums them at scrape time.

- PROMETHEUS_MULTIPROC_DIR: one directory per worker (not shared between workers on one host);
  when a worker is started with SIGNALFLOW_WORKER_METRICS_PORT and without it, a private
  temporary directory is used. It is created if missing and emptied when the worker starts
  (stale files would be summed).
- SIGNALFLOW_WORKER_METRICS_PORT: the listener's port (0: none), bound to SIGNALFLOW_METRICS_ADDR.

Labels are bounded: `task` is a registered task name (the worker rejects unregistered ones before
any of these signals fire), `outcome` one of OUTCOMES.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _worker_command() -> bool:
    return "worker" in sys.argv[1:]


def _multiproc_dir_prepare() -> None:
    """Choose and empty the multiprocess directory before any SignalFlow metric object is created."""
    if not _worker_command():
        return
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        # Files of a previous run of this worker would be summed into this one's counters.
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
    elif os.environ.get("SIGNALFLOW_WORKER_METRICS_PORT", "0") not in {"", "0"}:
        directory = tempfile.mkdtemp(prefix="signalflow-celery-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        owner = os.getpid()
        # Removed by the worker's main process only: prefork children run atexit handlers too.
        atexit.register(lambda: os.getpid() == owner and shutil.rmtree(directory, ignore_errors=True))
    else:
        return
    if "prometheus_client" in sys.modules:
        # Celery's CLI loads Flower's plugin, which imports prometheus_client before celery_app: its
        # value class was chosen from the environment then. Metric objects look it up when they are
        # created, so choosing again now covers every metric SignalFlow defines afterwards.
        from prometheus_client import values

        values.ValueClass = values.get_value_class()


_multiproc_dir_prepare()

from celery import Celery, signals  # noqa: E402
from prometheus_client import Counter, Gauge, Histogram, multiprocess  # noqa: E402

logger = logging.getLogger(__name__)

OUTCOMES = ("success", "failure", "retry", "rejected", "ignored", "revoked", "other")
_STATE_OUTCOME = {
    "SUCCESS": "success",
    "FAILURE": "failure",
    "RETRY": "retry",
    "REJECTED": "rejected",
    "IGNORED": "ignored",
    "REVOKED": "revoked",
}

TASK_DURATION = Histogram(
    "signalflow_celery_task_duration_seconds",
    "Wall time of a Celery task run in the worker, per task name",
    ["task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
TASKS = Counter(
    "signalflow_celery_tasks_total",
    "Celery task runs finished in the worker, per task name and outcome",
    ["task", "outcome"],
)
TASKS_IN_PROGRESS = Gauge(
    "signalflow_celery_tasks_in_progress",
    "Celery tasks executing right now, per task name",
    ["task"],
    multiprocess_mode="livesum",
)

# task id -> start time; a process runs few tasks at once (one for prefork and solo children).
_started: dict[str, float] = {}


def _on_task_prerun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task_id is None or task is None:
        return
    _started[task_id] = time.perf_counter()
    TASKS_IN_PROGRESS.labels(task=task.name).inc()


def _on_task_postrun(task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any) -> None:
    if task_id is None or task is None:
        return
    started = _started.pop(task_id, None)
    TASKS_IN_PROGRESS.labels(task=task.name).dec()
    if started is not None:
        TASK_DURATION.labels(task=task.name).observe(time.perf_counter() - started)
    TASKS.labels(task=task.name, outcome=_STATE_OUTCOME.get(state or "", "other")).inc()


def _on_task_revoked(request: Any = None, terminated: bool = False, **_: Any) -> None:
    # A revoked task never reaches postrun when it was revoked before it started.
    name = getattr(getattr(request, "task", None), "name", None) or getattr(request, "name", None)
    if name and not terminated:
        TASKS.labels(task=name, outcome="revoked").inc()


def _on_worker_ready(**_: Any) -> None:
    from django.conf import settings

    from signalflow.metrics import metrics_http_serve

    port = int(getattr(settings, "SIGNALFLOW_WORKER_METRICS_PORT", 0) or 0)
    if port > 0:
        metrics_http_serve(port)


def _on_worker_process_shutdown(pid: int | None = None, **_: Any) -> None:
    # Live gauges (tasks in progress) of an exited child must not be summed any more.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid or os.getpid())


def celery_metrics_connect(app: Celery) -> None:
    """Connect the worker signals (idempotent: dispatch_uid)."""
    del app  # the signals are global; the argument documents which app wires them
    signals.task_prerun.connect(_on_task_prerun, weak=False, dispatch_uid="signalflow.metrics.prerun")
    signals.task_postrun.connect(_on_task_postrun, weak=False, dispatch_uid="signalflow.metrics.postrun")
    signals.task_revoked.connect(_on_task_revoked, weak=False, dispatch_uid="signalflow.metrics.revoked")
    signals.worker_ready.connect(_on_worker_ready, weak=False, dispatch_uid="signalflow.metrics.worker_ready")
    signals.worker_process_shutdown.connect(
        _on_worker_process_shutdown, weak=False, dispatch_uid="signalflow.metrics.process_shutdown"
    )
