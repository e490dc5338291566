"""`manage.py score_sentiment [--model auto|vader|roberta]`: stdin JSON Lines in, one sentiment line out per line.

In: {"id", "text", "is_comment"} (optional "lang", e.g. Bluesky's langs[0]). Out: {"id", "compound", "label",
"model"}; compound is null where the pipeline would not score the text (empty, or a language the models cannot
read). `auto` routes exactly as the pipeline does; `vader` or `roberta` forces that model on every line.
Every line is checked before any is scored, so bad input produces no partial output.
"""

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.nlp.management.commands._jsonl import CHUNK_LINES, jsonl_bad, jsonl_records, jsonl_write
from apps.nlp.sentiment import MODELS, SentimentInput, sentiment_score_batch


class Command(BaseCommand):
    help = "Score sentiment of JSON Lines read from stdin; prints one JSON line per input line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", choices=MODELS, default="auto", help="auto routes as the pipeline does")

    def handle(self, *args: Any, **options: Any) -> None:
        records = jsonl_records(sys.stdin.buffer, optional=("is_comment", "lang"))
        items = []
        for record in records:
            is_comment = record.get("is_comment", False)
            if not isinstance(is_comment, bool):
                raise jsonl_bad(record, '"is_comment" must be true or false')
            items.append(SentimentInput(record["id"], record["text"], is_comment, record.get("lang")))
        for start in range(0, len(items), CHUNK_LINES):
            results = sentiment_score_batch(items[start : start + CHUNK_LINES], model=options["model"])
            rows = ({"id": r.id, "compound": r.compound, "label": r.label, "model": r.model} for r in results)
            jsonl_write(self.stdout, rows)
