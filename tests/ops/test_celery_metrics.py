"""A real prefork Celery worker exports task metrics summed over its children on its own port."""

from __future__ import annotations

import subprocess
import time

import httpx
import pytest
from django.conf import settings

from celery_app import app
from signalflow.queues import Queue, queue_name
from tests.ops.support import free_port, process_stop, prometheus_text_parse
from tests.support.services import PYTHON, ROOT, redis_require, subprocess_env

pytestmark = pytest.mark.slow


def _scrape(port: int) -> dict:
    return prometheus_text_parse(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)


def test_prefork_worker_exports_task_duration_and_outcome(tmp_path):
    redis_require()
    port = free_port()
    queue = queue_name(Queue.CPU)
    # A previous run's file in the directory must not be summed into this run.
    stale = tmp_path / "counter_424242.db"
    stale.write_bytes(b"stale")
    worker = subprocess.Popen(
        [
            *(PYTHON, "-m", "celery", "-A", "celery_app", "worker", "-Q", queue, "-c", "2", "--pool", "prefork"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "WARNING"),
        ],
        env=subprocess_env(SIGNALFLOW_WORKER_METRICS_PORT=str(port), PROMETHEUS_MULTIPROC_DIR=str(tmp_path)),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # celery.backend_cleanup is a task every worker registers; bad kwargs make it fail in the worker.
        ok = [app.send_task("celery.backend_cleanup", queue=queue) for _ in range(6)]
        bad = app.send_task("celery.backend_cleanup", kwargs={"unexpected": 1}, queue=queue)
        for result in ok:
            result.get(timeout=60)
        with pytest.raises(TypeError):
            bad.get(timeout=30, propagate=True)
        deadline = time.monotonic() + 15
        while True:
            try:
                metrics = _scrape(port)
                key = ("signalflow_celery_tasks_total", (("outcome", "success"), ("task", "celery.backend_cleanup")))
                if metrics.get(key) == 6:
                    break
            except httpx.HTTPError:
                metrics = {}
            assert time.monotonic() < deadline, f"worker metrics never reached 6 successes: {metrics}"
            time.sleep(0.3)
        task = (("task", "celery.backend_cleanup"),)
        assert metrics[("signalflow_celery_tasks_total", (("outcome", "failure"), *task))] == 1
        assert metrics[("signalflow_celery_task_duration_seconds_count", task)] == 7
        assert metrics[("signalflow_celery_tasks_in_progress", task)] == 0
        assert not stale.exists()
        # Both prefork children wrote their own files: the listener sums them.
        assert len(list(tmp_path.glob("counter_*.db"))) >= 2
    finally:
        process_stop(worker)
    # Children marked themselves dead on exit: their live gauges are no longer summed.
    assert list(tmp_path.glob("gauge_livesum_*.db")) == []
    assert settings.SIGNALFLOW_QUEUE_PREFIX  # a namespaced queue: never a production worker's
