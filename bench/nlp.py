"""End-to-end pipeline throughput and latency: Kafka → bridge → Celery worker → rows in PostgreSQL.

`python -m bench nlp [--quick]` (SIGNALFLOW_BRIDGE_BATCH_SIZE sets the batch size, default 64). Two paths,
each measured on its own with real processes (a `run_bridge` and one solo Celery worker on the path's
queue), next to the raw throughput of the path's slowest model stage measured in this same run
(bench/nlp_models.py functions, in this process, warm models):

- posts: language + VADER + spaCy NER (cpu queue); ceiling = vader_ner_throughput on the same texts.
- comments: language + RoBERTa (gpu queue), a full-size random RobertaConfig() model saved locally (no hub);
  ceiling = roberta_throughput on the same texts.

The ceiling is the stage's rate on chunks of the pipeline's batch size (warm models), since that is what
one worker task gets; the rate with every text in one call is reported next to it.

Throughput: N signals produced in one burst; rate = N / (last row visible − first produce). Latency: from
each signal's produce to its row being visible (polled every 50 ms), both in the burst (which includes
queueing behind the burst) and in a paced run at half the measured rate (steady state).
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from statistics import quantiles

from django.conf import settings

from bench.nlp_models import corpus_texts, full_model_dir, roberta_throughput, vader_ner_throughput

BATCH = int(os.environ.get("SIGNALFLOW_BRIDGE_BATCH_SIZE", "64"))


def _percentiles(values):
    if len(values) < 2:
        return {"p50_s": round(values[0], 3) if values else None, "p95_s": None}
    cuts = quantiles(values, n=100)
    return {"p50_s": round(cuts[49], 3), "p95_s": round(cuts[94], 3)}


def _signals(run, kind, texts, start):
    from signalflow.signal import signal_validate

    comment = kind == "comments"
    out = []
    for offset, text in enumerate(texts):
        n = start + offset
        out.append(
            signal_validate(
                {
                    "id": f"reddit:bench{run}-{kind}-{n}",
                    "platform": "reddit",
                    "source_id": f"bench{run}-{kind}-{n}",
                    "title": "" if comment else text[:1000],
                    "body": text[:4000] if comment else "",
                    "community": "bench",
                    "published_at": "2026-06-01T11:00:00Z",
                    "raw_score": 1,
                    "extra": {"is_comment": comment},
                }
            )
        )
    return out


def _visible(ids):
    from apps.nlp.models import Signal

    return set(Signal.objects.filter(id__in=list(ids)).values_list("id", flat=True))


def _send(producer, signals, *, rate=None):
    """Produce; returns {id: produce time}. With `rate` (signals/s) paced, else one burst."""
    from signalflow.kafka import signal_produce

    sent = {}
    started = time.time()
    for index, signal in enumerate(signals):
        if rate:
            delay = started + index / rate - time.time()
            if delay > 0:
                time.sleep(delay)
        sent[signal.id] = time.time()
        signal_produce(producer, signal)
        if rate:
            producer.flush()
    producer.flush()
    return sent


def _await(sent, timeout):
    """Poll until every id is visible; returns {id: seen time}."""
    seen = {}
    pending = set(sent)
    deadline = time.time() + timeout
    while pending and time.time() < deadline:
        now = time.time()
        for signal_id in _visible(pending):
            seen[signal_id] = now
        pending -= set(seen)
        time.sleep(0.05)
    if pending:
        raise RuntimeError(f"{len(pending)} of {len(sent)} signals not stored within {timeout:.0f} s")
    return seen


def _path(kind, texts, env, log_dir, run):
    from signalflow.kafka import producer_create
    from signalflow.queues import Queue
    from tests.support.processes import bridge_process, processes_cleanup, worker_process

    queue = Queue.GPU if kind == "comments" else Queue.CPU
    worker = worker_process(log_dir, env, queues=[queue], name=f"{kind}-worker", pool="solo")
    bridge = bridge_process(log_dir, env, name=f"{kind}-bridge")
    producer = producer_create()
    with processes_cleanup(bridge, worker):
        worker.start()
        bridge.start()
        # Warm-up: models loaded, consumer group joined, before anything is timed.
        warm = _signals(run, kind, texts[: 2 * BATCH], start=1_000_000)
        _await(_send(producer, warm), timeout=900)

        burst = _signals(run, kind, texts, start=0)
        sent = _send(producer, burst)
        seen = _await(sent, timeout=1800)
        elapsed = max(seen.values()) - min(sent.values())
        from apps.nlp.models import Signal

        # Which model actually scored the burst: a check that the path measured is the path meant.
        models = Counter(Signal.objects.filter(id__in=list(sent)).values_list("sentiment_model", flat=True))
        rate = len(burst) / elapsed
        burst_latency = _percentiles(sorted(seen[i] - sent[i] for i in sent))

        paced_count = max(20, min(len(texts) // 4, int(rate * 20)))
        paced = _signals(run, kind, texts[:paced_count], start=2_000_000)
        paced_sent = _send(producer, paced, rate=rate / 2)
        paced_seen = _await(paced_sent, timeout=900)
        paced_latency = _percentiles(sorted(paced_seen[i] - paced_sent[i] for i in paced_sent))
        bridge.stop()
        worker.stop()
    producer.close()
    return {
        "signals": len(burst),
        "signals_per_s": round(rate, 1),
        "stored_by_model": dict(models),
        "burst_latency": burst_latency,
        "paced_rate_signals_per_s": round(rate / 2, 1),
        "paced_signals": paced_count,
        "paced_latency": paced_latency,
    }


def _chunked(stage, texts):
    """The model stage's rate on batches of the pipeline's batch size: what one worker task can reach."""
    elapsed = 0.0
    for start in range(0, len(texts), BATCH):
        chunk = texts[start : start + BATCH]
        elapsed += len(chunk) / stage(chunk)
    return len(texts) / elapsed


def _cleanup(run):
    from apps.nlp.models import Signal

    Signal.objects.filter(id__startswith=f"reddit:bench{run}-").delete()


def run(quick: bool) -> dict:
    from signalflow.kafka import topics_ensure
    from tests.support.processes import pipeline_env

    run_id = uuid.uuid4().hex[:6]
    settings.KAFKA_TOPIC_PREFIX = f"bench-{run_id}-"
    settings.SIGNALFLOW_QUEUE_PREFIX = f"bench-{run_id}-"
    topics_ensure()
    post_count = 300 if quick else 2_000
    comment_count = 64 if quick else 384
    posts = corpus_texts(post_count)
    comments = corpus_texts(comment_count)
    model_dir = full_model_dir()
    log_dir = Path(tempfile.mkdtemp(prefix="sf-bench-nlp-"))
    env = pipeline_env(
        DJANGO_SETTINGS_MODULE="signalflow.settings.local",
        KAFKA_TOPIC_PREFIX=settings.KAFKA_TOPIC_PREFIX,
        SIGNALFLOW_QUEUE_PREFIX=settings.SIGNALFLOW_QUEUE_PREFIX,
        SIGNALFLOW_SENTIMENT_MODEL=str(model_dir),
        SIGNALFLOW_NLP_KEY_PREFIX=f"bench-{run_id}:",
        SIGNALFLOW_BRIDGE_BATCH_SIZE=str(BATCH),
        SIGNALFLOW_BRIDGE_BATCH_SECONDS=os.environ.get("SIGNALFLOW_BRIDGE_BATCH_SECONDS", "0.5"),
        SIGNALFLOW_BRIDGE_BATCH_TIMEOUT_SECONDS="600",
        SIGNALFLOW_TORCH_THREADS=os.environ.get("SIGNALFLOW_TORCH_THREADS", "0"),
    )
    result = {
        "machine": {"cpus": len(os.sched_getaffinity(0)), "load_avg_1m_at_start": round(os.getloadavg()[0], 2)},
        "log_dir": str(log_dir),
    }
    try:
        for kind, texts, stage in (
            ("posts", posts, vader_ner_throughput),
            ("comments", comments, lambda chunk: roberta_throughput(chunk, model_dir)),
        ):
            one_call = stage(texts)  # every text in one call (also warms every model and language)
            ceiling = _chunked(stage, texts)
            pipeline = _path(kind, texts, env, log_dir, run_id)
            result[kind] = {
                "model_stage_one_call_signals_per_s": round(one_call, 1),
                "model_stage_ceiling_signals_per_s": round(ceiling, 1),
                **pipeline,
                "ratio_to_ceiling": round(pipeline["signals_per_s"] / ceiling, 2),
            }
    finally:
        _cleanup(run_id)
    result["machine"]["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    return result
