"""The divergence detector: significance-gated events, origin and lag, no duplicates, resolution by gap."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from scipy import stats

from apps.intel import services
from apps.intel.models import PlatformDivergence
from tests.apps.intel.conftest import spread, topic_create
from tests.support.factories import signal_create


@pytest.mark.django_db
def test_crafted_two_platform_topic_opens_one_event_with_a_p_value():
    values = topic_create("tariffs", reddit=-0.10, youtube=-0.76, count=20)

    counts = services.divergences_detect()

    assert counts["opened"] == 1
    event = PlatformDivergence.objects.get(topic="tariffs")
    assert (event.platform_a, event.platform_b, event.status) == ("reddit", "youtube", "open")
    assert event.sentiment_a == pytest.approx(-0.10, abs=1e-6)
    assert event.sentiment_b == pytest.approx(-0.76, abs=1e-6)
    assert event.gap == pytest.approx(0.66, abs=1e-6)
    assert (event.count_a, event.count_b) == (20, 20)
    expected = stats.ttest_ind(values["reddit"], values["youtube"], equal_var=False).pvalue
    assert event.p_value == pytest.approx(expected, rel=1e-6)
    assert event.p_value < 1e-10
    # Reddit's first signal was three hours ago, YouTube's two: Reddit first, one hour ahead.
    assert (event.origin_platform, event.lag_seconds) == ("reddit", 3600)


@pytest.mark.django_db
def test_the_same_gap_on_five_signals_each_opens_nothing():
    topic_create("tariffs-small", reddit=-0.10, youtube=-0.76, count=5)
    assert services.divergences_detect()["opened"] == 0
    assert not PlatformDivergence.objects.exists()


@pytest.mark.django_db
def test_a_big_gap_that_is_not_significant_opens_nothing():
    now = timezone.now()
    reddit = [float(v) for v in spread(0.0, 15, width=0.95)]
    youtube = [float(v) for v in spread(-0.32, 15, width=0.66)]
    assert stats.ttest_ind(reddit, youtube, equal_var=False).pvalue > 0.05  # the premise
    for platform, values in (("reddit", reddit), ("youtube", youtube)):
        for index, value in enumerate(values):
            signal_create(
                platform=platform, topics=["noisy"], sentiment=value, published_at=now - timedelta(minutes=index)
            )
    assert services.divergences_detect()["opened"] == 0


@pytest.mark.django_db
def test_rerunning_never_duplicates_and_refreshes_the_open_event():
    topic_create("tariffs", reddit=-0.10, youtube=-0.76, count=20)
    services.divergences_detect()
    first = PlatformDivergence.objects.get()
    topic_create(
        "tariffs",
        reddit=-0.10,
        youtube=-0.90,
        count=16,
        reddit_start_ago=timedelta(hours=1),
        youtube_start_ago=timedelta(hours=1),
    )
    counts = services.divergences_detect()
    services.divergences_detect()
    assert counts["opened"] == 0
    event = PlatformDivergence.objects.get()
    assert event.pk == first.pk
    assert (event.count_a, event.count_b) == (36, 36)
    assert event.gap > first.gap
    assert event.origin_platform == "reddit"


@pytest.mark.django_db
def test_event_resolves_when_the_gap_closes_and_a_new_one_can_open_later():
    topic_create("tariffs", reddit=-0.10, youtube=-0.76, count=20)
    services.divergences_detect()
    # YouTube comes round: 100 more signals near Reddit's mood pull its mean to -0.21, a 0.11 gap.
    topic_create(
        "tariffs",
        reddit=-0.10,
        youtube=-0.10,
        count=100,
        reddit_start_ago=timedelta(minutes=110),
        youtube_start_ago=timedelta(minutes=110),
    )
    counts = services.divergences_detect()
    assert counts["resolved"] == 1
    event = PlatformDivergence.objects.get()
    assert event.status == "resolved"
    assert event.resolved_at is not None
    assert event.gap < 0.15
    assert services.divergences_detect()["opened"] == 0

    topic_create(
        "tariffs",
        reddit=0.7,
        youtube=-0.75,
        count=200,
        reddit_start_ago=timedelta(minutes=205),
        youtube_start_ago=timedelta(minutes=205),
    )
    assert services.divergences_detect()["opened"] == 1
    assert list(PlatformDivergence.objects.order_by("id").values_list("status", flat=True)) == ["resolved", "open"]


@pytest.mark.django_db
def test_gap_inside_the_hysteresis_band_keeps_the_event_open(settings):
    topic_create("tariffs", reddit=-0.10, youtube=-0.76, count=20)
    services.divergences_detect()
    settings.SIGNALFLOW_DIVERGENCE_MIN_GAP = 0.9  # no longer enough to open ...
    counts = services.divergences_detect()  # ... but 0.66 is far above the 0.15 resolve gap
    assert counts["resolved"] == 0
    assert PlatformDivergence.objects.get().status == "open"


@pytest.mark.django_db
def test_signals_outside_the_lookback_window_are_ignored(settings):
    topic_create(
        "old-news",
        reddit=-0.10,
        youtube=-0.76,
        count=20,
        reddit_start_ago=timedelta(days=3),
        youtube_start_ago=timedelta(days=3),
    )
    settings.SIGNALFLOW_DIVERGENCE_LOOKBACK_S = 86_400
    assert services.divergences_detect()["opened"] == 0
