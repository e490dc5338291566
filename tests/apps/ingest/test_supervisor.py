"""The supervisor: hot reload of source_config, disabled sources, crash isolation."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest

from apps.ingest.models import SourceConfig
from apps.ingest.supervisor import Supervisor
from tests.support.fakes.algolia import FakeAlgolia
from tests.support.services import FIXTURES

transactional = pytest.mark.django_db(transaction=True)


async def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


@transactional
def test_hot_reload_adds_changes_and_stops_sources(publisher, settings):
    server = FakeAlgolia(fixtures=FIXTURES).start()
    settings.HN_ALGOLIA_URL = server.url + "/api/v1"
    settings.INGEST_CONFIG_RELOAD_SECONDS = 0.2
    SourceConfig.objects.filter(platform="hackernews").update(is_active=False)

    async def scenario() -> None:
        supervisor = Supervisor(platform="hackernews", publisher=publisher)
        stop = asyncio.Event()
        runner = asyncio.create_task(supervisor.run(stop))
        await wait_for(lambda: supervisor.reloads >= 1)
        assert supervisor.tasks == {}
        # added (as in the admin): starts within one reload
        row = await asyncio.to_thread(
            SourceConfig.objects.create, platform="hackernews", identifier="reload_test", poll_interval_seconds=300
        )
        await wait_for(lambda: "hackernews:reload_test" in supervisor.tasks)
        first = supervisor.tasks["hackernews:reload_test"][1]
        await wait_for(lambda: server.hits("/api/v1/search_by_date") >= 1)
        # changed: the task is replaced by one with the new settings
        row.poll_interval_seconds = 120
        row.options = {"tags": "story", "hits": 10}
        await asyncio.to_thread(row.save)
        await wait_for(lambda: supervisor.tasks.get("hackernews:reload_test", (None, first))[1] is not first)
        assert first.cancelled() or first.done()
        assert supervisor.sources["hackernews:reload_test"].interval == 120
        await wait_for(lambda: any(q.get("hitsPerPage") == "10" for _, _, q in server.requests))
        # deactivated: stopped
        await asyncio.to_thread(SourceConfig.objects.filter(pk=row.pk).update, is_active=False)
        await wait_for(lambda: "hackernews:reload_test" not in supervisor.tasks)
        stop.set()
        await asyncio.wait_for(runner, timeout=10)

    try:
        asyncio.run(scenario())
    finally:
        server.stop()


@transactional
def test_sources_without_credentials_are_disabled_with_one_line(publisher, settings, caplog):
    settings.REDDIT_CLIENT_ID = settings.REDDIT_CLIENT_SECRET = ""
    settings.YOUTUBE_API_KEY = ""
    settings.INGEST_CONFIG_RELOAD_SECONDS = 0.1
    for name in ("news", "worldnews", "technology"):
        SourceConfig.objects.update_or_create(platform="reddit", identifier=name, defaults={"is_active": True})

    async def scenario() -> Supervisor:
        supervisor = Supervisor(platform="reddit", publisher=publisher)
        stop = asyncio.Event()
        runner = asyncio.create_task(supervisor.run(stop))
        await wait_for(lambda: supervisor.reloads >= 3)
        stop.set()
        await runner
        return supervisor

    with caplog.at_level(logging.WARNING, logger="apps.ingest"):
        supervisor = asyncio.run(scenario())
    assert supervisor.tasks == {}
    lines = [r.getMessage() for r in caplog.records if "disabled" in r.getMessage()]
    assert lines == ["reddit: source disabled: REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET are not set"]


@transactional
def test_a_crashing_source_is_restarted_and_others_keep_running(publisher, settings, monkeypatch):
    server = FakeAlgolia(fixtures=FIXTURES).start()
    settings.HN_ALGOLIA_URL = server.url + "/api/v1"
    settings.INGEST_CONFIG_RELOAD_SECONDS = 0.2
    settings.INGEST_BACKOFF_MAX_SECONDS = 0.1
    settings.INGEST_STARTUP_SPREAD_SECONDS = 0.5
    SourceConfig.objects.filter(platform="hackernews").update(is_active=False)
    for name in ("story", "ask_hn"):
        SourceConfig.objects.update_or_create(
            platform="hackernews", identifier=name, defaults={"is_active": True, "options": {"tags": name}}
        )
    from apps.ingest.sources.hackernews import HackerNewsSource

    original = HackerNewsSource.run
    crashes = {"n": 0}

    async def flaky_run(self):
        if self.name == "ask_hn" and crashes["n"] < 2:
            crashes["n"] += 1
            raise RuntimeError("boom")
        return await original(self)

    monkeypatch.setattr(HackerNewsSource, "run", flaky_run)

    async def scenario() -> Supervisor:
        supervisor = Supervisor(platform="hackernews", publisher=publisher)
        stop = asyncio.Event()
        runner = asyncio.create_task(supervisor.run(stop))
        await wait_for(lambda: len(supervisor.sources) == 2)
        await wait_for(lambda: all(s.polls >= 1 for s in supervisor.sources.values()))
        stop.set()
        await runner
        return supervisor

    try:
        asyncio.run(scenario())
    finally:
        server.stop()
    assert crashes["n"] == 2


@pytest.mark.slow
@transactional
def test_run_ingest_process_serves_metrics_and_stops_on_sigterm(kafka_topics):
    """The real command in its own process: HN against the fake, /metrics up, clean exit on SIGTERM."""
    import signal
    import socket
    import subprocess
    import urllib.request

    from tests.support.services import PYTHON, ROOT, subprocess_env

    SourceConfig.objects.filter(platform="hackernews").update(is_active=False)
    SourceConfig.objects.update_or_create(
        platform="hackernews", identifier="smoke", defaults={"is_active": True, "options": {"tags": "story"}}
    )
    server = FakeAlgolia(fixtures=FIXTURES).start()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    from django.db import connection

    db = connection.settings_dict
    env = subprocess_env(
        # the child must read this test database, not the development one
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        HN_ALGOLIA_URL=server.url + "/api/v1",
        INGEST_SEEN_TTL_SECONDS="60",
        REDDIT_CLIENT_ID="",
        YOUTUBE_API_KEY="",
    )
    process = subprocess.Popen(
        [PYTHON, "manage.py", "run_ingest", "--platform", "hackernews", "--metrics-port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        body = ""
        while time.monotonic() < deadline:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
            except OSError:
                body = ""
            if 'signalflow_ingest_last_success_timestamp_seconds{platform="hackernews",source="smoke"}' in body:
                break
            time.sleep(0.3)
        assert 'signalflow_ingest_signals_produced_total{platform="hackernews"}' in body
        assert server.hits("/api/v1/search_by_date") >= 2
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=20)[0].decode()
        assert process.returncode == 0, output
        assert "Traceback" not in output
    finally:
        if process.poll() is None:
            process.kill()
        server.stop()


@pytest.mark.django_db
def test_default_watch_list_seed_is_idempotent():
    from apps.ingest.services import source_config_seed

    SourceConfig.objects.filter(platform="youtube").delete()
    kept = SourceConfig.objects.filter(platform="reddit").first()
    if kept is not None:
        kept.poll_interval_seconds = 999
        kept.save()
    added = source_config_seed()
    assert added >= 10
    assert SourceConfig.objects.filter(platform="youtube").count() == 10
    assert SourceConfig.objects.filter(platform="reddit").count() == 188
    if kept is not None:
        kept.refresh_from_db()
        assert kept.poll_interval_seconds == 999  # an edited row is not overwritten
    assert source_config_seed() == 0
