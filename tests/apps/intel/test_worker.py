"""The intel tasks through a real Celery worker process on this run's default queue."""

from __future__ import annotations

import time

import pytest

from apps.intel import services
from apps.intel.models import PlatformDivergence, TopicSummary, TopicTimeseries
from celery_app import app
from signalflow.queues import Queue, queue_name
from tests.apps.intel.conftest import topic_create
from tests.support.processes import pipeline_env, worker_process
from tests.support.services import redis_require


@pytest.fixture
def worker(tmp_path):
    redis_require()
    # pipeline_env points the worker at the test database, where this test's committed rows are.
    env = pipeline_env(SIGNALFLOW_SUMMARY_MIN_SIGNALS="10", SIGNALFLOW_LLM_PROVIDER="extractive")
    process = worker_process(tmp_path, env, queues=[Queue.DEFAULT], name="intel-worker").start()
    yield process
    process.stop(timeout=20)


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
    assert worker.alive, worker.log_tail()
