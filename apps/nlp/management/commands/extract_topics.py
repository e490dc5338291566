"""`manage.py extract_topics`: stdin lines {"id", "text"} (optional "lang") in, {"id", "topics"} out.

Topics are canonical lower-case strings, at most 8 per line; text in a language other than English gets [].
Every line is checked before any is processed, so bad input produces no partial output.
"""

import sys
from typing import Any

from django.core.management.base import BaseCommand

from apps.nlp.language import language_resolve_batch
from apps.nlp.management.commands._jsonl import CHUNK_LINES, jsonl_records, jsonl_write
from apps.nlp.topics import topics_extract_batch


class Command(BaseCommand):
    help = "Extract canonical topics from JSON Lines read from stdin; prints one JSON line per input line."

    def handle(self, *args: Any, **options: Any) -> None:
        records = jsonl_records(sys.stdin.buffer, optional=("lang",))
        for start in range(0, len(records), CHUNK_LINES):
            chunk = records[start : start + CHUNK_LINES]
            texts = [record["text"] for record in chunk]
            languages = language_resolve_batch(texts, [record.get("lang") for record in chunk])
            topics = topics_extract_batch(texts, languages=languages)
            jsonl_write(self.stdout, ({"id": r["id"], "topics": t} for r, t in zip(chunk, topics, strict=True)))
