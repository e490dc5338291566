"""The pipeline's Celery tasks: declared policy, and a real run through the service (in process)."""

import uuid
from datetime import UTC, datetime

import pytest

from apps.nlp.models import Signal
from apps.nlp.tasks import TRANSIENT_ERRORS, apply_refreshes, process_batch
from tests.support.tiny_models import tiny_roberta_dir


@pytest.mark.parametrize("task", [process_batch, apply_refreshes])
def test_tasks_declare_name_retry_policy_and_limits(task):
    assert task.name in {"nlp.process_batch", "nlp.apply_refreshes"}
    assert task.acks_late is True
    assert task.autoretry_for == TRANSIENT_ERRORS
    assert 0 < task.max_retries <= 5
    assert task.retry_jitter is True
    assert task.time_limit > task.soft_time_limit > 0


@pytest.mark.django_db
def test_process_batch_then_refresh_through_the_tasks(settings, redis_nlp):
    settings.SIGNALFLOW_SENTIMENT_MODEL = str(tiny_roberta_dir())
    settings.SIGNALFLOW_NLP_KEY_PREFIX = f"test-{uuid.uuid4().hex[:8]}:"
    tag = uuid.uuid4().hex[:8]
    signal = {
        "id": f"hackernews:{tag}",
        "platform": "hackernews",
        "source_id": tag,
        "title": "Show HN: a faster Postgres upsert",
        "published_at": "2026-06-01T11:00:00Z",
        "raw_score": 10,
    }
    items = [{"signal": signal, "observed_at": "2026-06-01T12:00:00Z"}]
    assert process_batch.apply(args=[items]).get() == {"received": 1, "stored": 1, "scored": 1}
    refresh = {"id": signal["id"], "raw_score": 40, "comment_count": 5, "observed_at": datetime.now(UTC).isoformat()}
    assert apply_refreshes.apply(args=[[refresh]]).get() == {"received": 1, "updated": 1}
    assert Signal.objects.get(id=signal["id"]).raw_score == 40


def test_oversized_or_malformed_input_is_refused():
    with pytest.raises(ValueError, match="over the limit"):
        process_batch.apply(args=[[{}] * 5000]).get()
    with pytest.raises(TypeError):
        process_batch.apply(args=[{"not": "a list"}]).get()
