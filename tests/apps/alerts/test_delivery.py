"""Delivery to a real local HTTP receiver: signature, retries with backoff, audit, redirects, re-checks."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from apps.alerts.models import AlertDelivery, AlertFiring, WatchedTopic
from apps.alerts.selectors import firings_due_ids
from apps.alerts.services import firing_deliver, watch_create
from tests.support.webhook_receiver import WebhookReceiver

SECRET = "a-test-secret-of-sufficient-length"


def firing_for(user, url: str, topic: str = "iran") -> AlertFiring:
    watch = WatchedTopic.objects.create(user=user, topic=topic, webhook_url=url, secret=SECRET)
    firing_id = uuid.uuid4()
    return AlertFiring.objects.create(
        id=firing_id,
        watched_topic=watch,
        payload={"event": "topic.trending", "firing_id": str(firing_id), "topic": topic, "platform_count": 2},
        next_attempt_at=timezone.now(),
    )


def deliver_when_due(firing: AlertFiring, timeout: float = 5.0):
    """Call delivery as the retry task would, once the firing's backoff has passed."""
    deadline = time.monotonic() + timeout
    while True:
        result = firing_deliver(firing_id=str(firing.pk))
        if result.status != "skipped" or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


@pytest.mark.django_db
def test_webhook_reaches_the_receiver_signed(webhook_settings, user):
    with WebhookReceiver([200]) as receiver:
        firing = firing_for(user, receiver.url("/hook?team=7"))
        result = firing_deliver(firing_id=str(firing.pk))
        (request,) = receiver.wait_for(1)

    assert result.status == "delivered"
    assert result.outcome == "delivered"
    assert request.path == "/hook?team=7"
    assert request.signature_valid(SECRET)
    assert not request.signature_valid("another-secret")
    assert request.headers["content-type"] == "application/json"
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert json.loads(request.body) == firing.payload
    firing.refresh_from_db()
    assert firing.status == "delivered"
    assert firing.attempts == 1
    assert firing.finished_at
    (audit,) = AlertDelivery.objects.filter(firing_id=firing.pk)
    assert (audit.attempt, audit.status_code, audit.succeeded, audit.error) == (1, 200, True, "")
    assert audit.latency_ms is not None
    assert audit.latency_ms >= 0


@pytest.mark.django_db
def test_a_tampered_body_fails_the_signature(webhook_settings, user):
    with WebhookReceiver([200]) as receiver:
        firing_deliver(firing_id=str(firing_for(user, receiver.url()).pk))
        (request,) = receiver.wait_for(1)
    request.body = request.body.replace(b"iran", b"gaza")
    assert not request.signature_valid(SECRET)


@pytest.mark.django_db
def test_a_failing_receiver_is_retried_with_backoff_and_audited(webhook_settings, user):
    # A backoff long enough that "not due yet" holds on a busy machine, short enough to wait for.
    webhook_settings.ALERTS_WEBHOOK_BACKOFF_BASE_S = 0.6
    webhook_settings.ALERTS_WEBHOOK_BACKOFF_MAX_S = 0.6
    with WebhookReceiver([500, 503, 200]) as receiver:
        firing = firing_for(user, receiver.url())
        first = firing_deliver(firing_id=str(firing.pk))
        assert first.status == "pending"
        assert first.retry_in is not None
        # Not due yet: an early retry (a duplicate task) claims nothing.
        firing.refresh_from_db()
        assert firing.next_attempt_at > timezone.now()
        second = deliver_when_due(firing)
        third = deliver_when_due(firing)
        requests = receiver.wait_for(3)

    assert (first.outcome, second.outcome, third.outcome) == ("http_error", "http_error", "delivered")
    assert second.retry_in > 0
    assert len(requests) == 3
    assert all(r.signature_valid(SECRET) for r in requests)
    audit = list(AlertDelivery.objects.filter(firing_id=firing.pk).order_by("attempt"))
    assert [(a.attempt, a.status_code, a.succeeded) for a in audit] == [
        (1, 500, False),
        (2, 503, False),
        (3, 200, True),
    ]
    assert "HTTP 500" in audit[0].error
    assert "HTTP 503" in audit[1].error
    firing.refresh_from_db()
    assert firing.status == "delivered"
    assert firing.attempts == 3


@pytest.mark.django_db
def test_attempts_stop_at_the_maximum(webhook_settings, user):
    webhook_settings.ALERTS_WEBHOOK_MAX_ATTEMPTS = 2
    with WebhookReceiver([502]) as receiver:
        firing = firing_for(user, receiver.url())
        firing_deliver(firing_id=str(firing.pk))
        last = deliver_when_due(firing)
        receiver.wait_for(2)
    assert last.status == "failed"
    assert last.retry_in is None
    assert AlertDelivery.objects.filter(firing_id=firing.pk, succeeded=False).count() == 2
    assert firing_deliver(firing_id=str(firing.pk)).status == "skipped"


@pytest.mark.django_db
def test_an_unreachable_receiver_is_audited_as_a_connection_error(webhook_settings, user):
    with WebhookReceiver() as receiver:
        url = receiver.url()
    firing = firing_for(user, url)  # the server is gone: connection refused
    result = firing_deliver(firing_id=str(firing.pk))
    assert result.outcome == "connection_error"
    assert result.status == "pending"
    (audit,) = AlertDelivery.objects.filter(firing_id=firing.pk)
    assert audit.status_code is None
    assert "ConnectError" in audit.error


@pytest.mark.django_db
def test_redirects_are_not_followed(webhook_settings, user):
    with WebhookReceiver([200]) as target, WebhookReceiver([("redirect", target.url("/stolen"))]) as receiver:
        firing = firing_for(user, receiver.url())
        result = firing_deliver(firing_id=str(firing.pk))
        receiver.wait_for(1)
        time.sleep(0.2)
        assert target.requests == []
    assert result.outcome == "redirect"
    assert result.status == "failed"
    (audit,) = AlertDelivery.objects.filter(firing_id=firing.pk)
    assert audit.status_code == 302
    assert "not followed" in audit.error


@pytest.mark.django_db
def test_the_address_is_checked_again_at_delivery(webhook_settings, user):
    """Allowed when saved, unsafe when sent (allowlist narrowed, or DNS now answering privately): blocked."""
    with WebhookReceiver([200]) as receiver:
        watch = watch_create(user_id=user.pk, topic="iran", webhook_url=receiver.url())
        firing = AlertFiring.objects.create(
            id=uuid.uuid4(), watched_topic=watch, payload={"topic": "iran"}, next_attempt_at=timezone.now()
        )
        webhook_settings.ALERTS_WEBHOOK_ALLOWLIST = []
        result = firing_deliver(firing_id=str(firing.pk))
        time.sleep(0.1)
        assert receiver.requests == []
    assert result.outcome == "blocked"
    assert result.status == "failed"
    (audit,) = AlertDelivery.objects.filter(firing_id=firing.pk)
    assert "loopback" in audit.error
    assert audit.status_code is None


@pytest.mark.django_db
def test_a_hostname_is_pinned_to_its_checked_address(webhook_settings, user):
    webhook_settings.ALERTS_WEBHOOK_ALLOWLIST = ["localhost"]
    with WebhookReceiver([200]) as receiver:
        firing = firing_for(user, f"http://localhost:{receiver.port}/hook")
        assert firing_deliver(firing_id=str(firing.pk)).status == "delivered"
        (request,) = receiver.wait_for(1)
    assert request.headers["host"] == f"localhost:{receiver.port}"


@pytest.mark.django_db(transaction=True)
def test_a_firing_is_sent_once_when_two_workers_race(webhook_settings, user):
    with WebhookReceiver([200], delay_s=0.3) as receiver:
        firing = firing_for(user, receiver.url())
        results = []

        def worker() -> None:
            try:
                results.append(firing_deliver(firing_id=str(firing.pk)).status)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        time.sleep(0.1)
        assert len(receiver.requests) == 1
    assert sorted(results) == ["delivered", "skipped", "skipped"]


@pytest.mark.django_db
def test_the_sweep_finds_due_and_abandoned_firings(webhook_settings, user):
    due = firing_for(user, "http://127.0.0.1:9/a")
    later = firing_for(user, "http://127.0.0.1:9/b")
    AlertFiring.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() + timezone.timedelta(hours=1))
    abandoned = firing_for(user, "http://127.0.0.1:9/c")
    AlertFiring.objects.filter(pk=abandoned.pk).update(
        status="delivering", claimed_until=timezone.now() - timezone.timedelta(seconds=1)
    )
    done = firing_for(user, "http://127.0.0.1:9/d")
    AlertFiring.objects.filter(pk=done.pk).update(status="delivered")
    assert set(firings_due_ids()) == {str(due.pk), str(abandoned.pk)}
