"""End to end through a real Celery worker: alerts.evaluate → alerts.deliver → retry → the receiver."""

from __future__ import annotations

import time

import pytest
from celery import current_app

from apps.alerts.models import AlertDelivery, AlertFiring, WatchedTopic
from signalflow.queues import Queue, queue_name
from tests.support.factories import signal_create
from tests.support.processes import pipeline_env, worker_process
from tests.support.webhook_receiver import WebhookReceiver

SECRET = "end-to-end-secret-0123456789"


@pytest.fixture
def worker(webhook_settings, tmp_path):
    env = pipeline_env(
        SIGNALFLOW_WEBHOOK_ALLOWLIST="127.0.0.1",
        SIGNALFLOW_WEBHOOK_REQUIRE_HTTPS="0",
        SIGNALFLOW_WEBHOOK_BACKOFF_BASE_S="0.3",
        SIGNALFLOW_WEBHOOK_BACKOFF_MAX_S="1",
    )
    process = worker_process(tmp_path, env, queues=[Queue.DEFAULT], name="alerts-worker").start()
    yield process
    process.stop(timeout=15)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_evaluate_and_deliver_through_a_worker_with_a_retry(worker, django_user_model):
    user = django_user_model.objects.create_user("e2e", password="pw")
    for platform in ("reddit", "bluesky"):
        signal_create(platform=platform, topics=["e2e-topic"], trending_score=3.0)
    with WebhookReceiver([503, 200]) as receiver:
        watch = WatchedTopic.objects.create(
            user=user, topic="e2e-topic", webhook_url=receiver.url(), secret=SECRET, min_trending_score=2.0
        )
        current_app.send_task("alerts.evaluate", queue=queue_name(Queue.DEFAULT))
        try:
            requests = receiver.wait_for(2, timeout=90)
        except AssertionError:
            worker.stop(timeout=15)
            pytest.fail(f"worker output: {worker.log_tail(3000)}")
        assert all(r.signature_valid(SECRET) for r in requests)
        deadline = time.monotonic() + 15
        while AlertFiring.objects.filter(status="delivered").count() < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
    firing = AlertFiring.objects.get(watched_topic=watch)
    assert firing.status == "delivered"
    assert firing.attempts == 2
    audit = list(AlertDelivery.objects.filter(firing_id=firing.pk).order_by("attempt"))
    assert [(a.status_code, a.succeeded) for a in audit] == [(503, False), (200, True)]
