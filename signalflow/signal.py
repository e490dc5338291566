"""The normalised signal: the one contract every producer and consumer of signals.normalised shares.

One JSON object per Kafka message (DESIGN.md). `signal_validate` is the only way in: producers call it
before sending, consumers call it on what they read, so a malformed message is caught at both ends
with a message that names the field.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer, field_validator, model_validator

SCHEMA_VERSION = 1

# Bounds. Normalisers truncate text to these before validating (see `clip`); the schema rejects
# anything longer, so a hostile upstream cannot push an unbounded row into Postgres.
MAX_ID_LENGTH = 300
MAX_SOURCE_ID_LENGTH = 256
MAX_TITLE_LENGTH = 1_000
MAX_BODY_LENGTH = 40_000  # Reddit's self-text limit, the largest of the four platforms
MAX_URL_LENGTH = 2_048
MAX_AUTHOR_LENGTH = 256
MAX_COMMUNITY_LENGTH = 256
MAX_EXTRA_BYTES = 16_384
MAX_MESSAGE_BYTES = 256_000


class Platform(StrEnum):
    REDDIT = "reddit"
    BLUESKY = "bluesky"
    HACKERNEWS = "hackernews"
    YOUTUBE = "youtube"


class SignalValidationError(ValueError):
    """A signal broke the contract; str() is one line naming the field and the problem."""


class Signal(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)

    id: str = Field(min_length=3, max_length=MAX_ID_LENGTH)
    platform: Platform
    source_id: str = Field(min_length=1, max_length=MAX_SOURCE_ID_LENGTH)
    title: str = Field(default="", max_length=MAX_TITLE_LENGTH)
    body: str = Field(default="", max_length=MAX_BODY_LENGTH)
    url: str = Field(default="", max_length=MAX_URL_LENGTH)
    author: str = Field(default="", max_length=MAX_AUTHOR_LENGTH)
    community: str = Field(default="", max_length=MAX_COMMUNITY_LENGTH)
    published_at: datetime
    raw_score: int = Field(default=0, ge=-(2**31), le=2**31 - 1)
    comment_count: int = Field(default=0, ge=0, le=2**31 - 1)
    extra: dict[str, Any] = Field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    @field_validator("published_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("must carry a timezone (ISO-8601 with Z or an offset)")
        return value.astimezone(UTC)

    @field_validator("extra")
    @classmethod
    def _bounded_extra(cls, value: dict[str, Any]) -> dict[str, Any]:
        size = len(json.dumps(value, ensure_ascii=False, default=str).encode())
        if size > MAX_EXTRA_BYTES:
            raise ValueError(f"is {size} bytes of JSON, over the {MAX_EXTRA_BYTES}-byte limit")
        return value

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != SCHEMA_VERSION:
            raise ValueError(f"unsupported schema_version {value} (this build reads {SCHEMA_VERSION})")
        return value

    @model_validator(mode="after")
    def _id_matches(self) -> Signal:
        expected = f"{self.platform.value}:{self.source_id}"
        if self.id != expected:
            raise ValueError(f"id {self.id!r} must be '<platform>:<source_id>' ({expected!r})")
        return self

    @field_serializer("published_at")
    def _iso(self, value: datetime) -> str:
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")

    @property
    def is_comment(self) -> bool:
        return bool(self.extra.get("is_comment"))

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_json(self) -> str:
        return self.model_dump_json()

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


class Refresh(BaseModel):
    """A score refresh on reddit.posts.refresh: new counts for a signal already produced, never new text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=3, max_length=MAX_ID_LENGTH)
    raw_score: int = Field(ge=-(2**31), le=2**31 - 1)
    comment_count: int = Field(ge=0, le=2**31 - 1)
    observed_at: datetime

    @field_validator("observed_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("must carry a timezone (ISO-8601 with Z or an offset)")
        return value.astimezone(UTC)

    @field_serializer("observed_at")
    def _iso(self, value: datetime) -> str:
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


def refresh_from_bytes(payload: bytes) -> Refresh:
    """Parse and validate one reddit.posts.refresh message value."""
    try:
        return Refresh.model_validate_json(payload)
    except ValidationError as exc:
        raise SignalValidationError(_first_error(exc)) from None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"]) or "signal"
    message = error["msg"].removeprefix("Value error, ")
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{field}: {message}{more}"


def signal_validate(data: dict[str, Any]) -> Signal:
    """Validate one signal dict; raises SignalValidationError with a one-line reason."""
    if not isinstance(data, dict):
        raise SignalValidationError(f"signal must be a JSON object, got {type(data).__name__}")
    try:
        return Signal.model_validate(data)
    except ValidationError as exc:
        raise SignalValidationError(_first_error(exc)) from None


def signal_from_bytes(payload: bytes) -> Signal:
    """Parse and validate one Kafka message value."""
    if len(payload) > MAX_MESSAGE_BYTES:
        raise SignalValidationError(f"message is {len(payload)} bytes, over the {MAX_MESSAGE_BYTES}-byte limit")
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SignalValidationError(f"message is not valid JSON: {exc}") from None
    return signal_validate(data)


def clip(text: str | None, limit: int) -> str:
    """Text bounded to `limit` characters, for normalisers; None becomes ''."""
    if not text:
        return ""
    return text if len(text) <= limit else text[: limit - 1] + "…"
