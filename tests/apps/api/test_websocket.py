"""/ws/signals/ through the project's ASGI application and the real Redis channel layer.

The consumer runs in-process (channels' WebsocketCommunicator); the last test runs a real Daphne
and a real WebSocket client. Database writes are committed (transaction=True) because the
consumer looks users up from its own thread.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from signalflow.asgi import application
from signalflow.realtime import SIGNAL_STORED_TYPE, SIGNALS_GROUP
from tests.support.services import PYTHON, ROOT, redis_require, subprocess_env

ORIGIN = (b"origin", b"http://localhost")
# transaction=True: the consumer reads on its own thread and connection, so rows must be committed.
# (No serialized_rollback: after another transactional test's flush, post_migrate has recreated the
# content types, and deserialising them again would collide. Tests that need the seeded sources seed them.)
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _redis():
    redis_require()


def signal(n: int = 1, *, platform: str = "reddit", topics: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": f"{platform}:ws{n}",
        "platform": platform,
        "title": f"signal {n}",
        "body": "",
        "topics": topics or ["iran"],
        "sentiment_compound": -0.2,
        "is_comment": False,
    }


async def publish(*signals: dict[str, Any]) -> None:
    layer = get_channel_layer()
    for item in signals:
        await layer.group_send(SIGNALS_GROUP, {"type": SIGNAL_STORED_TYPE, "signal": item})


async def connect(path: str, headers: list | None = None) -> tuple[WebsocketCommunicator, bool, Any]:
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN, *(headers or [])])
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def welcome(communicator: WebsocketCommunicator) -> dict[str, Any]:
    message = await communicator.receive_json_from(timeout=5)
    assert message["type"] == "welcome", message
    return message


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_token_in_query_string_receives_published_signals(user):
    token = str(AccessToken.for_user(user))

    async def scenario() -> None:
        communicator, connected, _ = await connect(f"/ws/signals/?token={token}")
        assert connected
        assert (await welcome(communicator))["user"] == "reader"
        await publish(signal(1), signal(2, platform="bluesky"))
        first = await communicator.receive_json_from(timeout=5)
        second = await communicator.receive_json_from(timeout=5)
        assert first == {"type": "signal.stored", "signal": signal(1)}
        assert second["signal"]["id"] == "bluesky:ws2"
        await communicator.disconnect()

    run(scenario())


def test_filters_by_topic_and_platform(user):
    token = str(AccessToken.for_user(user))

    async def scenario() -> None:
        communicator, _, _ = await connect(f"/ws/signals/?token={token}")
        await welcome(communicator)
        await communicator.send_json_to({"action": "subscribe", "topics": ["Oil"], "platforms": ["YouTube"]})
        assert await communicator.receive_json_from(timeout=5) == {
            "type": "subscribed",
            "filters": {"topics": ["oil"], "platforms": ["youtube"]},
        }
        await publish(
            signal(1, platform="youtube", topics=["iran"]),
            signal(2, platform="reddit", topics=["oil"]),
            signal(3, platform="youtube", topics=["gaza", "oil"]),
        )
        received = await communicator.receive_json_from(timeout=5)
        assert received["signal"]["id"] == "youtube:ws3"
        assert await communicator.receive_nothing(timeout=0.5)
        # An empty subscription means everything again.
        await communicator.send_json_to({"action": "subscribe"})
        await communicator.receive_json_from(timeout=5)
        await publish(signal(4, platform="hackernews", topics=["x"]))
        assert (await communicator.receive_json_from(timeout=5))["signal"]["id"] == "hackernews:ws4"
        await communicator.disconnect()

    run(scenario())


def test_bad_messages_get_errors_naming_the_field(user):
    token = str(AccessToken.for_user(user))

    async def scenario() -> None:
        communicator, _, _ = await connect(f"/ws/signals/?token={token}")
        await welcome(communicator)
        for message, expected in (
            ({"action": "subscribe", "platforms": ["myspace"]}, "platforms"),
            ({"action": "subscribe", "topics": "iran"}, "topics"),
            ({"action": "dance"}, "action"),
        ):
            await communicator.send_json_to(message)
            reply = await communicator.receive_json_from(timeout=5)
            assert reply["type"] == "error"
            assert reply["error"].startswith(expected)
        await communicator.send_to(text_data="{not json")
        assert (await communicator.receive_json_from(timeout=5))["type"] == "error"
        await communicator.disconnect()

    run(scenario())


def test_auth_by_first_message(user):
    token = str(AccessToken.for_user(user))

    async def scenario() -> None:
        communicator, connected, _ = await connect("/ws/signals/")
        assert connected
        await publish(signal(1))  # not yet authenticated: not in the group
        await communicator.send_json_to({"action": "auth", "token": token})
        await welcome(communicator)
        await publish(signal(2))
        assert (await communicator.receive_json_from(timeout=5))["signal"]["id"] == "reddit:ws2"
        await communicator.disconnect()

    run(scenario())


def test_invalid_or_expired_tokens_are_refused(user):
    expired = AccessToken.for_user(user)
    expired.set_exp(lifetime=-timedelta(seconds=1))

    async def scenario() -> None:
        for token in ("garbage", str(expired)):
            communicator, connected, code = await connect(f"/ws/signals/?token={token}")
            assert not connected
            assert code == 4401
        communicator, connected, _ = await connect("/ws/signals/")
        await communicator.send_json_to({"action": "auth", "token": str(expired)})
        assert (await communicator.receive_output(timeout=5))["code"] == 4401

    run(scenario())


def test_silent_unauthenticated_sockets_are_closed(settings):
    settings.WS_AUTH_TIMEOUT_S = 0.3

    async def scenario() -> None:
        communicator, connected, _ = await connect("/ws/signals/")
        assert connected
        assert (await communicator.receive_output(timeout=5))["code"] == 4401
        communicator2, _, _ = await connect("/ws/signals/")
        await communicator2.send_json_to({"action": "subscribe", "topics": ["iran"]})
        assert (await communicator2.receive_output(timeout=5))["code"] == 4401

    run(scenario())


def test_a_logged_in_session_is_accepted(user):
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def scenario() -> None:
        communicator, connected, _ = await connect("/ws/signals/", headers=[(b"cookie", cookie)])
        assert connected
        assert (await welcome(communicator))["user"] == "reader"
        await communicator.disconnect()

    run(scenario())


def test_a_foreign_origin_is_refused(user):
    token = str(AccessToken.for_user(user))

    async def scenario() -> None:
        communicator = WebsocketCommunicator(
            application, f"/ws/signals/?token={token}", headers=[(b"origin", b"https://evil.example")]
        )
        connected, _ = await communicator.connect(timeout=5)
        assert not connected

    run(scenario())


def test_a_signal_stored_by_the_pipeline_reaches_the_client(user):
    """The pipeline's own upsert (apps.nlp.services.signals_store) publishes after commit."""
    from apps.nlp.services import signals_store

    token = str(AccessToken.for_user(user))
    now = datetime.now(UTC)
    row = {
        "id": "hackernews:ws-pipeline-1",
        "platform": "hackernews",
        "source_id": "ws-pipeline-1",
        "title": "Stored by the pipeline",
        "body": "b" * 900,
        "url": "https://news.ycombinator.com/item?id=1",
        "author": "pg",
        "community": "",
        "published_at": now - timedelta(minutes=3),
        "raw_score": 12,
        "comment_count": 3,
        "extra": {"is_comment": False},
        "schema_version": 1,
        "is_comment": False,
        "language": "en",
        "sentiment_compound": 0.4,
        "sentiment_label": "positive",
        "sentiment_model": "vader",
        "topics": ["iran"],
        "velocity": 1.5,
        "trending_score": 2.0,
        "is_trending": False,
        "observed_at": now,
    }

    async def scenario() -> None:
        communicator, _, _ = await connect(f"/ws/signals/?token={token}")
        await welcome(communicator)
        await communicator.send_json_to({"action": "subscribe", "platforms": ["hackernews"]})
        await communicator.receive_json_from(timeout=5)
        await sync_to_async(signals_store, thread_sensitive=False)(rows=[row])
        message = await communicator.receive_json_from(timeout=10)
        assert message["type"] == "signal.stored"
        assert message["signal"]["id"] == "hackernews:ws-pipeline-1"
        assert message["signal"]["topics"] == ["iran"]
        assert len(message["signal"]["body"]) == 500
        await communicator.disconnect()

    run(scenario())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def daphne_server():
    """A real Daphne serving signalflow.asgi on the test database."""
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    port = _free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "signalflow.asgi:application"],
        cwd=ROOT,
        env=subprocess_env(DATABASE_URL=url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
        if process.poll() is not None:
            pytest.fail(f"daphne exited: {process.stdout.read().decode()[-2000:]}")
    else:
        process.kill()
        pytest.fail("daphne did not answer /health/ within 60 s")
    yield f"127.0.0.1:{port}"
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.mark.slow
def test_real_daphne_serves_rest_and_the_live_feed(user, daphne_server):
    import websockets.sync.client

    base = f"http://{daphne_server}"
    token = httpx.post(f"{base}/api/token/", json={"username": "reader", "password": "pw-reader-1"}).json()["access"]
    assert httpx.get(f"{base}/api/v1/stats/totals/").status_code == 401
    totals = httpx.get(f"{base}/api/v1/stats/totals/", headers={"Authorization": f"Bearer {token}"})
    assert totals.status_code == 200
    with websockets.sync.client.connect(
        f"ws://{daphne_server}/ws/signals/", origin="http://localhost", open_timeout=10
    ) as ws:
        ws.send(json.dumps({"action": "auth", "token": token}))
        assert json.loads(ws.recv(timeout=10))["type"] == "welcome"
        run(publish(signal(7)))
        assert json.loads(ws.recv(timeout=10))["signal"]["id"] == "reddit:ws7"
