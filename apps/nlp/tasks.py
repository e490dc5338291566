"""Celery tasks of the pipeline. Thin: parse the JSON the bridge sent, call a service, return counts.

Queues are chosen per call, never by a task attribute (Celery deprecates `queue=` on tasks): the bridge
sends each batch with `queue=queue_name(Queue.GPU)` for comments or `queue_name(Queue.CPU)` for posts and
refreshes (apps/nlp/bridge.py LANES), and waits for the result before it commits the batch's offsets.
Both tasks are idempotent upserts, hence acks_late; a worker lost mid-task is reported as a failure
(reject_on_worker_lost stays off, so a message that kills its worker cannot loop forever) and the
bridge dispatches the batch again.
"""

from __future__ import annotations

from typing import Any

import redis
from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from apps.nlp import services
from signalflow.signal import Refresh

# Errors of a dependency that is briefly away (database restart, Redis failover): worth a retry.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
# The bridge never sends more than SIGNALFLOW_BRIDGE_BATCH_SIZE; this guards against anyone else.
MAX_ITEMS_PER_TASK = 2_000

_TASK_OPTIONS: dict[str, Any] = {
    "acks_late": True,  # safe: both tasks are idempotent upserts
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 3,
    "time_limit": settings.SIGNALFLOW_TASK_TIME_LIMIT_SECONDS,
    "soft_time_limit": max(1, settings.SIGNALFLOW_TASK_TIME_LIMIT_SECONDS - 15),
}


def _bounded(items: list[Any]) -> list[Any]:
    if not isinstance(items, list):
        raise TypeError(f"items must be a list, got {type(items).__name__}")
    if len(items) > MAX_ITEMS_PER_TASK:
        raise ValueError(f"{len(items)} items in one task, over the limit of {MAX_ITEMS_PER_TASK}")
    return items


@shared_task(name="nlp.process_batch", **_TASK_OPTIONS)
def process_batch(items: list[dict[str, Any]]) -> dict[str, int]:
    """Score and store a batch of signals: items are {"signal": <normalised signal>, "observed_at": ISO-8601}."""
    parsed = [services.signal_item_from_dict(item) for item in _bounded(items)]
    outcome = services.signals_process(items=parsed)
    return {"received": outcome.received, "stored": outcome.stored, "scored": outcome.scored}


@shared_task(name="nlp.apply_refreshes", **_TASK_OPTIONS)
def apply_refreshes(items: list[dict[str, Any]]) -> dict[str, int]:
    """Apply reddit.posts.refresh messages (score and comment count; sentiment is never recomputed)."""
    refreshes = [Refresh.model_validate(item) for item in _bounded(items)]
    return {"received": len(refreshes), "updated": services.refreshes_apply(refreshes=refreshes)}
