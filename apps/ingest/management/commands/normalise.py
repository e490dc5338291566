"""`python manage.py normalise PLATFORM FILE`: one raw upstream payload in, JSON Lines signals out.

FILE may be '-' for stdin. No quality filter: every post and comment in the payload is printed.
Malformed input exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.ingest.normalisers import NormaliseError, normalise_payload
from apps.ingest.normalisers.base import MAX_PAYLOAD_BYTES
from signalflow.signal import Platform


class Command(BaseCommand):
    help = "Normalise one raw upstream payload (Reddit, Algolia, YouTube JSON; a firehose frame; Jetstream JSONL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("platform", help="reddit, bluesky, hackernews or youtube")
        parser.add_argument("file", help="path of the payload, or - for stdin")

    def handle(self, *args: Any, **options: Any) -> None:
        platform, file = options["platform"], options["file"]
        if platform not in {p.value for p in Platform}:
            self._fail(f"unknown platform {platform!r}: use one of {', '.join(p.value for p in Platform)}")
        try:
            if file == "-":
                payload = sys.stdin.buffer.read(MAX_PAYLOAD_BYTES + 1)
            else:
                with Path(file).open("rb") as handle:
                    payload = handle.read(MAX_PAYLOAD_BYTES + 1)
        except OSError as exc:
            self._fail(f"cannot read {file}: {exc.strerror or exc}")
        try:
            signals = normalise_payload(platform, payload, filename=file)
        except NormaliseError as exc:
            self._fail(f"{file}: {exc}")
        out = sys.stdout
        for signal in signals:
            out.write(signal.to_json())
            out.write("\n")
        out.flush()

    def _fail(self, message: str) -> None:
        sys.stderr.write(f"normalise: {message}\n")
        sys.stderr.flush()
        raise SystemExit(2)
