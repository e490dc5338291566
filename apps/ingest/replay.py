"""Replay a directory of recorded upstream payloads onto the bus, through the live normalisers.

Layout (docs/ingest.md): DIR/<platform>/... with platform one of reddit, hackernews, youtube,
bluesky; files are raw API responses as recorded (`*.json`, Jetstream `*.jsonl`, firehose frames
`*.cbor`), searched recursively. INDEX.json, README/*.md and dotfiles are ignored. YouTube video
titles are taken from any videos/playlistItems/search responses in the youtube/ folder.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from signalflow.signal import Platform, Signal

from . import metrics
from .normalisers import NormaliseError, normalise_payload
from .normalisers.base import MAX_PAYLOAD_BYTES
from .normalisers.youtube import youtube_video_titles
from .services import Publisher

logger = logging.getLogger("apps.ingest")
PAYLOAD_SUFFIXES = {".json", ".jsonl", ".cbor"}
IGNORED_NAMES = {"INDEX.json", "index.json", "manifest.json"}
BATCH = 500


class ReplayError(ValueError):
    """The replay directory is unusable; str() is one line."""


@dataclass
class ReplaySummary:
    produced: Counter[str] = field(default_factory=Counter)
    files: int = 0
    bad_files: int = 0
    skipped_items: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        per = " ".join(f"{p.value}={self.produced.get(p.value, 0)}" for p in Platform)
        return (
            f"replay done: {per} total={sum(self.produced.values())} files={self.files} "
            f"bad_files={self.bad_files} skipped_items={self.skipped_items} in {self.seconds:.1f} s"
        )


def replay_files(directory: Path) -> Iterator[tuple[str, Path]]:
    """(platform, file) for every payload under DIR/<platform>/, sorted for a stable order."""
    if not directory.is_dir():
        raise ReplayError(f"{directory} is not a directory")
    found = False
    for platform in Platform:
        folder = directory / platform.value
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if (
                path.is_file()
                and path.suffix in PAYLOAD_SUFFIXES
                and path.name not in IGNORED_NAMES
                and not any(part.startswith(".") for part in path.relative_to(directory).parts)
            ):
                found = True
                yield platform.value, path
    if not found:
        raise ReplayError(f"{directory} has no payload files under reddit/, hackernews/, youtube/ or bluesky/")


def replay_load(directory: Path, summary: ReplaySummary) -> list[Signal]:
    """Every signal in the directory, oldest first; bad files and items are logged, counted and skipped."""
    files = list(replay_files(directory))
    titles: dict[str, str] = {}
    for platform, path in files:
        if platform == Platform.YOUTUBE and path.suffix == ".json":
            # a broken file is reported when it is normalised below
            with contextlib.suppress(ValueError, OSError):
                titles.update(youtube_video_titles(json.loads(path.read_bytes())))

    def skipped(message: str) -> None:
        summary.skipped_items += 1
        logger.warning("replay: skipped malformed item: %s", message)

    signals: dict[str, Signal] = {}
    for platform, path in files:
        summary.files += 1
        try:
            if path.stat().st_size > MAX_PAYLOAD_BYTES:
                raise NormaliseError(f"file is over the {MAX_PAYLOAD_BYTES}-byte limit")
            found = normalise_payload(
                platform, path.read_bytes(), filename=path.name, video_titles=titles, strict=False, on_error=skipped
            )
        except (NormaliseError, OSError) as exc:
            summary.bad_files += 1
            metrics.MALFORMED_ITEMS.labels(platform).inc()
            logger.warning("replay: skipped %s: %s", path, exc)
            continue
        for signal in found:
            signals[signal.id] = signal  # the same post in two recordings is one signal
    return sorted(signals.values(), key=lambda s: s.published_at)


def replay_rebase(signals: list[Signal], now: datetime | None = None) -> list[Signal]:
    """Shift every published_at by one offset so that the newest signal is `now`."""
    if not signals:
        return signals
    now = now or datetime.now(UTC)
    shift: timedelta = now - max(s.published_at for s in signals)
    return [s.model_copy(update={"published_at": s.published_at + shift}) for s in signals]


def replay_run(
    directory: Path,
    *,
    publisher: Publisher,
    speed: float = 0.0,
    rebase_time: bool = False,
    max_gap: float = 60.0,
    loop: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    should_stop: Callable[[], bool] = lambda: False,
) -> ReplaySummary:
    """Produce the directory's signals in published order; speed 0 = as fast as the broker takes them."""
    summary = ReplaySummary()
    started = time.monotonic()
    while True:
        signals = replay_load(directory, summary)
        if rebase_time:
            signals = replay_rebase(signals)
        batch: list[Signal] = []
        previous: datetime | None = None
        for signal in signals:
            if should_stop():
                break
            if speed > 0 and previous is not None:
                gap = min(max_gap, (signal.published_at - previous).total_seconds() / speed)
                if gap > 0.005:
                    _flush(publisher, batch, summary)
                    sleep(gap)
            previous = signal.published_at
            batch.append(signal)
            if len(batch) >= BATCH:
                _flush(publisher, batch, summary)
        _flush(publisher, batch, summary)
        if not loop or should_stop():
            break
    summary.seconds = time.monotonic() - started
    return summary


def _flush(publisher: Publisher, batch: list[Signal], summary: ReplaySummary) -> None:
    if not batch:
        return
    result = publisher.signals_publish(batch, refresh=False)
    for signal_id in result.new_ids:
        summary.produced[signal_id.split(":", 1)[0]] += 1
    batch.clear()
