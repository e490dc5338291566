"""Celery tasks of apps/intel: thin wrappers that take the job's lock and call a service.

Transient failures (database or Redis connection, Kafka) retry with jittered backoff a bounded
number of times; every job's lock lives as long as its hard time limit, so a killed run frees it.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError
from kafka.errors import KafkaError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from apps.intel import services
from signalflow.queues import Queue, queue_name

TRANSIENT = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError)

AGGREGATE_LIMIT_S = 120
DIVERGENCE_LIMIT_S = 600
SUMMARY_LIMIT_S = 840
ARCHIVE_LIMIT_S = 3600
DISK_LIMIT_S = 60


@shared_task(
    name="intel.aggregate_topics",
    queue=queue_name(Queue.DEFAULT),
    autoretry_for=TRANSIENT,
    retry_backoff=2,
    retry_backoff_max=30,
    retry_jitter=True,
    max_retries=3,
    soft_time_limit=AGGREGATE_LIMIT_S - 10,
    time_limit=AGGREGATE_LIMIT_S,
    acks_late=True,  # idempotent: buckets are recomputed absolutely
)
def aggregate_topics() -> dict[str, Any]:
    return services.job_run(name="aggregate_topics", ttl_s=AGGREGATE_LIMIT_S, work=services.topics_aggregate)


@shared_task(
    name="intel.detect_divergence",
    queue=queue_name(Queue.DEFAULT),
    autoretry_for=TRANSIENT,
    retry_backoff=5,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=3,
    soft_time_limit=DIVERGENCE_LIMIT_S - 30,
    time_limit=DIVERGENCE_LIMIT_S,
    acks_late=True,  # idempotent: the open-event upsert never duplicates
)
def detect_divergence() -> dict[str, Any]:
    return services.job_run(name="detect_divergence", ttl_s=DIVERGENCE_LIMIT_S, work=services.divergences_detect)


@shared_task(
    name="intel.summarise_topics",
    queue=queue_name(Queue.DEFAULT),
    autoretry_for=TRANSIENT,
    retry_backoff=10,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=2,
    soft_time_limit=SUMMARY_LIMIT_S - 30,
    time_limit=SUMMARY_LIMIT_S,
    # Not acks_late: a redelivered run would pay for the same LLM calls twice.
)
def summarise_topics() -> dict[str, Any]:
    return services.job_run(name="summarise_topics", ttl_s=SUMMARY_LIMIT_S, work=services.topics_summarise)


@shared_task(
    name="intel.archive_signals",
    queue=queue_name(Queue.DEFAULT),
    autoretry_for=TRANSIENT,
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=3,
    soft_time_limit=ARCHIVE_LIMIT_S - 60,
    time_limit=ARCHIVE_LIMIT_S,
    acks_late=True,  # restartable at every step (manifest in archive_files)
)
def archive_signals(older_than_days: int = 90) -> dict[str, Any]:
    return services.job_run(
        name="archive_signals",
        ttl_s=ARCHIVE_LIMIT_S,
        work=lambda: services.signals_archive(older_than_days=older_than_days),
    )


@shared_task(
    name="intel.replay_archive",
    queue=queue_name(Queue.DEFAULT),
    autoretry_for=(*TRANSIENT, KafkaError),
    retry_backoff=10,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=3,
    soft_time_limit=ARCHIVE_LIMIT_S - 60,
    time_limit=ARCHIVE_LIMIT_S,
)
def replay_archive(day_from: str | None = None, day_to: str | None = None) -> dict[str, Any]:
    return services.job_run(
        name="replay_archive",
        ttl_s=ARCHIVE_LIMIT_S,
        work=lambda: services.archive_replay(day_from=day_from, day_to=day_to),
    )


@shared_task(
    name="intel.check_disk",
    queue=queue_name(Queue.DEFAULT),
    soft_time_limit=DISK_LIMIT_S - 10,
    time_limit=DISK_LIMIT_S,
    max_retries=0,  # the next tick is the retry
)
def check_disk() -> dict[str, Any]:
    return {"disks": services.disk_check()}
