"""The intel tasks through a real Celery worker process on this run's default queue."""

from __future__ import annotations

import subprocess
import time

import pytest
from django.conf import settings

from apps.intel import services
from apps.intel.models import PlatformDivergence, TopicSummary, TopicTimeseries
from celery_app import app
from signalflow.queues import Queue, queue_name
from tests.apps.intel.conftest import topic_create
from tests.support.services import PYTHON, ROOT, redis_require, subprocess_env


def database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(tmp_path):
    redis_require()
    env = subprocess_env(
        DATABASE_URL=database_url(),  # the test database, where this test's committed rows are
        SIGNALFLOW_SUMMARY_MIN_SIGNALS="10",
        SIGNALFLOW_LLM_PROVIDER="extractive",
    )
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "celery_app",
            "worker",
            "-Q",
            queue_name(Queue.DEFAULT),
            "--pool",
            "solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    process.log_path = tmp_path / "worker.log"
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


def call(name: str, timeout: float = 90, **kwargs) -> dict:
    result = app.send_task(name, kwargs=kwargs, queue=queue_name(Queue.DEFAULT))
    return result.get(timeout=timeout)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_runs_the_jobs_and_honours_a_lock_held_elsewhere(worker):
    topic_create("tariffs", reddit=-0.10, youtube=-0.76, count=20)

    started = time.monotonic()
    aggregated = call("intel.aggregate_topics")
    assert aggregated["status"] == "ok", aggregated
    assert aggregated["buckets_upserted"] > 0
    assert sum(TopicTimeseries.objects.filter(topic="tariffs").values_list("signal_count", flat=True)) == 40

    assert call("intel.detect_divergence")["opened"] == 1
    event = PlatformDivergence.objects.get(topic="tariffs")
    assert event.p_value < 0.05

    summarised = call("intel.summarise_topics")
    assert summarised["written"] == 1, summarised
    assert TopicSummary.objects.get(topic="tariffs").model == "extractive"

    # A lock held by another process (here: this one) makes the worker's run skip.
    with services.job_lock(name="detect_divergence", ttl_s=60) as held:
        assert held
        assert call("intel.detect_divergence")["status"] == "locked"
    assert time.monotonic() - started < 120
    assert worker.poll() is None, worker.log_path.read_text()
