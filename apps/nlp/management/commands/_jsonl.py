"""Reading JSON Lines from stdin for the model commands: validate every line first, fail with its number."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, BinaryIO

from django.core.management.base import CommandError

from signalflow.signal import MAX_BODY_LENGTH, MAX_ID_LENGTH, MAX_TITLE_LENGTH

# A signal's text is at most its title plus its body; anything longer did not come from the pipeline.
MAX_TEXT_LENGTH = MAX_TITLE_LENGTH + MAX_BODY_LENGTH + 2
# Scored in chunks of this many lines, so output streams while memory stays bounded by the chunk.
CHUNK_LINES = 512


def _bad(number: int, problem: str) -> CommandError:
    return CommandError(f"stdin line {number}: {problem}", returncode=2)


def jsonl_records(stream: BinaryIO, *, optional: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Every non-blank line of `stream` as a checked record with "id" (str) and "text" (str) plus `optional`."""
    allowed = {"id", "text", *optional}
    records: list[dict[str, Any]] = []
    for number, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _bad(number, f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise _bad(number, f"not valid JSON ({exc})") from None
        if not isinstance(record, dict):
            raise _bad(number, f"expected a JSON object, got {type(record).__name__}")
        unknown = sorted(set(record) - allowed)
        if unknown:
            raise _bad(number, f"unexpected field(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")
        identifier = record.get("id")
        if isinstance(identifier, bool) or not isinstance(identifier, str | int):
            raise _bad(number, '"id" must be a string or an integer')
        identifier = str(identifier)
        if not identifier or len(identifier) > MAX_ID_LENGTH:
            raise _bad(number, f'"id" must be 1 to {MAX_ID_LENGTH} characters')
        text = record.get("text")
        if not isinstance(text, str):
            raise _bad(number, '"text" must be a string')
        if len(text) > MAX_TEXT_LENGTH:
            raise _bad(number, f'"text" is {len(text)} characters, over the {MAX_TEXT_LENGTH} limit')
        lang = record.get("lang")
        if lang is not None and not isinstance(lang, str):
            raise _bad(number, '"lang" must be a string (e.g. "en") or null')
        record["id"] = identifier
        record["_line"] = number
        records.append(record)
    return records


def jsonl_bad(record: dict[str, Any], problem: str) -> CommandError:
    """A CommandError (exit 2) naming the record's line."""
    return _bad(record["_line"], problem)


def jsonl_write(stdout: Any, rows: Iterable[dict[str, Any]]) -> None:
    for row in rows:
        stdout.write(json.dumps(row, ensure_ascii=False))
