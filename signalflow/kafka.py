"""The Kafka bus: the topic registry, and the one producer and consumer configuration.

Every topic SignalFlow uses is declared in TOPICS; `make services` creates them from here
(`manage.py kafka_topics --create`). Producers send with acks=all and Snappy compression keyed
by signal id (so a signal's updates stay in order on one partition); consumers never
auto-commit: the caller commits after the work the offsets cover is stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from signalflow.signal import Signal

logger = logging.getLogger(__name__)

SIGNALS_NORMALISED = "signals.normalised"
REDDIT_POSTS_RAW = "reddit.posts.raw"
REDDIT_POSTS_REFRESH = "reddit.posts.refresh"
DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    purpose: str
    has_dlq: bool = True


def _signals_partitions() -> int:
    return max(3, int(getattr(settings, "KAFKA_SIGNALS_PARTITIONS", 3)))


def topic_registry() -> list[TopicSpec]:
    """Every topic, DLQs included, in creation order."""
    base = [
        TopicSpec(SIGNALS_NORMALISED, _signals_partitions(), "normalised signals from every source"),
        TopicSpec(REDDIT_POSTS_RAW, 1, "raw Reddit payloads, kept for replay and audits"),
        TopicSpec(REDDIT_POSTS_REFRESH, 3, "score and comment-count refreshes of recent posts"),
    ]
    dlqs = [TopicSpec(dlq_topic(spec.name), 1, f"dead letters of {spec.name}", has_dlq=False) for spec in base]
    return base + dlqs


def dlq_topic(name: str) -> str:
    return name + DLQ_SUFFIX


def topic_name(name: str) -> str:
    """The physical topic name: KAFKA_TOPIC_PREFIX namespaces a test run or a tenant."""
    return f"{settings.KAFKA_TOPIC_PREFIX}{name}"


def logical_topic_name(physical: str) -> str:
    prefix = settings.KAFKA_TOPIC_PREFIX
    return physical[len(prefix) :] if prefix and physical.startswith(prefix) else physical


def group_name(name: str) -> str:
    return f"{settings.KAFKA_TOPIC_PREFIX}{name}"


def _bootstrap() -> list[str]:
    return [server.strip() for server in settings.KAFKA_BOOTSTRAP_SERVERS.split(",") if server.strip()]


def producer_create(**overrides: Any) -> KafkaProducer:
    """A producer with the bus's durability settings; send signals with `signal_produce`."""
    config: dict[str, Any] = {
        "bootstrap_servers": _bootstrap(),
        "acks": "all",
        "compression_type": settings.KAFKA_COMPRESSION or None,
        "linger_ms": 20,
        "retries": 10,
        "max_in_flight_requests_per_connection": 1,  # keep per-key order across retries
        "request_timeout_ms": 30_000,
    }
    config.update(overrides)
    return KafkaProducer(**config)


def signal_produce(producer: KafkaProducer, signal: Signal, topic: str = SIGNALS_NORMALISED) -> Any:
    """Send one validated signal keyed by its id (so its refreshes stay ordered); returns the future."""
    return producer.send(topic_name(topic), key=signal.id.encode(), value=signal.to_bytes())


def consumer_create(*topics: str, group: str, **overrides: Any) -> KafkaConsumer:
    """A consumer on logical topic names with manual commits only.

    max_poll_interval_ms is also the group's rebalance timeout: a few seconds keeps the first
    join fast on Tansu and lets a dead member's partitions move quickly.
    """
    config: dict[str, Any] = {
        "bootstrap_servers": _bootstrap(),
        "group_id": group_name(group),
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_interval_ms": 10_000,
        "session_timeout_ms": 10_000,
        "heartbeat_interval_ms": 1_000,
        "max_poll_records": 500,
    }
    config.update(overrides)
    if config.get("enable_auto_commit"):
        raise ValueError("SignalFlow consumers commit manually, after the work is stored")
    return KafkaConsumer(*(topic_name(topic) for topic in topics), **config)


def admin_create() -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=_bootstrap(), request_timeout_ms=15_000)


def topics_ensure(specs: list[TopicSpec] | None = None) -> list[str]:
    """Create every registered topic that is missing; returns the physical names created."""
    specs = specs if specs is not None else topic_registry()
    admin = admin_create()
    try:
        existing = set(admin.list_topics())
        wanted = [spec for spec in specs if topic_name(spec.name) not in existing]
        created = []
        for spec in wanted:
            try:
                admin.create_topics([NewTopic(topic_name(spec.name), spec.partitions, 1)])
                created.append(topic_name(spec.name))
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        admin.close()
