"""Load a worker's models when it starts, not inside its first batch.

Cold loading (RoBERTa, spaCy, the language detector) takes seconds to tens of seconds; inside the
first task it delays the first batch past the bridge's redispatch timeout and the demo's first
minute. The load runs in a background thread because Celery kills a pool child whose
worker_process_init handler blocks for more than 4 s; the loaders hold locks, so a task that
arrives meanwhile waits for the same load instead of starting a second one.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery import Celery, signals

from signalflow.queues import Queue, queue_name

logger = logging.getLogger(__name__)

_state: dict[str, Any] = {"queues": set(), "pool": ""}


def models_warm(*, queues: set[str]) -> None:
    """Load what the consumed queues need: gpu → transformer, language, spaCy; cpu → language, spaCy."""
    gpu, cpu = queue_name(Queue.GPU) in queues, queue_name(Queue.CPU) in queues
    if not (gpu or cpu):
        return
    from apps.nlp.language import language_detector_ready
    from apps.nlp.sentiment import sentiment_transformer_ready
    from apps.nlp.topics import topics_pipeline_ready

    started = time.monotonic()
    try:
        language_detector_ready()
        topics_pipeline_ready()
        transformer = sentiment_transformer_ready() if gpu else None
    except Exception:  # a warm-up failure must not kill the worker; the first task retries the load
        logger.exception("model warm-up failed; models will load on the first batch")
        return
    logger.info(
        "models warm in %.1f s (transformer: %s)",
        time.monotonic() - started,
        "n/a" if transformer is None else ("loaded" if transformer else "unavailable, VADER fallback"),
    )


def _warm_in_background() -> None:
    queues = set(_state["queues"])
    threading.Thread(target=models_warm, kwargs={"queues": queues}, name="model-warmup", daemon=True).start()


def _on_worker_init(sender: Any = None, **_: Any) -> None:
    _state["queues"] = set(sender.app.amqp.queues.consume_from or {})
    pool = sender.pool_cls
    _state["pool"] = pool if isinstance(pool, str) else getattr(pool, "__module__", "")


def _on_worker_ready(**_: Any) -> None:
    # solo and threads pools run tasks in this process; prefork children warm themselves.
    if "solo" in _state["pool"] or "thread" in _state["pool"]:
        _warm_in_background()


def _on_worker_process_init(**_: Any) -> None:
    _warm_in_background()


def warmup_connect(app: Celery) -> None:
    """Connect the warm-up to the worker's start signals (celery_app.py calls this once)."""
    signals.worker_init.connect(_on_worker_init, weak=False, dispatch_uid="signalflow.warmup.init")
    signals.worker_ready.connect(_on_worker_ready, weak=False, dispatch_uid="signalflow.warmup.ready")
    signals.worker_process_init.connect(_on_worker_process_init, weak=False, dispatch_uid="signalflow.warmup.child")
