"""Fake HN Algolia API: /api/v1/search, /api/v1/search_by_date (stories or comments by `tags`)."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from .server import FakeServer


class FakeAlgolia(FakeServer):
    def __init__(self, *, fixtures: Path) -> None:
        super().__init__()
        self.stories = (fixtures / "hackernews" / "search_by_date_tags=story.json").read_bytes()
        self.comments = (fixtures / "hackernews" / "search_by_date_tags=comment.json").read_bytes()
        self.app.router.add_get("/api/v1/search", self.search)
        self.app.router.add_get("/api/v1/search_by_date", self.search)

    async def search(self, request: web.Request) -> web.Response:
        tags = request.query.get("tags", "")
        if tags.startswith("comment"):
            after = int(request.query.get("numericFilters", "created_at_i>0").split(">")[-1] or 0)
            data = json.loads(self.comments)
            data["hits"] = [hit for hit in data["hits"] if hit["created_at_i"] > after]
            data["nbHits"], data["nbPages"] = len(data["hits"]), 1
            return web.json_response(data)
        return web.Response(body=self.stories, content_type="application/json")
