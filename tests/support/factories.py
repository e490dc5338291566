"""Row factories for tests that need stored signals without running the pipeline.

The pipeline's own upsert (apps/nlp/services.py) is what production uses; these write the same
rows directly so intelligence and API tests can set up exact scenarios.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from apps.nlp.models import Signal, SignalTopic

_counter = itertools.count(1)


def signal_create(
    *,
    platform: str = "reddit",
    topics: list[str] | None = None,
    sentiment: float | None = 0.0,
    is_comment: bool = False,
    published_at: datetime | None = None,
    **fields: Any,
) -> Signal:
    """One stored signal plus its signal_topics rows."""
    n = next(_counter)
    source_id = fields.pop("source_id", f"f{n}")
    topics = topics if topics is not None else ["example"]
    published_at = published_at or timezone.now() - timedelta(minutes=5)
    label = (
        None
        if sentiment is None
        else ("positive" if sentiment > 0.05 else "negative" if sentiment < -0.05 else "neutral")
    )
    defaults: dict[str, Any] = {
        "title": "" if is_comment else f"Signal {n} about {', '.join(topics)}",
        "body": f"Body of signal {n} about {', '.join(topics)}",
        "url": f"https://example.com/{platform}/{source_id}",
        "author": f"author{n % 7}",
        "community": "worldnews" if platform == "reddit" else "",
        "raw_score": 10,
        "comment_count": 0,
        "extra": {"is_comment": is_comment},
        "language": "en",
        "sentiment_compound": sentiment,
        "sentiment_label": label,
        "sentiment_model": None if sentiment is None else ("roberta" if is_comment else "vader"),
        "velocity": 1.0,
        "trending_score": 0.0,
        "is_trending": False,
    }
    defaults.update(fields)
    signal = Signal.objects.create(
        id=f"{platform}:{source_id}",
        platform=platform,
        source_id=source_id,
        published_at=published_at,
        is_comment=is_comment,
        topics=topics,
        **defaults,
    )
    SignalTopic.objects.bulk_create(
        [
            SignalTopic(
                topic=topic,
                published_at=published_at,
                signal=signal,
                platform=platform,
                sentiment=sentiment,
                is_comment=is_comment,
            )
            for topic in topics
        ]
    )
    return signal


def signals_create(count: int, **kwargs: Any) -> list[Signal]:
    return [signal_create(**kwargs) for _ in range(count)]
