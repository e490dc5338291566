"""Shared pieces of the four normalisers: the error type, bounded parsing, and field coercion.

Upstream payloads are untrusted. Anything structurally wrong with the payload as a whole raises
NormaliseError (one line, safe to print); a single bad item inside an otherwise good payload is
reported through `ItemErrors` so that a live source can log, count and skip it.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from signalflow.signal import (
    MAX_AUTHOR_LENGTH,
    MAX_BODY_LENGTH,
    MAX_COMMUNITY_LENGTH,
    MAX_SOURCE_ID_LENGTH,
    MAX_TITLE_LENGTH,
    MAX_URL_LENGTH,
    Signal,
    SignalValidationError,
    clip,
    signal_validate,
)

# A payload bigger than this is refused before parsing: the largest real response we know of
# (a Reddit comment tree of 500 comments) is a few MB.
MAX_PAYLOAD_BYTES = 32 * 1024 * 1024
MAX_LINKS = 10


class NormaliseError(ValueError):
    """The payload cannot be normalised; str() is one line naming the problem."""


class ItemError(ValueError):
    """One item of a payload is malformed (missing or mistyped field)."""


class ItemErrors:
    """Collects per-item problems: strict mode raises on the first, lenient mode keeps them."""

    def __init__(self, *, strict: bool, on_error: Callable[[str], None] | None = None) -> None:
        self.strict = strict
        self.on_error = on_error
        self.messages: list[str] = []

    def add(self, where: str, exc: Exception) -> None:
        message = f"{where}: {one_line(str(exc))}"
        if self.strict:
            raise NormaliseError(message)
        self.messages.append(message)
        if self.on_error is not None:
            self.on_error(message)


def one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def payload_text(payload: bytes) -> str:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise NormaliseError(f"payload is {len(payload)} bytes, over the {MAX_PAYLOAD_BYTES}-byte limit")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NormaliseError(f"payload is not valid UTF-8 (byte {exc.start}: {exc.reason})") from None


def payload_json(payload: bytes) -> Any:
    text = payload_text(payload)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise NormaliseError(f"payload is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise NormaliseError("payload JSON is nested too deeply") from None


def need(data: Any, key: str, kind: type | tuple[type, ...]) -> Any:
    """data[key], which must exist and be of `kind` (bool is never accepted as a number)."""
    if not isinstance(data, dict):
        raise ItemError(f"expected an object, got {type(data).__name__}")
    if key not in data or data[key] is None:
        raise ItemError(f"missing field {key!r}")
    value = data[key]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ItemError(f"field {key!r} must be {_kind_name(kind)}, got bool")
    if not isinstance(value, kind):
        raise ItemError(f"field {key!r} must be {_kind_name(kind)}, got {type(value).__name__}")
    return value


def opt(data: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    """data[key] if present and of `kind`; a wrong type is an error, absence is the default."""
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ItemError(f"field {key!r} must be {_kind_name(kind)}, got bool")
    if not isinstance(value, kind):
        raise ItemError(f"field {key!r} must be {_kind_name(kind)}, got {type(value).__name__}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {int: "a number", float: "a number", str: "a string", dict: "an object", list: "a list", bool: "a boolean"}
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in kinds))


def count(value: Any) -> int:
    """A non-negative bounded count from an upstream number (floats and numeric strings accepted)."""
    try:
        number = int(value or 0)
    except (TypeError, ValueError):
        raise ItemError(f"count {value!r} is not a number") from None
    return max(0, min(number, 2**31 - 1))


def score(value: Any) -> int:
    try:
        number = int(value or 0)
    except (TypeError, ValueError):
        raise ItemError(f"score {value!r} is not a number") from None
    return max(-(2**31), min(number, 2**31 - 1))


def from_epoch(value: Any) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ItemError(f"timestamp {value!r} is not a number")
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ItemError(f"timestamp {value!r} is out of range") from None


def from_iso(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ItemError(f"timestamp {value!r} is not a string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ItemError(f"timestamp {value[:40]!r} is not ISO-8601") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class _TextExtractor(HTMLParser):
    _BREAKS = frozenset({"p", "br", "div", "li", "pre", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BREAKS and self.parts:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


_TAG = re.compile(r"<[a-zA-Z/!]")


def html_text(value: str | None) -> str:
    """Plain text from the small HTML that HN and YouTube send (paragraphs, links, entities)."""
    if not value:
        return ""
    if not _TAG.search(value):
        return html.unescape(value)
    parser = _TextExtractor()
    parser.feed(value)
    parser.close()
    return "".join(parser.parts).strip()


def signal_build(
    *,
    platform: str,
    source_id: str,
    published_at: datetime,
    title: str = "",
    body: str = "",
    url: str = "",
    author: str = "",
    community: str = "",
    raw_score: int = 0,
    comment_count: int = 0,
    extra: dict[str, Any] | None = None,
) -> Signal:
    """The one place a normaliser turns fields into a validated Signal, every text bounded."""
    source_id = source_id[:MAX_SOURCE_ID_LENGTH]
    data = {
        "id": f"{platform}:{source_id}",
        "platform": platform,
        "source_id": source_id,
        "title": clip(title, MAX_TITLE_LENGTH),
        "body": clip(body, MAX_BODY_LENGTH),
        "url": url if len(url) <= MAX_URL_LENGTH else "",
        "author": clip(author, MAX_AUTHOR_LENGTH),
        "community": clip(community, MAX_COMMUNITY_LENGTH),
        "published_at": published_at,
        "raw_score": raw_score,
        "comment_count": comment_count,
        "extra": _extra_bounded(extra or {}),
    }
    try:
        return signal_validate(data)
    except SignalValidationError as exc:
        raise ItemError(str(exc)) from None


def _extra_bounded(extra: dict[str, Any]) -> dict[str, Any]:
    """Drop None values and clip strings so one hostile field cannot push extra over its byte limit."""
    bounded: dict[str, Any] = {}
    for key, value in extra.items():
        if value is None:
            continue
        if isinstance(value, str):
            value = clip(value, 1_000)
        elif isinstance(value, list):
            value = [clip(v, 1_000) if isinstance(v, str) else v for v in value[:MAX_LINKS]]
        bounded[key] = value
    return bounded


def each(items: Any, where: str, errors: ItemErrors) -> Iterator[tuple[int, Any]]:
    """Enumerate a list from a payload; a non-list is a payload-level error."""
    if not isinstance(items, list):
        raise NormaliseError(f"{where} must be a list, got {type(items).__name__}")
    yield from enumerate(items)
