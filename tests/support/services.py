"""Reaching the real services from tests: fail with a hint when one is down, never skip."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
FIXTURES = SHARED / "fixtures"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def kafka_require() -> None:
    first = settings.KAFKA_BOOTSTRAP_SERVERS.split(",")[0]
    host, _, port = first.rpartition(":")
    if not _port_open(host, int(port)):
        pytest.fail(
            f"Kafka is not reachable at {first}: run `make services` (it starts Tansu), or set KAFKA_BOOTSTRAP_SERVERS",
            pytrace=False,
        )


def redis_require() -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(settings.REDIS_URL)
    if not _port_open(parts.hostname or "127.0.0.1", parts.port or 6379):
        pytest.fail(f"Redis is not reachable at {settings.REDIS_URL}: run `make services`", pytrace=False)


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for a child process (bridge, worker, web) that shares this test run's namespaces."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "signalflow.settings.test",
            "KAFKA_TOPIC_PREFIX": settings.KAFKA_TOPIC_PREFIX,
            "KAFKA_BOOTSTRAP_SERVERS": settings.KAFKA_BOOTSTRAP_SERVERS,
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND,
            "SIGNALFLOW_QUEUE_PREFIX": getattr(settings, "SIGNALFLOW_QUEUE_PREFIX", ""),
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra)
    return env


PYTHON = sys.executable
