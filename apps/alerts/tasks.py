"""Celery tasks of apps/alerts: thin wrappers over apps/alerts/services.py."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from apps.alerts import services
from signalflow.queues import Queue, queue_name

TRANSIENT = (OperationalError, InterfaceError)


@shared_task(
    name="alerts.evaluate",
    queue=queue_name(Queue.DEFAULT),
    autoretry_for=TRANSIENT,
    retry_backoff=5,
    retry_jitter=True,
    max_retries=3,
    time_limit=120,
    soft_time_limit=100,
    # Idempotent by construction: the conditional UPDATE claims a firing at most once per cooldown.
    acks_late=True,
)
def alerts_evaluate() -> int:
    """Sent by the aggregator after each aggregation; fires the watches whose gates pass."""
    return len(services.alerts_evaluate())


@shared_task(
    name="alerts.deliver",
    queue=queue_name(Queue.DEFAULT),
    autoretry_for=TRANSIENT,
    retry_backoff=5,
    retry_jitter=True,
    max_retries=5,
    time_limit=90,
    soft_time_limit=75,
)
def alerts_deliver(firing_id: str) -> str:
    """One attempt; on a retryable failure the next one is scheduled after the firing's backoff.

    HTTP failures are not Celery retries: the schedule lives in alert_firings.next_attempt_at so
    that it survives a lost task, and the sweep below picks up anything that was not re-sent.
    """
    result = services.firing_deliver(firing_id=firing_id)
    if result.retry_in is not None:
        alerts_deliver.apply_async((firing_id,), countdown=result.retry_in)
    return result.status


@shared_task(
    name="alerts.sweep_due",
    queue=queue_name(Queue.DEFAULT),
    autoretry_for=TRANSIENT,
    retry_backoff=5,
    retry_jitter=True,
    max_retries=2,
    time_limit=60,
)
def alerts_sweep_due() -> int:
    return services.firings_due_enqueue()
