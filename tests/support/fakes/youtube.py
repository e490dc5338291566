"""Fake YouTube Data API v3 at <root>/youtube/v3/...: channels (forHandle), playlistItems, commentThreads.

google-api-python-client is built with its bundled static discovery document and this server's
root as api_endpoint, so the request URLs and parameters are the real client's.
"""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from .server import FakeServer


class FakeYouTube(FakeServer):
    def __init__(self, *, fixtures: Path, api_key: str = "yt-key") -> None:
        super().__init__()
        folder = fixtures / "youtube"
        self.api_key = api_key
        self.channels = json.loads((folder / "channels__info.json").read_text())
        self.playlist = json.loads((folder / "playlist_items__playlist_items_paged_1.json").read_text())
        self.threads = json.loads((folder / "comment_threads__comment_threads_by_video_paged_1.json").read_text())
        self.app.router.add_get("/youtube/v3/channels", self.channel_list)
        self.app.router.add_get("/youtube/v3/playlistItems", self.playlist_items)
        self.app.router.add_get("/youtube/v3/commentThreads", self.comment_threads)

    def _denied(self, request: web.Request) -> web.Response | None:
        if request.query.get("key") != self.api_key:
            error = {"error": {"code": 400, "message": "API key not valid.", "errors": [{"reason": "badRequest"}]}}
            return web.json_response(error, status=400)
        return None

    async def channel_list(self, request: web.Request) -> web.Response:
        if denied := self._denied(request):
            return denied
        if not request.query.get("forHandle"):
            return web.json_response({"error": {"code": 400, "message": "forHandle required"}}, status=400)
        return web.json_response(self.channels)

    async def playlist_items(self, request: web.Request) -> web.Response:
        if denied := self._denied(request):
            return denied
        data = dict(self.playlist, items=self.playlist["items"][: int(request.query.get("maxResults", 5))])
        return web.json_response(data)

    async def comment_threads(self, request: web.Request) -> web.Response:
        if denied := self._denied(request):
            return denied
        video_id = request.query.get("videoId", "")
        items = []
        for item in self.threads["items"]:
            # the recorded threads belong to one video; re-home them so each video has its own comments
            copy = json.loads(json.dumps(item))
            copy["id"] = f"{item['id']}-{video_id}"
            copy["snippet"]["videoId"] = video_id
            copy["snippet"]["topLevelComment"]["id"] = copy["id"]
            copy["snippet"]["topLevelComment"]["snippet"]["videoId"] = video_id
            items.append(copy)
        return web.json_response(dict(self.threads, items=items))
