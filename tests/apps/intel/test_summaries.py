"""The summariser against the fake provider APIs (real groq/openai/anthropic clients) and offline."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.intel import llm, services
from apps.intel.models import TopicSummary
from apps.intel.selectors import narrative_attributed, summary_for_topic
from tests.apps.intel.conftest import topic_create
from tests.support.factories import signal_create


@pytest.fixture
def summary_settings(settings):
    settings.SIGNALFLOW_SUMMARY_MIN_SIGNALS = 10
    settings.SIGNALFLOW_LLM_SPACING_S = 0.05
    settings.SIGNALFLOW_LLM_TIMEOUT_S = 5.0
    settings.GROQ_API_KEYS = []
    settings.OPENAI_API_KEY = ""
    settings.ANTHROPIC_API_KEY = ""
    settings.SIGNALFLOW_LLM_PROVIDER = "auto"
    return settings


@pytest.fixture
def groq_keys(summary_settings, fake_llm):
    summary_settings.GROQ_API_KEYS = ["gsk_key_one", "gsk_key_two"]
    summary_settings.GROQ_BASE_URL = fake_llm.groq_url
    return summary_settings


def topics(*names: str, count: int = 10) -> None:
    for name in names:
        topic_create(name, reddit=-0.10, youtube=-0.76, count=count)


@pytest.mark.django_db
def test_without_a_key_the_extractive_summariser_fills_every_field(summary_settings):
    topics("tariffs", count=20)
    result = services.topics_summarise()
    assert result == {"topics": 1, "written": 1, "skipped": 0, "provider": "extractive"}
    row = TopicSummary.objects.get(topic="tariffs")
    assert (row.model, row.provider, row.window, row.signal_count) == ("extractive", "extractive", "24h", 40)
    assert row.summary.startswith("40 signals about tariffs")
    assert "http" not in row.summary
    assert "www." not in row.summary
    assert row.source_platform in {"reddit", "youtube"}
    assert row.dominant_narrative.count("-dominant · ") == 1
    assert row.emerging_angle
    assert "YouTube" in row.divergence_explanation
    assert "Reddit" in row.divergence_explanation
    assert "-0.76" in row.divergence_explanation


@pytest.mark.django_db
def test_groq_keys_round_robin_one_call_per_key_with_spacing(groq_keys, fake_llm):
    groq_keys.SIGNALFLOW_LLM_SPACING_S = 0.3
    topics("alpha", "bravo", "charlie", "delta", "echo", "foxtrot")

    result = services.topics_summarise()

    assert result["written"] == 6
    assert result["provider"] == "groq"
    assert {request.key for request in fake_llm.requests} == {"gsk_key_one", "gsk_key_two"}
    assert all(fake_llm.requests[i].path == "/groq/openai/v1/chat/completions" for i in range(6))
    assert max(fake_llm.max_in_flight.values()) == 1  # never two calls in flight on one key
    for key in ("gsk_key_one", "gsk_key_two"):
        calls = sorted((r.started, r.ended) for r in fake_llm.requests if r.key == key)
        assert all(later[0] - earlier[1] >= 0.29 for earlier, later in itertools.pairwise(calls))
    row = TopicSummary.objects.get(topic="alpha")
    assert (row.provider, row.model) == ("groq", "llama-3.3-70b-versatile")
    assert row.summary == "People discuss alpha across platforms."
    assert row.dominant_narrative == "YouTube-dominant · alpha is framed as a risk on YouTube."
    assert row.prompt_tokens > 50
    assert row.completion_tokens > 10
    assert row.latency_ms is not None
    assert row.latency_ms >= 0


@pytest.mark.django_db
def test_prompt_is_platform_tagged_url_free_and_bounded(groq_keys, fake_llm):
    groq_keys.SIGNALFLOW_SUMMARY_PROMPT_CHARS = 900
    topics("tariffs", count=20)
    services.topics_summarise()
    prompt = fake_llm.requests[0].body["messages"][1]["content"]
    assert len(prompt) <= 900
    assert "[reddit] " in prompt
    assert "[youtube] " in prompt
    assert not re.search(r"https?://|www\.", prompt)
    assert "reddit: 20 signals, sentiment -0.10" in prompt
    assert "youtube: 20 signals, sentiment -0.76" in prompt
    assert fake_llm.requests[0].body["response_format"] == {"type": "json_object"}


@pytest.mark.django_db
def test_a_429_waits_for_retry_after_and_goes_into_the_retry_pass(groq_keys, fake_llm):
    groq_keys.GROQ_API_KEYS = ["gsk_only"]
    fake_llm.retry_after = 0.6
    fake_llm.script("rate_limit")
    topics("alpha", "bravo")

    result = services.topics_summarise()

    assert result["written"] == 2
    assert result["skipped"] == 0
    statuses = [request.status for request in fake_llm.requests]
    assert statuses == [429, 200, 200]
    # The key rested for the provider's retry-after before its next call.
    assert fake_llm.requests[1].started - fake_llm.requests[0].ended >= 0.59
    retried = fake_llm.requests[2].body["messages"][1]["content"]
    assert retried == fake_llm.requests[0].body["messages"][1]["content"]  # the same topic, in the retry pass


@pytest.mark.django_db
def test_malformed_json_is_repaired_or_skipped(groq_keys, fake_llm):
    groq_keys.GROQ_API_KEYS = ["gsk_only"]
    fake_llm.script("repairable", "malformed")
    topics("alpha", count=12)
    topics("bravo", count=10)  # fewer signals: asked second

    result = services.topics_summarise()

    assert (result["written"], result["skipped"]) == (1, 1)
    assert TopicSummary.objects.get(topic="alpha").summary == "People discuss alpha across platforms."
    assert not TopicSummary.objects.filter(topic="bravo").exists()
    assert len(fake_llm.requests) == 2  # malformed answers are not retried


@pytest.mark.django_db
def test_a_timeout_is_retried_once_then_skipped(groq_keys, fake_llm):
    groq_keys.GROQ_API_KEYS = ["gsk_only"]
    groq_keys.SIGNALFLOW_LLM_TIMEOUT_S = 0.5
    fake_llm.hang_s = 1.5
    fake_llm.script("timeout", "timeout", "timeout")
    topics("alpha", count=12)
    topics("bravo", count=10)

    result = services.topics_summarise()

    # alpha: timeout, retry timeout → skipped; bravo: timeout, retry ok.
    assert (result["written"], result["skipped"]) == (1, 1)
    assert list(TopicSummary.objects.values_list("topic", flat=True)) == ["bravo"]


@pytest.mark.django_db
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_openai_and_anthropic_behind_the_same_interface(summary_settings, fake_llm, provider):
    if provider == "openai":
        summary_settings.OPENAI_API_KEY = "sk-test"
        summary_settings.OPENAI_BASE_URL = fake_llm.openai_url
    else:
        summary_settings.ANTHROPIC_API_KEY = "sk-ant-test"
        summary_settings.ANTHROPIC_BASE_URL = fake_llm.anthropic_url
    fake_llm.script("rate_limit")
    fake_llm.retry_after = 0.1
    topics("tariffs")

    result = services.topics_summarise()

    assert result["provider"] == provider
    assert result["written"] == 1
    assert fake_llm.requests[-1].key in {"sk-test", "sk-ant-test"}
    row = TopicSummary.objects.get(topic="tariffs")
    assert row.provider == provider
    assert row.summary == "People discuss tariffs across platforms."
    assert row.prompt_tokens > 50
    assert row.completion_tokens > 10


@pytest.mark.django_db
def test_rerun_updates_the_one_row_for_topic_and_window(summary_settings, groq_keys, fake_llm):
    topics("tariffs")
    services.topics_summarise()
    first = TopicSummary.objects.get()
    fake_llm.source_platform = "reddit"
    services.topics_summarise()
    row = TopicSummary.objects.get()
    assert row.pk == first.pk
    assert row.created_at == first.created_at
    assert row.updated_at > first.updated_at
    assert row.source_platform == "reddit"
    assert row.dominant_narrative.startswith("Reddit-dominant · ")


def test_attribution_is_never_doubled():
    once = narrative_attributed("Costs dominate", "youtube")
    assert once == "YouTube-dominant · Costs dominate"
    assert narrative_attributed(once, "youtube") == once
    assert narrative_attributed("youtube-dominant · YouTube-dominant · Costs dominate", "hackernews") == (
        "Hacker News-dominant · Costs dominate"
    )
    assert narrative_attributed("Costs dominate", "") == "Costs dominate"


@pytest.mark.django_db
def test_summary_for_topic_attributes_old_rows_at_read_time_once(summary_settings):
    TopicSummary.objects.create(
        topic="legacy", window="24h", summary="s", dominant_narrative="Costs dominate", source_platform="reddit"
    )
    TopicSummary.objects.create(
        topic="fresh",
        window="24h",
        summary="s",
        dominant_narrative="YouTube-dominant · Costs",
        source_platform="youtube",
    )
    assert summary_for_topic(topic="legacy")["dominant_narrative"] == "Reddit-dominant · Costs dominate"
    assert summary_for_topic(topic="fresh")["dominant_narrative"] == "YouTube-dominant · Costs"
    assert summary_for_topic(topic="missing") is None


@pytest.mark.parametrize(
    ("text", "repaired"),
    [
        (
            '{"summary": "s", "dominant_narrative": "d", "emerging_angle": "e", '
            '"divergence_explanation": "x", "source_platform": "YouTube"}',
            False,
        ),
        (
            '```json\n{"summary": "s", "dominant_narrative": "d", "emerging_angle": "e", '
            '"divergence_explanation": "x", "source_platform": "youtube",}\n```',
            True,
        ),
    ],
)
def test_summary_parse_strict_then_repair(text, repaired):
    fields, was_repaired = llm.summary_parse(text)
    assert was_repaired is repaired
    assert fields["source_platform"] == "youtube"


@pytest.mark.parametrize(
    "text",
    [
        "no json at all",
        '{"summary": "s"}',
        '["summary"]',
        '{"summary": 3, "dominant_narrative": "d", "emerging_angle": "e", "divergence_explanation": "x", '
        '"source_platform": "youtube"}',
        '{"summary": "s", "dominant_narrative": "d", "emerging_angle": "e", "divergence_explanation": "x", '
        '"source_platform": "youtube"',
    ],
)
def test_summary_parse_rejects_what_it_cannot_repair(text):
    with pytest.raises(llm.SummaryMalformed):
        llm.summary_parse(text)


def test_unknown_provider_setting_is_a_clear_error(settings):
    settings.SIGNALFLOW_LLM_PROVIDER = "gemini"
    with pytest.raises(ValueError, match="SIGNALFLOW_LLM_PROVIDER"):
        llm.llm_provider_name()


@pytest.mark.django_db
def test_a_source_platform_without_signals_falls_back_to_the_busiest(groq_keys, fake_llm):
    fake_llm.source_platform = "bluesky"  # the topic has no Bluesky signals
    topic_create("tariffs", reddit=-0.10, youtube=-0.76, count=10)
    for _ in range(3):
        signal_create(platform="reddit", topics=["tariffs"], published_at=timezone.now() - timedelta(hours=1))
    services.topics_summarise()
    row = TopicSummary.objects.get(topic="tariffs")
    assert row.source_platform == "reddit"
    assert row.dominant_narrative.startswith("Reddit-dominant · ")


@pytest.mark.django_db
def test_a_server_error_skips_the_topic_without_a_retry(groq_keys, fake_llm):
    groq_keys.GROQ_API_KEYS = ["gsk_only"]
    fake_llm.script("error")
    topics("alpha", count=12)
    topics("bravo", count=10)
    result = services.topics_summarise()
    assert (result["written"], result["skipped"]) == (1, 1)
    assert [request.status for request in fake_llm.requests] == [500, 200]
    assert list(TopicSummary.objects.values_list("topic", flat=True)) == ["bravo"]
