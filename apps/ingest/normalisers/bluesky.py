"""Bluesky: `app.bsky.feed.post` creates, from raw firehose frames (`com.atproto.sync.subscribeRepos`,
DAG-CBOR header + body whose `blocks` are CAR bytes), Jetstream JSON events, or `{uri, cid, value}`
record dumps. Likes, follows, reposts, blocks, deletes, updates, identity and account events are
ignored (they are not conversation).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import libipld
from atproto_core.cbor import decode_dag_multi

from signalflow.signal import Signal

from .base import (
    ItemError,
    ItemErrors,
    NormaliseError,
    each,
    from_epoch,
    from_iso,
    need,
    opt,
    payload_text,
    signal_build,
)

PLATFORM = "bluesky"
POST_COLLECTION = "app.bsky.feed.post"
LINK_FACET = "app.bsky.richtext.facet#link"
TAG_FACET = "app.bsky.richtext.facet#tag"
# A client may claim any createdAt; a post "from the future" is dated when the relay saw it.
MAX_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class FirehoseFrame:
    """What the firehose source needs from one frame besides its signals."""

    seq: int | None
    kind: str
    time: datetime | None
    signals: list[Signal]


def bluesky_frame_decode(frame: bytes, errors: ItemErrors) -> FirehoseFrame:
    """One raw subscribeRepos frame: header `{op, t}` then body. Error frames (op -1) raise."""
    try:
        parts = decode_dag_multi(frame)
    except Exception as exc:  # libipld raises plain ValueError/TypeError subclasses on bad CBOR
        raise NormaliseError(f"bluesky: frame is not DAG-CBOR: {str(exc)[:200]}") from None
    if len(parts) != 2 or not isinstance(parts[0], dict) or not isinstance(parts[1], dict):
        raise NormaliseError("bluesky: frame must be a DAG-CBOR header object followed by a body object")
    header, body = parts
    if header.get("op") == -1:
        raise NormaliseError(f"bluesky: error frame {str(body.get('error'))[:100]}: {str(body.get('message'))[:200]}")
    if header.get("op") != 1:
        raise NormaliseError(f"bluesky: unknown frame op {header.get('op')!r}")
    kind = str(header.get("t") or "")
    seq = body.get("seq") if isinstance(body.get("seq"), int) and not isinstance(body.get("seq"), bool) else None
    time = None
    if isinstance(body.get("time"), str):
        try:
            time = from_iso(body["time"])
        except ItemError:
            time = None
    if kind != "#commit":
        return FirehoseFrame(seq=seq, kind=kind, time=time, signals=[])
    return FirehoseFrame(seq=seq, kind=kind, time=time, signals=_commit_signals(body, time, errors))


def _commit_signals(body: dict[str, Any], time: datetime | None, errors: ItemErrors) -> list[Signal]:
    try:
        did = need(body, "repo", str)
        ops = need(body, "ops", list)
    except ItemError as exc:
        errors.add("bluesky commit", exc)
        return []
    creates = [
        op
        for op in ops
        if isinstance(op, dict)
        and op.get("action") == "create"
        and str(op.get("path", "")).startswith(POST_COLLECTION + "/")
    ]
    if not creates:
        return []
    blocks_raw = body.get("blocks")
    if not isinstance(blocks_raw, bytes):
        errors.add("bluesky commit", ItemError("field 'blocks' must be CAR bytes"))
        return []
    try:
        _, blocks = libipld.decode_car(blocks_raw)
    except Exception as exc:  # a truncated or corrupt CAR
        errors.add("bluesky commit", ItemError(f"blocks are not a valid CAR file: {str(exc)[:200]}"))
        return []
    signals = []
    for op in creates:
        rkey = op["path"].split("/", 1)[1]
        record = blocks.get(op.get("cid")) if isinstance(op.get("cid"), bytes) else None
        where = f"bluesky {did}/{rkey}"
        if not isinstance(record, dict):
            errors.add(where, ItemError("record block missing from the commit's CAR"))
            continue
        try:
            signals.append(bluesky_post_signal(did=did, rkey=rkey, record=record, seen_at=time, cid=None))
        except ItemError as exc:
            errors.add(where, exc)
    return signals


def bluesky_post_signal(
    *, did: str, rkey: str, record: dict[str, Any], seen_at: datetime | None, cid: str | None
) -> Signal:
    """One post record. Replies are comments whose parent is the replied-to post."""
    if record.get("$type", POST_COLLECTION) != POST_COLLECTION:
        raise ItemError(f"record type {str(record.get('$type'))[:80]!r} is not a post")
    if not did.startswith("did:") or not rkey or "/" in rkey:
        raise ItemError(f"bad repo/rkey {did[:80]!r}/{rkey[:40]!r}")
    text = opt(record, "text", str, "")
    published = from_iso(need(record, "createdAt", str))
    if seen_at is not None and published > seen_at + MAX_CLOCK_SKEW:
        published = seen_at
    reply = opt(record, "reply", dict, {})
    parent_uri = _ref_uri(reply.get("parent"))
    root_uri = _ref_uri(reply.get("root"))
    links, tags = _facets(record.get("facets"))
    embed = record.get("embed") if isinstance(record.get("embed"), dict) else {}
    external = embed.get("external") if isinstance(embed.get("external"), dict) else {}
    if isinstance(external.get("uri"), str) and external["uri"] not in links:
        links.append(external["uri"])
    langs = [lang for lang in opt(record, "langs", list, []) if isinstance(lang, str)][:5]
    return signal_build(
        platform=PLATFORM,
        source_id=f"{did}/{rkey}",
        body=text,
        url=f"https://bsky.app/profile/{did}/post/{rkey}",
        author=did,
        community=langs[0] if langs else "",
        published_at=published,
        extra={
            "is_comment": bool(parent_uri),
            "parent_id": _uri_signal_id(parent_uri),
            "parent_title": "" if parent_uri else None,
            "root_id": _uri_signal_id(root_uri),
            "langs": langs,
            "links": links,
            "tags": tags,
            "embed": str(embed.get("$type"))[:100] if embed.get("$type") else None,
            "embed_title": external.get("title") if isinstance(external.get("title"), str) else None,
            "cid": cid,
        },
    )


def _ref_uri(ref: Any) -> str:
    return ref["uri"] if isinstance(ref, dict) and isinstance(ref.get("uri"), str) else ""


def _uri_signal_id(uri: str) -> str | None:
    """`at://<did>/app.bsky.feed.post/<rkey>` → `bluesky:<did>/<rkey>`."""
    if not uri.startswith("at://"):
        return None
    parts = uri[5:].split("/")
    if len(parts) != 3 or parts[1] != POST_COLLECTION:
        return None
    return f"{PLATFORM}:{parts[0]}/{parts[2]}"


def _facets(facets: Any) -> tuple[list[str], list[str]]:
    links: list[str] = []
    tags: list[str] = []
    for facet in facets if isinstance(facets, list) else []:
        features = facet.get("features") if isinstance(facet, dict) else None
        for feature in features if isinstance(features, list) else []:
            if not isinstance(feature, dict):
                continue
            if feature.get("$type") == LINK_FACET and isinstance(feature.get("uri"), str):
                links.append(feature["uri"])
            elif feature.get("$type") == TAG_FACET and isinstance(feature.get("tag"), str):
                tags.append(feature["tag"])
    return list(dict.fromkeys(links)), list(dict.fromkeys(tags))


def bluesky_jetstream_signals(payload: bytes, errors: ItemErrors) -> list[Signal]:
    """A Jetstream JSON Lines file (or one event): post creates become signals."""
    signals = []
    for number, line in enumerate(payload_text(payload).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.add(f"bluesky line {number}", ItemError(f"not valid JSON: {exc.msg}"))
            continue
        try:
            signal = bluesky_jetstream_event_signal(event)
        except ItemError as exc:
            errors.add(f"bluesky line {number}", exc)
            continue
        if signal is not None:
            signals.append(signal)
    return signals


def bluesky_jetstream_event_signal(event: Any) -> Signal | None:
    if not isinstance(event, dict):
        raise ItemError(f"event must be an object, got {type(event).__name__}")
    if event.get("kind") != "commit":
        return None
    commit = need(event, "commit", dict)
    if commit.get("operation") != "create" or commit.get("collection") != POST_COLLECTION:
        return None
    time_us = opt(event, "time_us", int)
    seen_at = None
    if time_us is not None:
        seen_at = from_epoch(time_us / 1_000_000)
    return bluesky_post_signal(
        did=need(event, "did", str),
        rkey=need(commit, "rkey", str),
        record=need(commit, "record", dict),
        seen_at=seen_at,
        cid=opt(commit, "cid", str),
    )


def bluesky_records_signals(data: Any, errors: ItemErrors) -> list[Signal]:
    """A list of `{uri, cid, value}` records (a repo export): posts become signals."""
    signals = []
    for index, item in each(data, "records", errors):
        try:
            uri = need(item, "uri", str)
            parts = uri.removeprefix("at://").split("/")
            if not uri.startswith("at://") or len(parts) != 3:
                raise ItemError(f"uri {uri[:100]!r} is not at://<did>/<collection>/<rkey>")
            if parts[1] != POST_COLLECTION:
                continue
            signals.append(
                bluesky_post_signal(
                    did=parts[0],
                    rkey=parts[2],
                    record=need(item, "value", dict),
                    seen_at=None,
                    cid=opt(item, "cid", str),
                )
            )
        except ItemError as exc:
            errors.add(f"bluesky records[{index}]", exc)
    return signals
