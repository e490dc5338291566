"""Fixtures of the alert tests: a local receiver may be called (allowlisted), retries are fast."""

from __future__ import annotations

import pytest

import celery_app  # noqa: F401 - makes the project's Celery app current (tasks go to this run's broker queues)
from tests.support.services import redis_require


@pytest.fixture
def webhook_settings(settings):
    redis_require()  # delivery tasks are enqueued on the Redis broker after commit
    settings.ALERTS_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    settings.ALERTS_WEBHOOK_REQUIRE_HTTPS = False
    settings.ALERTS_WEBHOOK_BACKOFF_BASE_S = 0.05
    settings.ALERTS_WEBHOOK_BACKOFF_MAX_S = 0.2
    settings.ALERTS_WEBHOOK_MAX_ATTEMPTS = 4
    settings.ALERTS_WEBHOOK_TIMEOUT_S = 5.0
    return settings


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("watcher", password="pw-watcher-1")
