"""`manage.py kafka_topics [--create]`: list (or create) the topics of signalflow.kafka's registry."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from kafka.errors import KafkaError

from signalflow.kafka import topic_name, topic_registry, topics_ensure


class Command(BaseCommand):
    help = "List the Kafka topics SignalFlow uses; --create creates the missing ones."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--create", action="store_true", help="create missing topics")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["create"]:
            try:
                created = topics_ensure()
            except KafkaError as exc:
                raise CommandError(f"cannot reach Kafka to create topics: {exc}") from None
            for name in created:
                self.stdout.write(f"created {name}")
            self.stdout.write(f"{len(created)} topic(s) created, {len(topic_registry()) - len(created)} already there")
            return
        for spec in topic_registry():
            self.stdout.write(f"{topic_name(spec.name)}\t{spec.partitions}\t{spec.purpose}")
