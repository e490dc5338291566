"""Ingest benchmark: normalise + produce throughput per platform on one core, next to kafka-python's raw
produce rate for the same message bytes (the ceiling our pipeline can approach), as a ratio.

Messages go to a benchmark topic of their own (`bench.ingest`), never to signals.normalised.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from apps.ingest.normalisers import normalise_payload
from signalflow.kafka import TopicSpec, producer_create, topic_name, topics_ensure

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
TOPIC = "bench.ingest"


def _payloads() -> dict[str, list[tuple[str, bytes]]]:
    by_platform: dict[str, list[tuple[str, bytes]]] = {}
    for path in sorted(FIXTURES.rglob("*")):
        if path.suffix not in {".json", ".jsonl", ".cbor"} or path.name == "INDEX.json":
            continue
        platform = path.relative_to(FIXTURES).parts[0]
        by_platform.setdefault(platform, []).append((path.name, path.read_bytes()))
    return by_platform


def _pin_one_core() -> int | None:
    if not hasattr(os, "sched_setaffinity"):
        return None
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})  # the producer's sender thread shares this core too
    return core


def _normalise_all(platform: str, files: list[tuple[str, bytes]]) -> int:
    return sum(len(normalise_payload(platform, payload, filename=name)) for name, payload in files)


def _pipeline(producer: Any, platform: str, files: list[tuple[str, bytes]], reps: int) -> tuple[int, float, int]:
    """Normalise every file and produce every signal, `reps` times; returns (signals, seconds, bytes)."""
    topic = topic_name(TOPIC)
    produced = size = 0
    started = time.perf_counter()
    for _ in range(reps):
        for name, payload in files:
            for signal in normalise_payload(platform, payload, filename=name):
                value = signal.to_bytes()
                producer.send(topic, key=signal.id.encode(), value=value)
                produced += 1
                size += len(value)
    producer.flush()
    return produced, time.perf_counter() - started, size


def _raw(producer: Any, messages: list[tuple[bytes, bytes]], reps: int) -> tuple[int, float]:
    topic = topic_name(TOPIC)
    started = time.perf_counter()
    for _ in range(reps):
        for key, value in messages:
            producer.send(topic, key=key, value=value)
    producer.flush()
    return len(messages) * reps, time.perf_counter() - started


def run(quick: bool) -> dict:
    core = _pin_one_core()
    topics_ensure([TopicSpec(TOPIC, 1, "ingest benchmark", has_dlq=False)])
    producer = producer_create()
    payloads = _payloads()
    target = 2_000 if quick else 20_000  # signals per platform per measurement
    results: dict[str, Any] = {"core": core, "target_signals_per_platform": target, "platforms": {}}
    try:
        producer.send(topic_name(TOPIC), b"warm-up").get(timeout=30)  # metadata + connection outside the clock
        for platform, files in payloads.items():
            per_pass = _normalise_all(platform, files)
            reps = max(1, target // max(1, per_pass))
            started = time.perf_counter()
            for _ in range(reps):
                _normalise_all(platform, files)
            normalise_seconds = time.perf_counter() - started
            produced, seconds, size = _pipeline(producer, platform, files, reps)
            messages = [
                (s.id.encode(), s.to_bytes())
                for name, payload in files
                for s in normalise_payload(platform, payload, filename=name)
            ]
            raw_count, raw_seconds = _raw(producer, messages, reps)
            pipeline_rate = produced / seconds
            raw_rate = raw_count / raw_seconds
            results["platforms"][platform] = {
                "signals": produced,
                "avg_message_bytes": round(size / max(1, produced)),
                "normalise_only_signals_per_s": round(per_pass * reps / normalise_seconds),
                "normalise_produce_signals_per_s": round(pipeline_rate),
                "raw_produce_msgs_per_s": round(raw_rate),
                "ratio_vs_raw_produce": round(pipeline_rate / raw_rate, 3),
            }
    finally:
        producer.close(timeout=10)
    return results
