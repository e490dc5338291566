"""`python manage.py run_bridge [--consumer nlp-bridge] [--metrics-port N]`: the Kafka → Celery bridge."""

from __future__ import annotations

import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.nlp.bridge import Bridge, CircuitBreakerOpen, consumer_registry
from signalflow.metrics import metrics_http_serve

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Consume signals.normalised and reddit.posts.refresh, batch them to Celery, commit once stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--consumer", default="nlp-bridge", help="registered consumer to run (apps/nlp/bridge.py)")
        parser.add_argument("--metrics-port", type=int, default=0, help="serve Prometheus /metrics here (0: off)")

    def handle(self, *args: Any, **options: Any) -> None:
        registry = consumer_registry()
        name = options["consumer"]
        if name not in registry:
            raise CommandError(f"unknown consumer {name!r}; registered: {', '.join(sorted(registry))}", returncode=2)
        port = options["metrics_port"]
        if not 0 <= port <= 65535:
            raise CommandError(f"--metrics-port must be 0..65535, not {port}", returncode=2)
        metrics_http_serve(port)
        bridge = Bridge(registry[name])
        bridge.signals_install()
        try:
            bridge.run()
        except CircuitBreakerOpen as exc:
            raise CommandError(f"circuit breaker open, bridge stopped: {exc}") from None
        finally:
            bridge.close()
