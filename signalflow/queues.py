"""Celery queue names: the one place they are spelled."""

from enum import StrEnum

from django.conf import settings


class Queue(StrEnum):
    GPU = "gpu"  # transformer sentiment (comments); one solo worker per accelerator
    CPU = "cpu"  # VADER, NER, scoring, upserts of posts
    DEFAULT = "default"  # periodic intelligence jobs, alerts, archive


def queue_name(queue: Queue) -> str:
    """The broker-side name: SIGNALFLOW_QUEUE_PREFIX keeps concurrent test runs apart (empty in production)."""
    return f"{settings.SIGNALFLOW_QUEUE_PREFIX}{queue.value}"
