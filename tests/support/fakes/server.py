"""Run an aiohttp application on a free loopback port in a background thread."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Scripted:
    """A canned answer served instead of the normal one (a 429, a truncated body, ...)."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


class FakeServer:
    """Subclasses fill `self.app`; `script(path_prefix, answer)` queues one-off answers per path."""

    def __init__(self) -> None:
        self.app = web.Application(middlewares=[self._scripted_middleware])
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.scripts: dict[str, deque[Scripted]] = {}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None
        self.port = 0

    def script(self, path_prefix: str, *answers: Scripted) -> None:
        self.scripts.setdefault(path_prefix, deque()).extend(answers)

    @web.middleware
    async def _scripted_middleware(self, request: web.Request, handler):
        self.requests.append((request.method, request.path, dict(request.query)))
        for prefix, queue in self.scripts.items():
            if request.path.startswith(prefix) and queue:
                answer = queue.popleft()
                return web.Response(
                    status=answer.status, body=answer.body, headers=answer.headers, content_type=answer.content_type
                )
        return await handler(request)

    def start(self) -> FakeServer:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=10)
        return self

    async def _start(self) -> None:
        self.runner = web.AppRunner(self.app, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)

    def hits(self, path_prefix: str) -> int:
        return sum(1 for _, path, _ in self.requests if path.startswith(path_prefix))
