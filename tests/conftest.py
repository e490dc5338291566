"""Suite-wide fixtures. Every test talks to the real PostgreSQL, Redis and Kafka-compatible broker."""

from __future__ import annotations

import pytest

from tests.support.services import kafka_require, redis_require


@pytest.fixture(scope="session")
def kafka_topics(django_db_blocker: object) -> None:
    """This run's namespaced topics exist (signalflow.kafka registry)."""
    kafka_require()
    from signalflow.kafka import topics_ensure

    topics_ensure()


@pytest.fixture
def redis_nlp():
    """The NLP cache database, emptied of this test's keys afterwards."""
    import redis
    from django.conf import settings

    redis_require()
    client = redis.Redis.from_url(settings.REDIS_NLP_URL)
    yield client
    client.close()
