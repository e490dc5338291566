"""Live sources against local fakes that speak each platform's protocol, driving the real clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable

import pytest
from prometheus_client import REGISTRY

from apps.ingest.models import IngestCursor, SourceConfig
from apps.ingest.normalisers import base as normaliser_base
from apps.ingest.normalisers import normalise_payload
from apps.ingest.ratelimit import TokenBucket
from apps.ingest.selectors import SourceSpec
from apps.ingest.sources.bluesky import CURSOR_KEY, BlueskyFirehoseSource
from apps.ingest.sources.hackernews import HackerNewsSource, hackernews_client_create
from apps.ingest.sources.reddit import RedditSource, reddit_client_create
from apps.ingest.sources.youtube import YouTubeQuota, YouTubeSource, youtube_client_create
from signalflow.kafka import REDDIT_POSTS_RAW, REDDIT_POSTS_REFRESH
from signalflow.signal import refresh_from_bytes, signal_from_bytes
from tests.support.fakes.algolia import FakeAlgolia
from tests.support.fakes.firehose import FakeFirehose
from tests.support.fakes.reddit import FakeReddit
from tests.support.fakes.server import Scripted
from tests.support.fakes.youtube import FakeYouTube
from tests.support.services import FIXTURES

transactional = pytest.mark.django_db(transaction=True)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def run_until(source, done: Callable[[], bool], timeout: float = 20.0) -> None:
    task = asyncio.create_task(source.run())
    deadline = time.monotonic() + timeout
    try:
        while not done():
            if task.done():
                task.result()
            if time.monotonic() > deadline:
                raise AssertionError("source did not get there in time")
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def spec(platform: str, identifier: str, interval: int = 300, **options: object) -> SourceSpec:
    return SourceSpec(platform, identifier, "test", interval, tuple(sorted(options.items())))


@pytest.fixture
def algolia(settings):
    server = FakeAlgolia(fixtures=FIXTURES).start()
    settings.HN_ALGOLIA_URL = server.url + "/api/v1"
    yield server
    server.stop()


def _ids(records) -> Counter:
    return Counter(signal_from_bytes(r.value).id for r in records)


@transactional
def test_hackernews_429_then_recovery(algolia, publisher, bus_tail):
    algolia.script("/api/v1/search_by_date", Scripted(status=429, headers={"Retry-After": "1"}, body=b"{}"))
    tail = bus_tail()
    before = metric("signalflow_ingest_upstream_errors_total", platform="hackernews", kind="rate_limited")
    bucket = TokenBucket(platform="hackernews", rate=50, burst=10)
    source = HackerNewsSource(
        spec=spec("hackernews", "story", tags="story"),
        publisher=publisher,
        client=hackernews_client_create(),
        bucket=bucket,
    )
    timings: list[float] = []

    async def scenario() -> None:
        started = time.monotonic()
        await run_until(source, lambda: source.polls >= 1)
        timings.append(time.monotonic() - started)
        timings.append(len(tail.read(want=40)))
        # a second poll: stories unchanged, no comment newer than the persisted high-water mark
        await source.poll()
        await source.client.aclose()

    asyncio.run(scenario())
    assert timings[0] >= 0.9, "the retry waited for Retry-After"
    assert metric("signalflow_ingest_upstream_errors_total", platform="hackernews", kind="rate_limited") == before + 1
    stories = json.loads((FIXTURES / "hackernews/search_by_date_tags=story.json").read_text())["hits"]
    comments = json.loads((FIXTURES / "hackernews/search_by_date_tags=comment.json").read_text())["hits"]
    ids = _ids(tail.read(want=40))
    assert set(ids) == {f"hackernews:{h['objectID']}" for h in stories + comments}
    assert max(ids.values()) == 1
    newest = max(h["created_at_i"] for h in comments)
    assert IngestCursor.objects.get(key="hackernews:story:comments_after").value == str(newest)
    assert timings[1] == 40
    assert len(tail.read(want=41, timeout=1.5)) == 40
    assert algolia.requests[-1][2]["numericFilters"] == f"created_at_i>{newest - 600}"


@transactional
def test_hackernews_malformed_payloads_are_counted_and_skipped(algolia, publisher, bus_tail, settings, monkeypatch):
    settings.INGEST_BACKOFF_MAX_SECONDS = 0.1
    monkeypatch.setattr(normaliser_base, "MAX_PAYLOAD_BYTES", 120_000)
    stories = json.loads((FIXTURES / "hackernews/search_by_date_tags=story.json").read_text())
    missing = json.loads(json.dumps(stories))
    del missing["hits"][0]["objectID"]  # missing field
    missing["hits"][1]["points"] = "many"  # wrong type
    missing["hits"][2]["story_text"] = "y" * 90_000  # a big body: clipped, not refused
    algolia.script(
        "/api/v1/search_by_date",
        Scripted(body=json.dumps(stories).encode()[:500]),  # truncated JSON
        Scripted(body=b'{"hits": [{"title": "\xff\xfe broken"}]}'),  # invalid UTF-8
        Scripted(body=b'{"hits": "not a list"}'),  # wrong type
        Scripted(body=b'{"hits": []' + b" " * 150_000 + b"}"),  # over the size limit
        Scripted(body=json.dumps(missing).encode()),
    )
    tail = bus_tail()
    before = metric("signalflow_ingest_malformed_items_total", platform="hackernews")
    source = HackerNewsSource(
        spec=spec("hackernews", "story", interval=1, tags="story"),
        publisher=publisher,
        client=hackernews_client_create(),
        bucket=TokenBucket(platform="hackernews", rate=100, burst=10),
    )

    async def scenario() -> None:
        await run_until(source, lambda: source.polls >= 1)
        await source.client.aclose()

    asyncio.run(scenario())
    assert source.failures == 0
    assert metric("signalflow_ingest_malformed_items_total", platform="hackernews") - before >= 5
    records = tail.read(want=38)
    ids = _ids(records)
    assert f"hackernews:{stories['hits'][0]['objectID']}" not in ids
    assert f"hackernews:{stories['hits'][1]['objectID']}" not in ids
    assert sum(1 for i in ids if i in {f"hackernews:{h['objectID']}" for h in stories["hits"]}) == 18
    big = next(
        signal_from_bytes(r.value) for r in records if r.key.decode() == f"hackernews:{stories['hits'][2]['objectID']}"
    )
    assert len(big.body) == 40_000


@pytest.fixture
def fake_reddit(settings):
    server = FakeReddit(fixtures=FIXTURES, comment_scores={"gao5889": 12, "gao66wc": 7, "gius5s0": 5}).start()
    settings.REDDIT_CLIENT_ID, settings.REDDIT_CLIENT_SECRET = "cid", "secret"
    settings.REDDIT_OAUTH_URL = settings.REDDIT_URL = server.url
    yield server
    server.stop()


@transactional
def test_reddit_listing_comments_raw_and_refresh(fake_reddit, publisher, bus_tail, settings):
    settings.REDDIT_REFRESH_WINDOW_HOURS = 24 * 365 * 20  # the recorded posts are years old
    fake_reddit.script(
        "/r/",
        Scripted(
            status=429,
            headers={"x-ratelimit-reset": "1", "x-ratelimit-remaining": "0", "x-ratelimit-used": "100"},
            body=b"{}",
        ),
    )
    signals_tail, raw_tail, refresh_tail = bus_tail(), bus_tail(REDDIT_POSTS_RAW), bus_tail(REDDIT_POSTS_REFRESH)
    expected = normalise_payload("reddit", json.dumps(fake_reddit.comments).encode())
    good_comments = sorted((s for s in expected if s.is_comment and s.raw_score >= 5), key=lambda s: -s.raw_score)[:25]

    async def scenario() -> None:
        reddit = reddit_client_create()
        source = RedditSource(
            spec=spec("reddit", "small"),
            publisher=publisher,
            reddit=reddit,
            bucket=TokenBucket(platform="reddit", rate=50, burst=5),
        )
        await run_until(source, lambda: source.polls >= 1)
        fake_reddit.score_bump = 7
        assert await source.refresh() == 5
        # polled again: nothing new, no comment tree fetched twice, unchanged scores not re-sent
        trees = fake_reddit.hits("/comments/")
        await source.poll()
        assert fake_reddit.hits("/comments/") == trees == 5
        await reddit.close()

    started = time.monotonic()
    asyncio.run(scenario())
    assert time.monotonic() - started >= 0.9, "the 429 was waited out"
    assert fake_reddit.tokens_issued >= 1
    ids = _ids(signals_tail.read(want=5 + len(good_comments)))
    posts = {f"reddit:{p['data']['id']}" for p in fake_reddit.posts}
    assert set(ids) == posts | {c.id for c in good_comments}
    assert max(ids.values()) == 1
    assert [c.source_id for c in good_comments] == ["gao5889", "gao66wc", "gius5s0"]
    assert {r.key.decode() for r in raw_tail.read(want=5)} == posts
    refreshes = [refresh_from_bytes(r.value) for r in refresh_tail.read(want=5)]
    assert {r.id for r in refreshes} == posts
    by_id = {f"reddit:{p['data']['id']}": p["data"]["score"] for p in fake_reddit.posts}
    assert all(r.raw_score == by_id[r.id] + 7 for r in refreshes)


@transactional
def test_reddit_malformed_listing_is_counted_and_the_source_recovers(fake_reddit, publisher, bus_tail, settings):
    settings.INGEST_BACKOFF_MAX_SECONDS = 0.1
    listing = {"kind": "Listing", "data": {"children": list(fake_reddit.posts)}}
    broken = json.loads(json.dumps(listing))
    broken["data"]["children"][1]["data"]["created_utc"] = "yesterday"  # wrong type: that post is skipped
    fake_reddit.script(
        "/r/",
        Scripted(body=json.dumps(listing).encode()[:400]),  # truncated: asyncpraw raises BadJSON
        Scripted(body=b"\xff\xfe\x00 not utf-8"),
        Scripted(body=json.dumps(broken).encode()),
    )
    tail = bus_tail()
    before = metric("signalflow_ingest_malformed_items_total", platform="reddit")

    async def scenario() -> None:
        reddit = reddit_client_create()
        source = RedditSource(
            spec=spec("reddit", "small", interval=1),
            publisher=publisher,
            reddit=reddit,
            bucket=TokenBucket(platform="reddit", rate=50, burst=5),
        )
        await run_until(source, lambda: source.polls >= 2)
        await reddit.close()

    asyncio.run(scenario())
    assert metric("signalflow_ingest_malformed_items_total", platform="reddit") - before >= 3
    posts = {f"reddit:{p['data']['id']}" for p in fake_reddit.posts}
    ids = {i for i in _ids(tail.read(want=5)) if i in posts}
    assert ids == posts  # the skipped post came back on the next, clean poll


@transactional
def test_youtube_channel_videos_threads_and_quota(publisher, bus_tail, settings, caplog):
    server = FakeYouTube(fixtures=FIXTURES).start()
    settings.YOUTUBE_API_KEY, settings.YOUTUBE_API_URL = "yt-key", server.url + "/"
    settings.YOUTUBE_VIDEOS_PER_CHANNEL = 2
    tail = bus_tail()
    try:

        async def scenario() -> YouTubeSource:
            source = YouTubeSource(
                spec=spec("youtube", "@GoogleDevelopers"),
                publisher=publisher,
                client=youtube_client_create(),
                bucket=TokenBucket(platform="youtube", rate=50, burst=5),
                quota=YouTubeQuota(daily_limit=4),
                lock=asyncio.Lock(),
            )
            await source.poll()
            with caplog.at_level(logging.WARNING, logger="apps.ingest"):
                await source.poll()  # channel cached; the next call would pass the daily quota
            return source

        source = asyncio.run(scenario())
        assert source.quota.used == 4
        assert server.hits("/youtube/v3/channels") == 1
        assert server.hits("/youtube/v3/playlistItems") == 1
        assert server.hits("/youtube/v3/commentThreads") == 2
        assert "daily quota reached (4 of 4 units" in caplog.text
        playlist = json.loads((FIXTURES / "youtube/playlist_items__playlist_items_paged_1.json").read_text())
        titles = {i["snippet"]["resourceId"]["videoId"]: i["snippet"]["title"] for i in playlist["items"][:2]}
        records = [signal_from_bytes(r.value) for r in tail.read(want=10)]
        assert len(records) == 10
        assert {s.extra["video_id"] for s in records} == set(titles)
        assert all(s.title == titles[s.extra["video_id"]] and s.is_comment for s in records)
        assert IngestCursor.objects.filter(key="youtube:channel:@GoogleDevelopers").exists()
    finally:
        server.stop()


@transactional
def test_firehose_disconnect_resumes_from_cursor_without_gap_or_duplicate(publisher, bus_tail, settings):
    server = FakeFirehose(fixtures=FIXTURES, drop_after=30, replay_overlap=6).start()
    settings.BLUESKY_FIREHOSE_URL = server.url.replace("http", "ws") + "/xrpc"
    settings.BLUESKY_CURSOR_SAVE_SECONDS = 0.1
    settings.BLUESKY_RECV_TIMEOUT_SECONDS = 10
    tail = bus_tail()
    last_seq = server.frames[-1][0]
    malformed_before = metric("signalflow_ingest_malformed_items_total", platform="bluesky")
    post_ids = {
        s.id
        for f in sorted((FIXTURES / "bluesky/firehose_frames").glob("*.cbor"))
        for s in normalise_payload("bluesky", f.read_bytes(), filename=f.name)
    }
    try:

        def make() -> BlueskyFirehoseSource:
            return BlueskyFirehoseSource(
                spec=spec("bluesky", "firehose", interval=0),
                publisher=publisher,
                bucket=TokenBucket(platform="bluesky", rate=10_000, burst=1000),
            )

        first = make()
        asyncio.run(run_until(first, lambda: first.cursor == last_seq, timeout=30))
        assert len(server.connections) >= 2
        assert server.connections[0] is None
        resumed_from = server.connections[1]
        assert resumed_from is not None
        assert resumed_from >= server.frames[29 - 1][0] - 1
        assert IngestCursor.objects.get(key=CURSOR_KEY).value == str(last_seq)
        # a restarted process resumes from the persisted cursor and sends nothing twice
        second = make()
        asyncio.run(run_until(second, lambda: len(server.connections) >= 3 and second.frames >= 0, timeout=15))
        assert server.connections[-1] == last_seq
        ids = _ids(tail.read(want=len(post_ids), quiet=1.0))
        assert set(ids) == post_ids
        assert len(post_ids) == 7
        assert max(ids.values()) == 1, "no duplicate"
        assert metric("signalflow_ingest_malformed_items_total", platform="bluesky") - malformed_before >= 4
    finally:
        server.stop()


@pytest.mark.slow
@transactional
def test_sigkilled_ingest_process_resumes_the_firehose_without_gap(bus_tail, kafka_topics):
    """DESIGN.md: kill -9 the ingest process mid-stream, start it again: every post arrives."""
    import signal
    import subprocess

    from django.db import connection

    from tests.support.services import PYTHON, ROOT, subprocess_env

    server = FakeFirehose(fixtures=FIXTURES, frame_delay=0.1, with_malformed=False).start()
    SourceConfig.objects.filter(platform="bluesky").delete()
    SourceConfig.objects.create(platform="bluesky", identifier="firehose", poll_interval_seconds=0)
    db = connection.settings_dict
    env = subprocess_env(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        BLUESKY_FIREHOSE_URL=server.url.replace("http", "ws") + "/xrpc",
        BLUESKY_CURSOR_SAVE_SECONDS="0.2",
    )
    command = [PYTHON, "manage.py", "run_ingest", "--platform", "bluesky", "--metrics-port", "0"]
    tail = bus_tail()
    last_seq = server.frames[-1][0]
    post_ids = {
        s.id
        for f in sorted((FIXTURES / "bluesky/firehose_frames").glob("*.cbor"))
        for s in normalise_payload("bluesky", f.read_bytes(), filename=f.name)
    }
    processes = []
    try:
        first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(first)
        deadline = time.monotonic() + 90
        while len(server.sent_seqs) < 30 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(server.sent_seqs) >= 30, "the first process never got going"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        killed_at = len(server.sent_seqs)
        assert killed_at < len(server.frames), "killed mid-stream"
        second = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        processes.append(second)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            value = IngestCursor.objects.filter(key=CURSOR_KEY).values_list("value", flat=True).first()
            if value == str(last_seq):
                break
            time.sleep(0.3)
        assert value == str(last_seq)
        assert server.connections[0] is None
        assert server.connections[-1] is not None, "resumed from the cursor"
        ids = _ids(tail.read(want=len(post_ids), quiet=1.0))
        assert set(ids) == post_ids, "no gap"
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
        assert second.returncode == 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
        server.stop()
