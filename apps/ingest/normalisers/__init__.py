"""Normalisers: raw upstream payloads in, DESIGN.md signals out.

`normalise_payload` is the public entry point (the `normalise` command, replay and the benchmark use
it); the live sources call the per-platform functions on data they have already parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from signalflow.signal import Platform, Signal

from .base import ItemErrors, NormaliseError, payload_json, payload_text
from .bluesky import bluesky_frame_decode, bluesky_jetstream_signals, bluesky_records_signals
from .hackernews import hackernews_normalise
from .reddit import reddit_normalise
from .youtube import youtube_normalise

__all__ = ["NormaliseError", "normalise_payload", "payload_kind"]


def normalise_payload(
    platform: str,
    payload: bytes,
    *,
    filename: str = "",
    video_titles: Mapping[str, str] | None = None,
    strict: bool = True,
    on_error: Callable[[str], None] | None = None,
) -> list[Signal]:
    """Every post and comment in one raw payload, as validated signals (no quality filter).

    Raises NormaliseError (one line) when the payload is malformed. With strict=False a bad item
    inside a good payload is passed to `on_error` and skipped instead of failing the whole payload.
    """
    try:
        platform = Platform(platform).value
    except ValueError:
        raise NormaliseError(
            f"unknown platform {platform[:40]!r} (one of {', '.join(p.value for p in Platform)})"
        ) from None
    errors = ItemErrors(strict=strict, on_error=on_error)
    if platform == Platform.BLUESKY:
        return _bluesky(payload, filename, errors)
    data = payload_json(payload)
    if platform == Platform.REDDIT:
        return reddit_normalise(data, errors)
    if platform == Platform.HACKERNEWS:
        return hackernews_normalise(data, errors)
    return youtube_normalise(data, errors, video_titles=video_titles)


def payload_kind(platform: str, payload: bytes, *, filename: str = "") -> str:
    """Which kind of Bluesky payload this is: 'frame', 'jetstream' or 'records' (JSON otherwise)."""
    if platform != Platform.BLUESKY:
        return "json"
    head = payload.lstrip()[:1]
    if filename.endswith(".cbor") or head not in (b"{", b"["):
        return "frame"
    return "records" if head == b"[" else "jetstream"


def _bluesky(payload: bytes, filename: str, errors: ItemErrors) -> list[Signal]:
    kind = payload_kind(Platform.BLUESKY, payload, filename=filename)
    if kind == "frame":
        if not payload:
            raise NormaliseError("bluesky: frame is empty")
        return bluesky_frame_decode(payload, errors).signals
    if kind == "records":
        return bluesky_records_signals(payload_json(payload), errors)
    payload_text(payload)  # size and UTF-8 checks before splitting lines
    return bluesky_jetstream_signals(payload, errors)
