from datetime import UTC, datetime

import pytest

from signalflow.signal import (
    MAX_BODY_LENGTH,
    SignalValidationError,
    clip,
    signal_from_bytes,
    signal_validate,
)


def _signal(**overrides):
    data = {
        "id": "reddit:abc123",
        "platform": "reddit",
        "source_id": "abc123",
        "title": "Iran talks resume",
        "body": "",
        "url": "https://example.com/a",
        "author": "someone",
        "community": "worldnews",
        "published_at": "2026-01-02T03:04:05Z",
        "raw_score": 10,
        "comment_count": 2,
        "extra": {"is_comment": False},
        "schema_version": 1,
    }
    data.update(overrides)
    return data


def test_valid_signal_round_trips_as_utc_iso():
    signal = signal_validate(_signal(published_at="2026-01-02T05:04:05+02:00"))
    assert signal.published_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert signal.to_dict()["published_at"] == "2026-01-02T03:04:05Z"
    assert signal_from_bytes(signal.to_bytes()) == signal


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"platform": "myspace", "id": "myspace:abc123"}, "platform"),
        ({"id": "reddit:other"}, "must be '<platform>:<source_id>'"),
        ({"published_at": "2026-01-02T03:04:05"}, "published_at: must carry a timezone"),
        ({"published_at": "yesterday"}, "published_at"),
        ({"body": "x" * (MAX_BODY_LENGTH + 1)}, "body"),
        ({"comment_count": -1}, "comment_count"),
        ({"raw_score": "lots"}, "raw_score"),
        ({"schema_version": 2}, "unsupported schema_version 2"),
        ({"extra": {"blob": "y" * 20_000}}, "extra: is"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_signals_are_rejected_with_a_message_naming_the_field(overrides, message):
    with pytest.raises(SignalValidationError) as excinfo:
        signal_validate(_signal(**overrides))
    assert message in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


def test_missing_required_field_is_named():
    data = _signal()
    del data["published_at"]
    with pytest.raises(SignalValidationError, match=r"^published_at: Field required"):
        signal_validate(data)


@pytest.mark.parametrize("payload", [b"{not json", b"\xff\xfe", b"[1, 2]", b"x" * 300_000])
def test_bad_messages_are_rejected(payload):
    with pytest.raises(SignalValidationError):
        signal_from_bytes(payload)


def test_clip_bounds_text():
    assert clip(None, 5) == ""
    assert clip("abcdef", 4) == "abc…"
    assert clip("abc", 4) == "abc"
