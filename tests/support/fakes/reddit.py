"""Fake Reddit: OAuth2 client-credentials token, subreddit listings, comment trees, /api/info."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from .server import FakeServer

RATE_HEADERS = {"x-ratelimit-remaining": "99", "x-ratelimit-used": "1", "x-ratelimit-reset": "300"}


class FakeReddit(FakeServer):
    """Serves `comments_file`'s post (and `listing_file`'s posts) as r/<any>/new."""

    def __init__(
        self,
        *,
        fixtures: Path,
        client_id: str = "cid",
        client_secret: str = "secret",
        comment_scores: dict[str, int] | None = None,
    ) -> None:
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.comments = json.loads((fixtures / "reddit" / "comments_jlbw48_small_2022.json").read_text())
        # the recorded thread's comments all score 1; tests give some a score so a score filter has work
        self._rescore(self.comments[1], comment_scores or {})
        listing = json.loads((fixtures / "reddit" / "listing_r_askreddit_hot_2016.json").read_text())
        post = self.comments[0]["data"]["children"][0]
        self.posts: list[dict[str, Any]] = [post, *listing["data"]["children"][:4]]
        self.score_bump = 0
        self.tokens_issued = 0
        self.app.router.add_post("/api/v1/access_token", self.token)
        self.app.router.add_get("/r/{sub}/new", self.new)
        self.app.router.add_get("/comments/{id}", self.comment_tree)
        self.app.router.add_get("/api/info", self.info)

    def _rescore(self, thing: dict[str, Any], scores: dict[str, int]) -> None:
        if thing.get("kind") == "Listing":
            for child in thing["data"]["children"]:
                self._rescore(child, scores)
        elif thing.get("kind") == "t1":
            thing["data"]["score"] = scores.get(thing["data"]["id"], thing["data"]["score"])
            if isinstance(thing["data"].get("replies"), dict):
                self._rescore(thing["data"]["replies"], scores)

    async def token(self, request: web.Request) -> web.Response:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return web.json_response({"error": "invalid_grant"}, status=401)
        form = await request.post()
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        self.tokens_issued += 1
        return web.json_response(
            {"access_token": "fake-token", "token_type": "bearer", "expires_in": 86400, "scope": "*"}
        )

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == "bearer fake-token"

    def _bumped(self, post: dict[str, Any]) -> dict[str, Any]:
        data = dict(post["data"], score=post["data"]["score"] + self.score_bump)
        return {"kind": "t3", "data": data}

    async def new(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"message": "Unauthorized", "error": 401}, status=401)
        children = [self._bumped(p) for p in self.posts]
        body = {"kind": "Listing", "data": {"after": None, "before": None, "dist": len(children), "children": children}}
        return web.json_response(body, headers=RATE_HEADERS)

    async def comment_tree(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"message": "Unauthorized", "error": 401}, status=401)
        post_id = request.match_info["id"]
        if post_id == self.comments[0]["data"]["children"][0]["data"]["id"]:
            return web.json_response(self.comments, headers=RATE_HEADERS)
        post = next((p for p in self.posts if p["data"]["id"] == post_id), None)
        if post is None:
            return web.json_response({"message": "Not Found", "error": 404}, status=404)
        empty = {"kind": "Listing", "data": {"children": []}}
        return web.json_response([{"kind": "Listing", "data": {"children": [post]}}, empty], headers=RATE_HEADERS)

    async def info(self, request: web.Request) -> web.Response:
        wanted = set(request.query.get("id", "").split(","))
        children = [self._bumped(p) for p in self.posts if p["data"]["name"] in wanted]
        return web.json_response({"kind": "Listing", "data": {"children": children}}, headers=RATE_HEADERS)
