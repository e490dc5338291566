"""YouTube Data API v3: comment threads (top-level comments with their embedded replies) and
comments.list replies are the signals; every other list response (videos, channels, playlist items,
search) carries no conversation and yields none.

A comment's title is its video's title, which a commentThreads response does not carry: the caller
passes {video_id: title} (the live source knows it from playlistItems/videos); unknown titles are "".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from signalflow.signal import Signal

from .base import (
    ItemError,
    ItemErrors,
    NormaliseError,
    count,
    each,
    from_iso,
    html_text,
    need,
    opt,
    score,
    signal_build,
)

PLATFORM = "youtube"
_NO_SIGNALS = {
    "youtube#videoListResponse",
    "youtube#channelListResponse",
    "youtube#playlistItemListResponse",
    "youtube#searchListResponse",
    "youtube#playlistListResponse",
}


def youtube_normalise(
    data: Any, errors: ItemErrors, *, video_titles: Mapping[str, str] | None = None, community: str = ""
) -> list[Signal]:
    """Signals from a parsed YouTube list response."""
    titles = video_titles or {}
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        error = data["error"]
        raise NormaliseError(f"youtube: API error {str(error.get('code'))[:10]}: {str(error.get('message'))[:200]}")
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        raise NormaliseError("youtube: payload is not a Data API v3 list response (no 'kind')")
    kind = data["kind"]
    if kind in _NO_SIGNALS or (kind.startswith("youtube#") and kind.endswith("ListResponse") and "comment" not in kind):
        return []  # videos, channels, playlists, captions...: no conversation in them
    signals: list[Signal] = []
    if kind == "youtube#commentThreadListResponse":
        for index, thread in each(data.get("items", []), "items", errors):
            try:
                signals.extend(youtube_thread_signals(thread, video_titles=titles, community=community))
            except ItemError as exc:
                errors.add(f"youtube items[{index}]", exc)
        return signals
    if kind == "youtube#commentListResponse":
        for index, comment in each(data.get("items", []), "items", errors):
            try:
                signals.append(youtube_comment_signal(comment, video_titles=titles, community=community))
            except ItemError as exc:
                errors.add(f"youtube items[{index}]", exc)
        return signals
    raise NormaliseError(f"youtube: unsupported response kind {kind[:80]!r}")


def youtube_thread_signals(thread: Any, *, video_titles: Mapping[str, str], community: str = "") -> list[Signal]:
    snippet = need(thread, "snippet", dict)
    top = need(snippet, "topLevelComment", dict)
    video_id = opt(snippet, "videoId", str, "")
    community = community or opt(snippet, "channelId", str, "")
    signals = [
        youtube_comment_signal(
            top,
            video_titles=video_titles,
            video_id=video_id,
            community=community,
            reply_count=count(opt(snippet, "totalReplyCount", (int, float), 0)),
        )
    ]
    replies = opt(thread, "replies", dict, {})
    for reply in opt(replies, "comments", list, []):
        signals.append(youtube_comment_signal(reply, video_titles=video_titles, video_id=video_id, community=community))
    return signals


def youtube_comment_signal(
    comment: Any,
    *,
    video_titles: Mapping[str, str],
    video_id: str = "",
    community: str = "",
    reply_count: int = 0,
) -> Signal:
    comment_id = need(comment, "id", str)
    snippet = need(comment, "snippet", dict)
    text = opt(snippet, "textOriginal", str)
    if text is None:
        text = html_text(opt(snippet, "textDisplay", str, ""))
    video_id = opt(snippet, "videoId", str, video_id)
    parent = opt(snippet, "parentId", str)
    title = video_titles.get(video_id, "")
    url = f"https://www.youtube.com/watch?v={video_id}&lc={comment_id}" if video_id else ""
    return signal_build(
        platform=PLATFORM,
        source_id=comment_id,
        title=title,
        body=text,
        url=url,
        author=opt(snippet, "authorDisplayName", str, ""),
        community=community or opt(snippet, "channelId", str, ""),
        published_at=from_iso(need(snippet, "publishedAt", str)),
        raw_score=score(opt(snippet, "likeCount", (int, float), 0)),
        comment_count=reply_count,
        extra={
            "is_comment": True,
            # a reply's parent is a comment signal; a top-level comment's parent is the video
            "parent_id": f"{PLATFORM}:{parent}" if parent else (f"{PLATFORM}:video:{video_id}" if video_id else None),
            "parent_title": title,
            "video_id": video_id or None,
            "is_reply": parent is not None,
            "updated_at": opt(snippet, "updatedAt", str),
        },
    )


def youtube_video_titles(data: Any) -> dict[str, str]:
    """{video_id: title} from a videos, playlistItems or search list response (others give {})."""
    titles: dict[str, str] = {}
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        return titles
    for item in data["items"]:
        if not isinstance(item, dict) or not isinstance(item.get("snippet"), dict):
            continue
        snippet = item["snippet"]
        video_id: Any = None
        if data.get("kind") == "youtube#videoListResponse":
            video_id = item.get("id")
        elif data.get("kind") == "youtube#playlistItemListResponse":
            resource = snippet.get("resourceId")
            video_id = resource.get("videoId") if isinstance(resource, dict) else None
        elif data.get("kind") == "youtube#searchListResponse":
            ident = item.get("id")
            video_id = ident.get("videoId") if isinstance(ident, dict) else None
        if isinstance(video_id, str) and isinstance(snippet.get("title"), str):
            titles[video_id] = snippet["title"]
    return titles
