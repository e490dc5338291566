"""Hacker News through the Algolia API: search hits (`/api/v1/search`, `/search_by_date`) and item trees
(`/api/v1/items/<id>`, comments nested in `children`). Text fields are HTML; they become plain text.
"""

from __future__ import annotations

from typing import Any

from signalflow.signal import Signal

from .base import (
    ItemError,
    ItemErrors,
    NormaliseError,
    count,
    each,
    from_epoch,
    from_iso,
    html_text,
    need,
    opt,
    score,
    signal_build,
)

PLATFORM = "hackernews"
ITEM_URL = "https://news.ycombinator.com/item?id={}"
MAX_DEPTH = 256
_STORY_TYPES = ("story", "poll", "job")


def hackernews_normalise(data: Any, errors: ItemErrors) -> list[Signal]:
    """Signals from a parsed Algolia search response or item tree."""
    if isinstance(data, dict) and "hits" in data:
        signals = []
        for index, hit in each(data["hits"], "hits", errors):
            try:
                signal = hackernews_hit_signal(hit)
            except ItemError as exc:
                errors.add(f"hackernews hits[{index}]", exc)
                continue
            if signal is not None:
                signals.append(signal)
        return signals
    if isinstance(data, dict) and "id" in data and ("children" in data or "type" in data):
        return _item_tree(data, errors, story_title="", where="item", depth=0)
    raise NormaliseError("hackernews: payload is neither an Algolia search response (hits) nor an item (id, children)")


def _published(data: dict[str, Any]) -> Any:
    if data.get("created_at_i") is not None:
        return from_epoch(need(data, "created_at_i", (int, float)))
    return from_iso(need(data, "created_at", str))


def hackernews_hit_signal(hit: Any) -> Signal | None:
    """One search hit; None for a deleted comment (no text, no author)."""
    object_id = str(need(hit, "objectID", (str, int)))
    tags = opt(hit, "_tags", list, [])
    if "comment" in tags:
        text = opt(hit, "comment_text", str, "")
        if not text and not hit.get("author"):
            return None
        story_id = opt(hit, "story_id", (int, str))
        parent_id = opt(hit, "parent_id", (int, str))
        return signal_build(
            platform=PLATFORM,
            source_id=object_id,
            body=html_text(text),
            url=ITEM_URL.format(object_id),
            author=opt(hit, "author", str, ""),
            community="hackernews",
            published_at=_published(hit),
            raw_score=score(opt(hit, "points", (int, float), 0)),
            extra={
                "is_comment": True,
                "parent_id": f"{PLATFORM}:{parent_id}" if parent_id is not None else None,
                "parent_title": opt(hit, "story_title", str, ""),
                "story_id": f"{PLATFORM}:{story_id}" if story_id is not None else None,
                "story_url": opt(hit, "story_url", str),
            },
        )
    kind = next((tag for tag in tags if tag in ("story", "poll", "job", "pollopt")), "story")
    title = opt(hit, "title", str, "")
    link = opt(hit, "url", str, "")
    return signal_build(
        platform=PLATFORM,
        source_id=object_id,
        title=title,
        body=html_text(opt(hit, "story_text", str, "")),
        url=link or ITEM_URL.format(object_id),
        author=opt(hit, "author", str, ""),
        community="hackernews",
        published_at=_published(hit),
        raw_score=score(opt(hit, "points", (int, float), 0)),
        comment_count=count(opt(hit, "num_comments", (int, float), 0)),
        extra={
            "is_comment": False,
            "hn_type": kind,
            "ask_hn": "ask_hn" in tags,
            "show_hn": "show_hn" in tags,
            "link_url": link or None,
            "discussion_url": ITEM_URL.format(object_id),
        },
    )


def _item_tree(item: Any, errors: ItemErrors, *, story_title: str, where: str, depth: int) -> list[Signal]:
    signals: list[Signal] = []
    try:
        signal = hackernews_item_signal(item, story_title=story_title)
    except ItemError as exc:
        errors.add(f"hackernews {where}", exc)
        return []
    if signal is not None:
        signals.append(signal)
        if not signal.is_comment:
            story_title = signal.title
    if depth < MAX_DEPTH:
        for index, child in each(item.get("children") or [], f"{where}.children", errors):
            signals.extend(
                _item_tree(child, errors, story_title=story_title, where=f"{where}.children[{index}]", depth=depth + 1)
            )
    return signals


def hackernews_item_signal(item: Any, *, story_title: str = "") -> Signal | None:
    """One node of an item tree; None for a deleted node (no text and no author)."""
    item_id = str(need(item, "id", (int, str)))
    kind = opt(item, "type", str, "story")
    children = opt(item, "children", list, [])
    if kind in ("comment", "pollopt"):
        text = opt(item, "text", str, "")
        if not text and not item.get("author"):
            return None
        parent_id = opt(item, "parent_id", (int, str))
        story_id = opt(item, "story_id", (int, str))
        return signal_build(
            platform=PLATFORM,
            source_id=item_id,
            body=html_text(text),
            url=ITEM_URL.format(item_id),
            author=opt(item, "author", str, ""),
            community="hackernews",
            published_at=_published(item),
            raw_score=score(opt(item, "points", (int, float), 0)),
            comment_count=count(len(children)),
            extra={
                "is_comment": True,
                "parent_id": f"{PLATFORM}:{parent_id}" if parent_id is not None else None,
                "parent_title": story_title,
                "story_id": f"{PLATFORM}:{story_id}" if story_id is not None else None,
            },
        )
    if kind not in _STORY_TYPES:
        raise ItemError(f"unknown item type {kind!r}")
    link = opt(item, "url", str, "")
    return signal_build(
        platform=PLATFORM,
        source_id=item_id,
        title=opt(item, "title", str, ""),
        body=html_text(opt(item, "text", str, "")),
        url=link or ITEM_URL.format(item_id),
        author=opt(item, "author", str, ""),
        community="hackernews",
        published_at=_published(item),
        raw_score=score(opt(item, "points", (int, float), 0)),
        comment_count=count(len(children)),
        extra={
            "is_comment": False,
            "hn_type": kind,
            "link_url": link or None,
            "discussion_url": ITEM_URL.format(item_id),
        },
    )
