"""End to end through a real Celery worker: alerts.evaluate → alerts.deliver → retry → the receiver."""

from __future__ import annotations

import subprocess
import time

import pytest
from celery import current_app
from django.conf import settings

from apps.alerts.models import AlertDelivery, AlertFiring, WatchedTopic
from signalflow.queues import Queue, queue_name
from tests.support.factories import signal_create
from tests.support.services import PYTHON, ROOT, subprocess_env
from tests.support.webhook_receiver import WebhookReceiver

SECRET = "end-to-end-secret-0123456789"


@pytest.fixture
def worker(webhook_settings):
    db = settings.DATABASES["default"]
    env = subprocess_env(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        SIGNALFLOW_WEBHOOK_ALLOWLIST="127.0.0.1",
        SIGNALFLOW_WEBHOOK_REQUIRE_HTTPS="0",
        SIGNALFLOW_WEBHOOK_BACKOFF_BASE_S="0.3",
        SIGNALFLOW_WEBHOOK_BACKOFF_MAX_S="1",
    )
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
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
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
            worker.terminate()
            pytest.fail(f"worker output: {worker.communicate(timeout=15)[0].decode()[-3000:]}")
        assert all(r.signature_valid(SECRET) for r in requests)
        deadline = time.monotonic() + 15
        while AlertFiring.objects.filter(status="delivered").count() < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
    firing = AlertFiring.objects.get(watched_topic=watch)
    assert firing.status == "delivered"
    assert firing.attempts == 2
    audit = list(AlertDelivery.objects.filter(firing_id=firing.pk).order_by("attempt"))
    assert [(a.status_code, a.succeeded) for a in audit] == [(503, False), (200, True)]
