"""Reddit: posts (t3) from listings, comments (t1) from comment trees, as the OAuth API returns them.

Accepted shapes: a Listing (`GET /r/<sub>/new`, `/hot`, user listings), and the two-element array
`[Listing t3, Listing t1]` of `GET /comments/<id>`, whose nested `replies` are walked; `more`
stubs are skipped (they are fetched separately, if at all).
"""

from __future__ import annotations

from typing import Any

from signalflow.signal import Signal

from .base import ItemError, ItemErrors, NormaliseError, count, each, from_epoch, need, opt, score, signal_build

PLATFORM = "reddit"
REDDIT_URL = "https://www.reddit.com"
_GONE = {"[deleted]", "[removed]", "[ Removed by Reddit ]", "[removed by reddit]"}
# `more` stubs, accounts, messages, subreddits, awards: valid things, but not posts or comments
_NOT_CONVERSATION = {"more", "t2", "t4", "t5", "t6"}
# Bounds the walk of a hostile, absurdly deep reply tree (Reddit itself stops at depth 10).
MAX_DEPTH = 64


def reddit_normalise(data: Any, errors: ItemErrors) -> list[Signal]:
    """Signals from a parsed Reddit listing or comments response."""
    if isinstance(data, list):
        if not data or not all(isinstance(part, dict) and part.get("kind") == "Listing" for part in data):
            raise NormaliseError("reddit: a JSON array must be [Listing of t3, Listing of t1] (comments response)")
        signals: list[Signal] = []
        post_title, post_id = "", ""
        for part_index, part in enumerate(data):
            children = _listing_children(part, f"[{part_index}]")
            for index, child in each(children, f"[{part_index}].data.children", errors):
                # the post (first Listing) comes before its comments: its title is their parent title
                post = child.get("data") if isinstance(child, dict) and child.get("kind") == "t3" else None
                if isinstance(post, dict):
                    post_title = str(post.get("title") or post_title)
                    post_id = str(post.get("id") or post_id)
                signals.extend(_thing(child, f"[{part_index}].children[{index}]", errors, post_title, post_id, 0))
        return signals
    if isinstance(data, dict) and data.get("kind") == "Listing":
        signals = []
        for index, child in each(_listing_children(data, "listing"), "data.children", errors):
            signals.extend(_thing(child, f"children[{index}]", errors, "", "", 0))
        return signals
    if isinstance(data, dict) and data.get("kind") in ("t3", "t1"):
        return _thing(data, "thing", errors, "", "", 0)
    if isinstance(data, dict) and "error" in data and "message" in data:
        raise NormaliseError(f"reddit: API error {str(data['error'])[:20]}: {str(data['message'])[:200]}")
    raise NormaliseError("reddit: payload is neither a Listing nor a comments response ([Listing, Listing])")


def _listing_children(listing: dict[str, Any], where: str) -> Any:
    inner = listing.get("data")
    if not isinstance(inner, dict):
        raise NormaliseError(f"reddit: {where}.data must be an object")
    return inner.get("children")


def _thing(child: Any, where: str, errors: ItemErrors, post_title: str, post_id: str, depth: int) -> list[Signal]:
    if not isinstance(child, dict):
        errors.add(f"reddit {where}", ItemError(f"expected an object, got {type(child).__name__}"))
        return []
    kind = child.get("kind")
    if kind in _NOT_CONVERSATION:
        return []
    try:
        data = need(child, "data", dict)
        if kind == "t3":
            post = reddit_post_signal(data)
            return [post] if post is not None else []
        if kind == "t1":
            signals: list[Signal] = []
            comment = reddit_comment_signal(data, post_title=post_title, post_id=post_id)
            if comment is not None:
                signals.append(comment)
            replies = data.get("replies")
            if isinstance(replies, dict) and replies.get("kind") == "Listing" and depth < MAX_DEPTH:
                children = _listing_children(replies, f"{where}.replies")
                for index, reply in each(children, f"{where}.replies.data.children", errors):
                    signals.extend(_thing(reply, f"{where}.replies[{index}]", errors, post_title, post_id, depth + 1))
            return signals
        raise ItemError(f"unknown kind {kind!r}")
    except ItemError as exc:
        errors.add(f"reddit {where}", exc)
        return []


def reddit_post_signal(data: dict[str, Any]) -> Signal | None:
    """One t3 post's data object; None when its text was deleted or removed."""
    post_id = need(data, "id", str)
    title = need(data, "title", str)
    selftext = opt(data, "selftext", str, "")
    if selftext in _GONE:
        return None
    permalink = opt(data, "permalink", str, "")
    link = opt(data, "url", str, "")
    return signal_build(
        platform=PLATFORM,
        source_id=post_id,
        title=title,
        body=selftext,
        url=REDDIT_URL + permalink if permalink.startswith("/") else link,
        author=opt(data, "author", str, ""),
        community=opt(data, "subreddit", str, ""),
        published_at=from_epoch(need(data, "created_utc", (int, float))),
        raw_score=score(opt(data, "score", (int, float), 0)),
        comment_count=count(opt(data, "num_comments", (int, float), 0)),
        extra={
            "is_comment": False,
            "nsfw": bool(data.get("over_18")),
            "spoiler": bool(data.get("spoiler")),
            "stickied": bool(data.get("stickied")),
            "locked": bool(data.get("locked")),
            "is_self": bool(data.get("is_self")),
            "is_video": bool(data.get("is_video")),
            "link_url": link if link and not data.get("is_self") else None,
            "domain": opt(data, "domain", str),
            "flair": opt(data, "link_flair_text", str),
            "upvote_ratio": opt(data, "upvote_ratio", (int, float)),
            "distinguished": opt(data, "distinguished", str),
            "subreddit_id": opt(data, "subreddit_id", str),
        },
    )


def reddit_comment_signal(data: dict[str, Any], *, post_title: str = "", post_id: str = "") -> Signal | None:
    """One t1 comment's data object; None when its body was deleted or removed."""
    comment_id = need(data, "id", str)
    body = need(data, "body", str)
    if body.strip() in _GONE:
        return None
    parent = opt(data, "parent_id", str, "")
    link_id = opt(data, "link_id", str, "")
    post_id = link_id.removeprefix("t3_") or post_id
    permalink = opt(data, "permalink", str, "")
    replies = data.get("replies")
    reply_count = 0
    if isinstance(replies, dict) and isinstance(replies.get("data"), dict):
        reply_count = len(
            [c for c in replies["data"].get("children") or [] if isinstance(c, dict) and c.get("kind") == "t1"]
        )
    return signal_build(
        platform=PLATFORM,
        source_id=comment_id,
        body=body,
        url=REDDIT_URL + permalink if permalink.startswith("/") else "",
        author=opt(data, "author", str, ""),
        community=opt(data, "subreddit", str, ""),
        published_at=from_epoch(need(data, "created_utc", (int, float))),
        raw_score=score(opt(data, "score", (int, float), 0)),
        comment_count=count(reply_count),
        extra={
            "is_comment": True,
            # parent_id names the parent *signal*: a post (t3_) or another comment (t1_)
            "parent_id": f"{PLATFORM}:{parent.split('_', 1)[-1]}" if parent else None,
            "parent_title": post_title or opt(data, "link_title", str, ""),
            "post_id": f"{PLATFORM}:{post_id}" if post_id else None,
            "depth": opt(data, "depth", int),
            "is_submitter": bool(data.get("is_submitter")),
            "stickied": bool(data.get("stickied")),
            "distinguished": opt(data, "distinguished", str),
            "controversiality": opt(data, "controversiality", int),
            "nsfw": bool(data.get("over_18")),
        },
    )
