"""`python manage.py run_ingest [--platform P]`: run the live sources under one supervisor.

`--replay DIR [--speed X] [--rebase-time] [--loop]` instead feeds a directory of recorded payloads
through the same normalisers onto the bus and exits with a per-platform summary (docs/ingest.md).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from signalflow.metrics import metrics_http_serve
from signalflow.signal import Platform


def _speed(value: str) -> float:
    if value.strip().lower() == "max":
        return 0.0
    try:
        speed = float(value)
    except ValueError:
        raise ValueError(f"--speed must be a number or 'max', got {value!r}") from None
    if speed < 0:
        raise ValueError("--speed must be ≥ 0 (0 or 'max' = as fast as possible)")
    return speed


class Command(BaseCommand):
    help = "Run the ingest sources (Reddit, Bluesky, Hacker News, YouTube), or replay recorded payloads."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--platform", choices=[p.value for p in Platform], help="run only this platform's sources")
        parser.add_argument("--metrics-port", type=int, default=None, help="Prometheus port (0 = off)")
        parser.add_argument("--replay", metavar="DIR", help="replay a directory laid out like shared/fixtures")
        parser.add_argument("--speed", default="max", help="replay pace: original gaps / X; 0 or 'max' = no waiting")
        parser.add_argument("--max-gap", type=float, default=60.0, help="replay: longest wait between two signals (s)")
        parser.add_argument("--rebase-time", action="store_true", help="replay: newest signal's published_at = now")
        parser.add_argument("--loop", action="store_true", help="replay: start again when the directory is done")
        parser.add_argument("--dedupe", action="store_true", help="replay: skip ids already produced (seen store)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["replay"]:
            # a replay usually runs next to a live ingest process: no listener unless asked for one
            self._replay(options, options["metrics_port"] or 0)
            return
        port = options["metrics_port"] if options["metrics_port"] is not None else settings.INGEST_METRICS_PORT
        self._metrics(port)
        asyncio.run(self._live(options["platform"]))

    def _metrics(self, port: int) -> None:
        try:
            metrics_http_serve(port)
        except OSError as exc:
            self._fail(f"cannot serve metrics on port {port}: {exc.strerror or exc} (use --metrics-port)")

    async def _live(self, platform: str | None) -> None:
        from apps.ingest.supervisor import Supervisor

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await Supervisor(platform=platform).run(stop)

    def _replay(self, options: dict[str, Any], port: int) -> None:
        from apps.ingest.replay import ReplayError, replay_run
        from apps.ingest.services import NoSeenStore, Publisher

        try:
            speed = _speed(options["speed"])
        except ValueError as exc:
            self._fail(str(exc))
        directory = Path(options["replay"])
        if not directory.is_dir():
            self._fail(f"--replay {directory}: not a directory")
        stopping = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopping.set())
        self._metrics(port)
        publisher = Publisher(seen=None if options["dedupe"] else NoSeenStore())
        try:
            summary = replay_run(
                directory,
                publisher=publisher,
                speed=speed,
                rebase_time=options["rebase_time"],
                max_gap=options["max_gap"],
                loop=options["loop"],
                sleep=lambda seconds: stopping.wait(seconds),
                should_stop=stopping.is_set,
            )
        except ReplayError as exc:
            self._fail(str(exc))
        finally:
            publisher.close()
        self.stdout.write(summary.line())

    def _fail(self, message: str) -> None:
        sys.stderr.write(f"run_ingest: {message}\n")
        raise SystemExit(2)
