"""The live dashboard pages. They render a shell; the page's script reads the REST API with the
session cookie and listens on /ws/signals/, so no query logic lives here."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.nlp.models import SignalTopic
from signalflow.signal import Platform

PLATFORMS = tuple(p.value for p in Platform)
MAX_TOPIC_LENGTH = SignalTopic._meta.get_field("topic").max_length
PLATFORM_LABELS = {"reddit": "Reddit", "hackernews": "Hacker News", "youtube": "YouTube", "bluesky": "Bluesky"}


def _context(**extra: object) -> dict[str, object]:
    return {
        "platforms": [{"key": p, "label": PLATFORM_LABELS.get(p, p)} for p in PLATFORMS],
        "dashboard_config": {
            "api": "/api/v1/",
            "ws": "/ws/signals/",
            "topicUrl": "/dashboard/topic/",
            "platforms": list(PLATFORMS),
            "platformLabels": PLATFORM_LABELS,
            "refreshSeconds": 20,
            **extra,
        },
    }


@require_GET
@login_required
def dashboard_index(request: HttpRequest) -> HttpResponse:
    """Trending cards, divergence heatmap, live feed."""
    return render(request, "dashboard/index.html", _context(page="index"))


@require_GET
@login_required
def dashboard_topic(request: HttpRequest, topic: str) -> HttpResponse:
    """One topic: its summary, per-platform sentiment, divergence and top signals."""
    topic = topic.strip().lower()
    if not topic or len(topic) > MAX_TOPIC_LENGTH:
        raise Http404("no such topic")
    return render(request, "dashboard/topic.html", {"topic": topic, **_context(page="topic", topic=topic)})
