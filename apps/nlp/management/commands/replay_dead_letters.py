"""`python manage.py replay_dead_letters (--id N ... | --pending [--topic T] [--limit N]) [--dry-run]`.

Sends dead letters' payloads (as stored, perhaps corrected in the admin) back to their source topics and
prints one JSON line per dead letter. Bad input: exit status 2 and one line on stderr.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.nlp.models import DeadLetter
from apps.nlp.selectors import dead_letters_pending
from apps.nlp.services import dead_letter_replay
from signalflow.kafka import producer_create, topic_registry


class Command(BaseCommand):
    help = "Replay dead letters to their source topics."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--id", type=int, action="append", dest="ids", default=[], help="dead letter id (repeat)")
        parser.add_argument("--pending", action="store_true", help="every dead letter never replayed")
        parser.add_argument("--topic", default="", help="with --pending: only this source topic")
        parser.add_argument("--limit", type=int, default=1000, help="with --pending: at most this many (1..100000)")
        parser.add_argument("--dry-run", action="store_true", help="list what would be replayed")

    def handle(self, *args: Any, **options: Any) -> None:
        ids, pending = options["ids"], options["pending"]
        if bool(ids) == bool(pending):
            raise CommandError("give either --id N (one or more) or --pending", returncode=2)
        if not 1 <= options["limit"] <= 100_000:
            raise CommandError(f"--limit must be 1..100000, not {options['limit']}", returncode=2)
        known_topics = {spec.name for spec in topic_registry()}
        if options["topic"] and options["topic"] not in known_topics:
            raise CommandError(f"unknown topic {options['topic']!r}", returncode=2)
        if ids:
            letters = list(DeadLetter.objects.filter(pk__in=ids).order_by("id"))
            missing = sorted(set(ids) - {letter.pk for letter in letters})
            if missing:
                raise CommandError(f"no dead letter with id {', '.join(map(str, missing))}", returncode=2)
        else:
            letters = dead_letters_pending(topic=options["topic"] or None, limit=options["limit"])
        producer = None if options["dry_run"] else producer_create()
        try:
            for letter in letters:
                if producer is not None:
                    dead_letter_replay(dead_letter_id=letter.pk, producer=producer)
                line = {"id": letter.pk, "topic": letter.topic, "replayed": producer is not None}
                self.stdout.write(json.dumps(line))
        finally:
            if producer is not None:
                producer.close(timeout=10)
