"""Reads of apps/nlp: what the pipeline needs to know about signals already stored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from apps.nlp.models import DeadLetter, Signal


@dataclass(frozen=True)
class KnownSignal:
    """What the models already derived for a stored signal: reused, never computed again."""

    id: str
    language: str
    sentiment_compound: float | None
    sentiment_label: str | None
    sentiment_model: str | None
    topics: list[str]


def signal_known_map(*, ids: Sequence[str]) -> dict[str, KnownSignal]:
    """The stored model outputs of those of `ids` already in the database, in one query."""
    if not ids:
        return {}
    rows = Signal.objects.filter(id__in=list(set(ids))).values_list(
        "id", "language", "sentiment_compound", "sentiment_label", "sentiment_model", "topics"
    )
    return {row[0]: KnownSignal(*row[:5], topics=list(row[5] or [])) for row in rows}


def dead_letter_get(*, dead_letter_id: int) -> DeadLetter:
    """One dead letter; raises DeadLetter.DoesNotExist."""
    return DeadLetter.objects.get(pk=dead_letter_id)


def dead_letters_pending(*, topic: str | None = None, limit: int = 1000) -> list[DeadLetter]:
    """Dead letters never replayed, oldest first."""
    queryset = DeadLetter.objects.filter(replayed_at__isnull=True).order_by("created_at", "id")
    if topic:
        queryset = queryset.filter(topic=topic)
    return list(queryset[:limit])
