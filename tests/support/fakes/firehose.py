"""Fake relay: `com.atproto.sync.subscribeRepos` over WebSocket, sending the recorded DAG-CBOR frames.

Honours `cursor` (frames with seq > cursor), can drop the first connection abruptly after N frames
(to test resume), and interleaves malformed frames (random bytes, a truncated frame, a text frame,
an empty frame) among the real ones.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from aiohttp import WSMsgType, web

from .server import FakeServer

MALFORMED = [b"\x00\xffnot cbor at all", b"", "a text frame"]


class FakeFirehose(FakeServer):
    def __init__(
        self,
        *,
        fixtures: Path,
        drop_after: int | None = None,
        with_malformed: bool = True,
        replay_overlap: int = 0,
        frame_delay: float = 0.0,
    ) -> None:
        super().__init__()
        folder = fixtures / "bluesky" / "firehose_frames"
        index = json.loads((folder / "INDEX.json").read_text())
        self.frames = sorted(
            ((entry["seq"], (folder / entry["file"]).read_bytes()) for entry in index), key=lambda f: f[0]
        )
        self.drop_after = drop_after
        self.with_malformed = with_malformed
        # a relay may replay a few events at or before the cursor; the client must drop them
        self.replay_overlap = replay_overlap
        self.frame_delay = frame_delay  # seconds between frames, so a test can kill a client mid-stream
        self.connections: list[int | None] = []  # cursor of each connection
        self.sent_seqs: list[int] = []
        self.app.router.add_get("/xrpc/com.atproto.sync.subscribeRepos", self.subscribe)

    async def subscribe(self, request: web.Request) -> web.StreamResponse:
        cursor = int(request.query["cursor"]) if "cursor" in request.query else None
        first = not self.connections
        self.connections.append(cursor)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sent = 0
        start = 0
        if cursor is not None:
            start = next((i for i, (seq, _) in enumerate(self.frames) if seq > cursor), len(self.frames))
            start = max(0, start - self.replay_overlap)
        for index, (seq, frame) in enumerate(self.frames):
            if index < start:
                continue
            if self.with_malformed and index % 20 == 5:
                for bad in [*MALFORMED, frame[: len(frame) // 2]]:
                    if isinstance(bad, str):
                        await ws.send_str(bad)
                    else:
                        await ws.send_bytes(bad)
            await ws.send_bytes(frame)
            self.sent_seqs.append(seq)
            sent += 1
            if first and self.drop_after is not None and sent >= self.drop_after:
                # abrupt drop, like a relay restart: no close frame
                request.transport.close()
                return ws
            await asyncio.sleep(self.frame_delay)
        async for message in ws:  # stay connected (idle) until the client goes away
            if message.type == WSMsgType.CLOSE:
                break
        return ws
