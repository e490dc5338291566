"""Evaluation: three gates (trend threshold, platform count, cooldown) and exactly-once claims."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.alerts.models import AlertFiring, WatchedTopic
from apps.alerts.services import alerts_evaluate
from tests.support.factories import signal_create


def watch(user, topic="iran", **fields):
    defaults = {"webhook_url": "http://127.0.0.1:9/hook", "secret": "s" * 32, "min_trending_score": 5.0}
    defaults.update(fields)
    return WatchedTopic.objects.create(user=user, topic=topic, **defaults)


def activity(topic="iran", *, platforms=("reddit", "youtube"), trending=6.0, minutes_ago=10):
    for platform in platforms:
        signal_create(
            platform=platform,
            topics=[topic],
            trending_score=trending,
            published_at=timezone.now() - timedelta(minutes=minutes_ago),
        )


@pytest.mark.django_db
def test_each_gate_decides(webhook_settings, user):
    activity("iran", platforms=("reddit", "youtube"), trending=6.0)
    activity("gaza", platforms=("reddit",), trending=9.0)
    fires = watch(user, "iran", min_trending_score=5.0, min_platforms=2)
    too_high = watch(user, "iran", webhook_url="http://127.0.0.1:9/b", min_trending_score=7.0)
    too_few_platforms = watch(user, "gaza", min_platforms=2)
    inactive = watch(user, "iran", webhook_url="http://127.0.0.1:9/c", is_active=False)
    watch(user, "iran", webhook_url="http://127.0.0.1:9/d", last_fired_at=timezone.now() - timedelta(minutes=5))

    ids = alerts_evaluate()

    assert len(ids) == 1
    firing = AlertFiring.objects.get()
    assert firing.watched_topic_id == fires.pk
    assert firing.status == "pending"
    assert firing.payload["topic"] == "iran"
    assert firing.payload["platforms"] == ["reddit", "youtube"]
    assert firing.payload["platform_count"] == 2
    assert firing.payload["trending_score"] == 6.0
    fires.refresh_from_db()
    assert fires.last_fired_at is not None
    for other in (too_high, too_few_platforms, inactive):
        other.refresh_from_db()
        assert other.last_fired_at is None
    # Cooldown holds the fired watch (and the cooling one) on the next run.
    assert alerts_evaluate() == []


@pytest.mark.django_db
def test_fires_again_once_the_cooldown_has_passed(webhook_settings, user):
    activity("iran")
    w = watch(user, cooldown_seconds=600)
    assert len(alerts_evaluate()) == 1
    WatchedTopic.objects.filter(pk=w.pk).update(last_fired_at=timezone.now() - timedelta(seconds=601))
    assert len(alerts_evaluate()) == 1
    assert AlertFiring.objects.filter(watched_topic=w).count() == 2


@pytest.mark.django_db
def test_signals_outside_the_window_do_not_count(webhook_settings, user):
    webhook_settings.ALERTS_EVALUATE_WINDOW_MINUTES = 30
    activity("iran", minutes_ago=45)
    watch(user)
    assert alerts_evaluate() == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_evaluators_fire_once(webhook_settings, user):
    """Evaluators on separate connections, started together, repeatedly: one firing per watch in total."""
    activity("iran")
    watches = [watch(user, webhook_url=f"http://127.0.0.1:9/{n}") for n in range(3)]
    threads_count, rounds = 4, 3
    barrier = threading.Barrier(threads_count)
    claimed: list[str] = []
    errors: list[BaseException] = []

    def evaluator() -> None:
        try:
            for _ in range(rounds):
                barrier.wait(timeout=30)
                claimed.extend(alerts_evaluate())
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=evaluator) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(claimed) == len(watches)
    assert sorted(AlertFiring.objects.values_list("watched_topic_id", flat=True)) == sorted(w.pk for w in watches)
