"""/ws/signals/: the live feed of stored signals, optionally filtered by topic and platform.

Client → server messages (JSON):
  {"action": "auth", "token": "<access JWT>"}            only when not authenticated at connect
  {"action": "subscribe", "topics": [...], "platforms": [...]}   empty or absent list = everything
Server → client:
  {"type": "welcome", "user": ..., "filters": {...}}
  {"type": "subscribed", "filters": {...}}
  {"type": "signal.stored", "signal": {...}}            one per stored signal (signalflow/realtime.py)
  {"type": "error", "error": "..."}
Close codes: 4401 unauthenticated (no, bad or expired token), 4400 malformed messages.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from apps.api import metrics
from apps.api.params import MAX_TOPIC_LENGTH, PLATFORMS
from apps.api.ws_auth import InvalidToken, user_for_token
from signalflow.realtime import SIGNAL_STORED_TYPE, SIGNALS_GROUP

CLOSE_UNAUTHENTICATED = 4401
CLOSE_BAD_MESSAGE = 4400
MAX_FILTER_TOPICS = 100
MAX_BAD_MESSAGES = 5
MAX_MESSAGE_BYTES = 16_384


class FilterError(ValueError):
    pass


def filters_parse(content: dict[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
    """Validated (topics, platforms) from a subscribe message; raises FilterError naming the field."""
    topics = content.get("topics") or []
    platforms = content.get("platforms") or []
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise FilterError("topics: must be a list of strings")
    if len(topics) > MAX_FILTER_TOPICS:
        raise FilterError(f"topics: at most {MAX_FILTER_TOPICS}")
    if any(not t.strip() or len(t) > MAX_TOPIC_LENGTH for t in topics):
        raise FilterError(f"topics: each must be 1-{MAX_TOPIC_LENGTH} characters")
    if not isinstance(platforms, list) or not all(isinstance(p, str) for p in platforms):
        raise FilterError("platforms: must be a list of strings")
    unknown = sorted({p.lower() for p in platforms} - set(PLATFORMS))
    if unknown:
        raise FilterError(f"platforms: unknown {', '.join(unknown[:5])} (expected {', '.join(PLATFORMS)})")
    return frozenset(t.strip().lower() for t in topics), frozenset(p.lower() for p in platforms)


def signal_matches(signal: dict[str, Any], topics: frozenset[str], platforms: frozenset[str]) -> bool:
    if platforms and signal.get("platform") not in platforms:
        return False
    return not topics or bool(topics.intersection(signal.get("topics") or ()))


class SignalsConsumer(AsyncJsonWebsocketConsumer):
    topics: frozenset[str] = frozenset()
    platforms: frozenset[str] = frozenset()
    joined = False
    bad_messages = 0
    auth_timer: asyncio.Task | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if self.scope.get("auth_error"):
            metrics.WS_CONNECTIONS.labels(outcome="rejected").inc()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.accept()
        if user is not None and user.is_authenticated:
            await self._join(user)
        else:
            # Give the client a moment to authenticate with a first message, then hang up.
            self.auth_timer = asyncio.ensure_future(self._auth_deadline())

    async def _auth_deadline(self) -> None:
        await asyncio.sleep(settings.WS_AUTH_TIMEOUT_S)
        if not self.joined:
            metrics.WS_CONNECTIONS.labels(outcome="auth_timeout").inc()
            await self.close(code=CLOSE_UNAUTHENTICATED)

    async def _join(self, user: Any) -> None:
        await self.channel_layer.group_add(SIGNALS_GROUP, self.channel_name)
        self.joined = True
        metrics.WS_CONNECTIONS.labels(outcome="accepted").inc()
        await self.send_json({"type": "welcome", "user": user.get_username(), "filters": self._filters()})

    def _filters(self) -> dict[str, list[str]]:
        return {"topics": sorted(self.topics), "platforms": sorted(self.platforms)}

    async def disconnect(self, code: int) -> None:
        if self.auth_timer is not None:
            self.auth_timer.cancel()
        if self.joined:
            await self.channel_layer.group_discard(SIGNALS_GROUP, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if text_data is None or len(text_data) > MAX_MESSAGE_BYTES:
            await self._bad("messages must be JSON text under 16 KiB")
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            await self._bad("message is not valid JSON")
            return
        if not isinstance(content, dict):
            await self._bad("message must be a JSON object")
            return
        await self.receive_json(content)

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        action = content.get("action")
        if action == "auth":
            await self._authenticate(content.get("token"))
        elif not self.joined:
            await self.close(code=CLOSE_UNAUTHENTICATED)
        elif action == "subscribe":
            try:
                self.topics, self.platforms = filters_parse(content)
            except FilterError as exc:
                await self._bad(str(exc))
                return
            await self.send_json({"type": "subscribed", "filters": self._filters()})
        elif action == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self._bad("action: expected auth, subscribe or ping")

    async def _authenticate(self, token: Any) -> None:
        if self.joined:
            await self.send_json({"type": "error", "error": "already authenticated"})
            return
        try:
            user = await user_for_token(token if isinstance(token, str) else "")
        except InvalidToken:
            metrics.WS_CONNECTIONS.labels(outcome="rejected").inc()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if self.auth_timer is not None:
            self.auth_timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.auth_timer
        self.scope["user"] = user
        await self._join(user)

    async def _bad(self, error: str) -> None:
        self.bad_messages += 1
        if self.bad_messages > MAX_BAD_MESSAGES:
            await self.close(code=CLOSE_BAD_MESSAGE)
            return
        await self.send_json({"type": "error", "error": error})

    async def signal_stored(self, event: dict[str, Any]) -> None:
        """Group message from the pipeline (signalflow.realtime): forward it if it passes the filter."""
        signal = event.get("signal") or {}
        if signal_matches(signal, self.topics, self.platforms):
            metrics.WS_MESSAGES.inc()
            await self.send_json({"type": SIGNAL_STORED_TYPE, "signal": signal})
