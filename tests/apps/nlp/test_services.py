"""Storage: the idempotent bulk upsert, sentiment once per id, refreshes, the live feed, dead letters."""

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from apps.nlp import metrics, services
from apps.nlp.models import DeadLetter, Signal, SignalTopic
from apps.nlp.services import SignalItem
from signalflow.kafka import SIGNALS_NORMALISED, consumer_create, dlq_topic, producer_create, topic_name
from signalflow.realtime import SIGNAL_STORED_TYPE, SIGNALS_GROUP
from signalflow.signal import Refresh, signal_validate
from tests.support.factories import signal_create
from tests.support.tiny_models import tiny_roberta_dir

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(autouse=True)
def _models(settings, redis_nlp):
    settings.SIGNALFLOW_SENTIMENT_MODEL = str(tiny_roberta_dir())
    settings.SIGNALFLOW_NLP_KEY_PREFIX = f"test-{uuid.uuid4().hex[:8]}:"


def signal_dict(tag, n, *, comment=False, platform="reddit", **fields):
    data = {
        "id": f"{platform}:{tag}-{n}",
        "platform": platform,
        "source_id": f"{tag}-{n}",
        "title": "" if comment else f"Apple and Google respond to OpenAI, post {n}",
        "body": f"I really love what Microsoft did here, number {n}." if comment else "Details inside.",
        "url": f"https://example.com/{n}",
        "author": "someone",
        "community": "technology",
        "published_at": (NOW - timedelta(minutes=30)).isoformat(),
        "raw_score": 10,
        "comment_count": 2,
        "extra": {"is_comment": comment},
    }
    data.update(fields)
    return data


def item(data, observed=NOW):
    return SignalItem(signal=signal_validate(data), observed_at=observed)


@pytest.mark.django_db
def test_batch_is_stored_once_with_sentiment_topics_language_and_scores():
    tag = uuid.uuid4().hex[:8]
    batch = [item(signal_dict(tag, n, comment=n % 2 == 1)) for n in range(6)]
    outcome = services.signals_process(items=batch)
    assert (outcome.received, outcome.stored, outcome.scored) == (6, 6, 6)
    rows = {row.id: row for row in Signal.objects.filter(id__startswith=f"reddit:{tag}-")}
    assert len(rows) == 6
    post, comment = rows[f"reddit:{tag}-0"], rows[f"reddit:{tag}-1"]
    assert post.sentiment_model == "vader"
    assert -1 <= post.sentiment_compound <= 1
    assert comment.sentiment_model == "roberta"
    assert comment.is_comment
    assert post.language == "en"
    assert post.topics
    assert set(post.topics) <= {"apple", "google", "openai", "microsoft"}
    assert SignalTopic.objects.filter(signal_id=post.id).count() == len(post.topics)
    assert post.velocity == pytest.approx(12 / 0.5)  # 12 points over half an hour
    assert post.observed_at == NOW

    again = services.signals_process(items=batch)  # a redelivery after a crash
    assert (again.stored, again.scored) == (0, 0)
    assert Signal.objects.filter(id__startswith=f"reddit:{tag}-").count() == 6
    assert SignalTopic.objects.filter(signal__id__startswith=f"reddit:{tag}-").count() == sum(
        len(r.topics) for r in rows.values()
    )


@pytest.mark.django_db
def test_duplicates_in_a_batch_keep_the_newest_observation():
    tag = uuid.uuid4().hex[:8]
    newer = item(signal_dict(tag, 1, raw_score=50), NOW)
    older = item(signal_dict(tag, 1, raw_score=5), NOW - timedelta(minutes=5))
    assert services.signals_process(items=[newer, older]).stored == 1
    assert Signal.objects.get(id=f"reddit:{tag}-1").raw_score == 50


@pytest.mark.django_db
def test_known_signal_keeps_its_sentiment_and_models_do_not_run_again(monkeypatch):
    from apps.nlp import sentiment

    tag = uuid.uuid4().hex[:8]
    stored = signal_create(source_id=f"{tag}-1", sentiment=0.9, topics=["iran"], raw_score=1)
    scored_ids = []
    real = sentiment.sentiment_score_batch

    def spy(items, **kwargs):
        scored_ids.extend(i.id for i in items)
        return real(items, **kwargs)

    monkeypatch.setattr(sentiment, "sentiment_score_batch", spy)
    repoll = item(signal_dict(tag, 1, raw_score=400, title="A wholly different and terrible title"))
    fresh = item(signal_dict(tag, 2))
    outcome = services.signals_process(items=[repoll, fresh])
    assert scored_ids == [fresh.signal.id]
    assert outcome.scored == 1
    assert outcome.stored == 2
    stored.refresh_from_db()
    assert stored.raw_score == 400  # counts follow the newest observation
    assert (stored.sentiment_compound, stored.sentiment_model, stored.topics) == (0.9, "vader", ["iran"])


@pytest.mark.django_db
def test_an_older_observation_never_rolls_a_row_back():
    tag = uuid.uuid4().hex[:8]
    services.signals_process(items=[item(signal_dict(tag, 1, raw_score=100), NOW)])
    late = services.signals_process(items=[item(signal_dict(tag, 1, raw_score=3), NOW - timedelta(hours=1))])
    assert late.stored == 0
    assert Signal.objects.get(id=f"reddit:{tag}-1").raw_score == 100


@pytest.mark.django_db
def test_refresh_updates_counts_and_velocity_never_sentiment():
    tag = uuid.uuid4().hex[:8]
    services.signals_process(items=[item(signal_dict(tag, 1, raw_score=10, comment_count=2), NOW)])
    before = Signal.objects.get(id=f"reddit:{tag}-1")
    refreshes = [
        Refresh(id=before.id, raw_score=70, comment_count=2, observed_at=NOW + timedelta(minutes=30)),
        Refresh(id=before.id, raw_score=40, comment_count=2, observed_at=NOW + timedelta(minutes=10)),
        Refresh(id=f"reddit:{tag}-missing", raw_score=1, comment_count=0, observed_at=NOW),
    ]
    assert services.refreshes_apply(refreshes=refreshes) == 1
    after = Signal.objects.get(id=before.id)
    assert (after.raw_score, after.comment_count) == (70, 2)
    assert after.velocity == pytest.approx(60 / 0.5)  # +60 points in 30 minutes
    assert (after.sentiment_compound, after.sentiment_model, after.topics) == (
        before.sentiment_compound,
        before.sentiment_model,
        before.topics,
    )
    stale = Refresh(id=before.id, raw_score=1, comment_count=0, observed_at=NOW + timedelta(minutes=20))
    assert services.refreshes_apply(refreshes=[stale]) == 0
    assert not Signal.objects.filter(id=f"reddit:{tag}-missing").exists()


@pytest.mark.django_db
def test_stored_signals_are_published_after_commit(django_capture_on_commit_callbacks):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(SIGNALS_GROUP, channel)
    try:
        tag = uuid.uuid4().hex[:8]
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.signals_process(items=[item(signal_dict(tag, 1, body="x" * 2000))])
        assert len(callbacks) == 1  # nothing is sent before the transaction commits
        callbacks[0]()
        message = async_to_sync(layer.receive)(channel)
        while message["signal"]["id"] != f"reddit:{tag}-1":  # other tests may publish too
            message = async_to_sync(layer.receive)(channel)
    finally:
        async_to_sync(layer.group_discard)(SIGNALS_GROUP, channel)
    assert message["type"] == SIGNAL_STORED_TYPE
    public = message["signal"]
    assert len(public["body"]) == 500
    assert public["published_at"].endswith("Z")
    assert public["sentiment_model"] == "vader"
    assert public["platform"] == "reddit"


@pytest.mark.django_db
def test_a_feed_that_cannot_be_reached_loses_no_row(settings, django_capture_on_commit_callbacks):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": ["redis://127.0.0.1:9"]}}
    }
    failures = metrics.PUBLISH_FAILURES._value.get()
    tag = uuid.uuid4().hex[:8]
    with django_capture_on_commit_callbacks(execute=True):
        assert services.signals_process(items=[item(signal_dict(tag, 1))]).stored == 1
    assert Signal.objects.filter(id=f"reddit:{tag}-1").exists()
    assert metrics.PUBLISH_FAILURES._value.get() == failures + 1


def _read(topic, group, want, keep, timeout=20):
    consumer = consumer_create(topic, group=group)
    got = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < want and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                got.extend(r for r in records if keep(r))
    finally:
        consumer.close(autocommit=False)
    return got


@pytest.mark.django_db
@pytest.mark.usefixtures("kafka_topics")
def test_dead_letter_is_sent_with_its_error_recorded_once_and_replayed():
    tag = uuid.uuid4().hex[:8]
    producer = producer_create()
    payload = b'{"id": "broken-' + tag.encode() + b'"'
    for _ in range(2):  # a redelivery after a crash records one row
        services.dead_letter_store(
            producer=producer,
            topic=SIGNALS_NORMALISED,
            partition=0,
            offset=10_000 + int(tag, 16) % 1_000_000,
            key=f"k-{tag}".encode(),
            payload=payload,
            error="signal: message is not valid JSON",
            error_type="SignalValidationError",
        )
    letter = DeadLetter.objects.get(key=f"k-{tag}")
    assert bytes(letter.payload) == payload
    assert letter.topic == SIGNALS_NORMALISED

    dlq = _read(dlq_topic(SIGNALS_NORMALISED), f"dlq-{tag}", 1, lambda r: r.key == f"k-{tag}".encode())
    assert dlq[0].value == payload
    headers = dict(dlq[0].headers)
    assert headers["signalflow-error"] == b"signal: message is not valid JSON"
    assert headers["signalflow-source-topic"] == SIGNALS_NORMALISED.encode()

    fixed = signal_validate(signal_dict(tag, 1))
    DeadLetter.objects.filter(pk=letter.pk).update(payload=fixed.to_bytes())  # an operator's correction
    services.dead_letter_replay(dead_letter_id=letter.pk, producer=producer)
    producer.close()
    replayed = _read(SIGNALS_NORMALISED, f"replay-{tag}", 1, lambda r: r.key == f"k-{tag}".encode())
    assert replayed[0].value == fixed.to_bytes()
    assert replayed[0].topic == topic_name(SIGNALS_NORMALISED)
    letter.refresh_from_db()
    assert letter.replay_count == 1
    assert letter.replayed_at is not None

    with pytest.raises(DeadLetter.DoesNotExist):
        services.dead_letter_replay(dead_letter_id=-1)


@pytest.mark.django_db
def test_nul_characters_postgres_cannot_hold_are_dropped_not_fatal():
    tag = uuid.uuid4().hex[:8]
    data = signal_dict(tag, 1, body="before\x00after", extra={"is_comment": False, "flair": "a\x00b"})
    assert services.signals_process(items=[item(data)]).stored == 1
    row = Signal.objects.get(id=f"reddit:{tag}-1")
    assert row.body == "beforeafter"
    assert row.extra["flair"] == "ab"
