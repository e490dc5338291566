"""Fixtures of the intelligence tests: crafted topics, the fake LLM server, an isolated archive directory."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

import celery_app  # noqa: F401 - makes the project's Celery app current (send_task goes to this run's broker)
from tests.support.factories import signal_create
from tests.support.fake_llm import FakeLlmServer
from tests.support.services import redis_require


def spread(mean: float, count: int, width: float = 0.22) -> list[float]:
    """`count` sentiments with exactly this mean and a realistic spread of ±width, shuffled deterministically."""
    values = mean + np.linspace(-width, width, count)
    np.random.default_rng(count).shuffle(values)
    return [float(round(value, 6)) for value in values]


def topic_create(
    topic: str,
    *,
    reddit: float,
    youtube: float,
    count: int,
    reddit_start_ago: timedelta = timedelta(hours=3),
    youtube_start_ago: timedelta = timedelta(hours=2),
) -> dict[str, list[float]]:
    """A two-platform topic: `count` signals per platform, one minute apart, with the given mean sentiments."""
    now = timezone.now().replace(microsecond=0)
    values = {"reddit": spread(reddit, count), "youtube": spread(youtube, count)}
    starts = {"reddit": now - reddit_start_ago, "youtube": now - youtube_start_ago}
    for platform, sentiments in values.items():
        for index, sentiment in enumerate(sentiments):
            signal_create(
                platform=platform,
                topics=[topic],
                sentiment=sentiment,
                is_comment=platform == "youtube",
                published_at=starts[platform] + timedelta(minutes=index),
                title=f"{platform} take {index} on {topic} https://example.com/{platform}/{index}",
                body=f"More about {topic} at www.example.org/{index} from {platform}",
                trending_score=float(count - index),
            )
    return values


@pytest.fixture(scope="module", autouse=True)
def _default_sources_restored(django_db_blocker):
    """This package's transactional tests end with a flush that empties source_config: put the
    migration-seeded watch list back after each module, for later tests of any app."""
    yield
    from django.db import connection

    from apps.ingest.services import source_config_seed

    with django_db_blocker.unblock():
        if connection.settings_dict["NAME"].startswith("test_"):
            source_config_seed()


@pytest.fixture
def redis_ready():
    redis_require()


@pytest.fixture
def fake_llm():
    server = FakeLlmServer().start()
    yield server
    server.stop()


@pytest.fixture
def archive_dir(tmp_path, settings):
    settings.SIGNALFLOW_ARCHIVE_DIR = str(tmp_path / "archive")
    return tmp_path / "archive"
