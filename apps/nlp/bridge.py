"""The Kafka → Celery bridge: consume, micro-batch, dispatch, wait until stored, then commit.

One consumer per `python manage.py run_bridge`, registered declaratively in `consumer_registry()`
(topics and their parsers, batch size/bytes/time, in-flight bound, dispatch timeout, DLQ limits).

Guarantees (DESIGN.md "Guarantees"), and how:
- at least once: a message's offset is committed only after the batch holding it is stored (its task's
  result is SUCCESS) or after it is durably in the DLQ (send acknowledged and row committed). Offsets are
  committed per partition in offset order: the commit point is the lowest offset not yet done, so a
  later batch can never commit past an earlier one still in flight.
- exactly once in the database: workers upsert on the signal id (apps/nlp/services.py), so what a
  SIGKILL makes us process twice is stored once.
- a batch whose worker died is dispatched again after its timeout (doubling on each retry); the old
  message carries `expires`, so a copy still queued is discarded rather than run twice.
- per-key order: a message whose key sits in another lane's open batch closes that batch first, and a
  batch is not dispatched while an earlier batch holding one of its keys is in flight or waiting.
- backpressure: past `max_in_flight` dispatched batches, closed batches wait and the partitions are paused.
- bad messages go to `<topic>.dlq` with the error; more than `dlq_max_consecutive` in a row stop the
  bridge (circuit breaker) with the offending message left uncommitted.
- rebalances: on revoke, what is done is committed and the revoked partitions are forgotten (nothing
  more is committed for them; batches still running finish harmlessly, the new owner redoes them).
"""

from __future__ import annotations

import logging
import signal as os_signal
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from django.conf import settings
from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from apps.nlp import metrics, services
from signalflow.kafka import (
    REDDIT_POSTS_REFRESH,
    SIGNALS_NORMALISED,
    consumer_create,
    logical_topic_name,
    producer_create,
    topic_name,
)
from signalflow.queues import Queue, queue_name
from signalflow.signal import SignalValidationError, refresh_from_bytes, signal_from_bytes

logger = logging.getLogger(__name__)

# The Celery broker or result backend briefly away: the bridge waits and retries instead of crashing.
BROKER_ERRORS = (KombuOperationalError, RedisError, ConnectionError, TimeoutError)


class Lane(StrEnum):
    COMMENTS = "comments"
    POSTS = "posts"
    REFRESHES = "refreshes"


@dataclass(frozen=True)
class LaneSpec:
    task_name: str
    queue: Queue


# Comments go to the transformer on the gpu queue; posts (VADER + NER) and refreshes to the cpu queue.
LANES: dict[Lane, LaneSpec] = {
    Lane.COMMENTS: LaneSpec("nlp.process_batch", Queue.GPU),
    Lane.POSTS: LaneSpec("nlp.process_batch", Queue.CPU),
    Lane.REFRESHES: LaneSpec("nlp.apply_refreshes", Queue.CPU),
}


@dataclass(frozen=True)
class Work:
    """A parsed message: its ordering key, its lane and the JSON item the task receives."""

    key: str
    lane: Lane
    item: dict[str, Any]


def _observed_at(record: ConsumerRecord) -> str:
    # The producer's timestamp is when the counts were observed; it is stable across redeliveries.
    millis = record.timestamp if record.timestamp and record.timestamp > 0 else int(time.time() * 1000)
    return datetime.fromtimestamp(millis / 1000, UTC).isoformat().replace("+00:00", "Z")


def signal_message_parse(record: ConsumerRecord) -> Work:
    """signals.normalised → comments or posts lane; raises SignalValidationError."""
    signal = signal_from_bytes(record.value or b"")
    lane = Lane.COMMENTS if signal.is_comment else Lane.POSTS
    return Work(key=signal.id, lane=lane, item={"signal": signal.to_dict(), "observed_at": _observed_at(record)})


def refresh_message_parse(record: ConsumerRecord) -> Work:
    """reddit.posts.refresh → refreshes lane; raises SignalValidationError."""
    if len(record.value or b"") > 4096:
        raise SignalValidationError(f"refresh is {len(record.value)} bytes, over the 4096-byte limit")
    refresh = refresh_from_bytes(record.value or b"")
    return Work(key=refresh.id, lane=Lane.REFRESHES, item=refresh.model_dump(mode="json"))


@dataclass(frozen=True)
class TopicRoute:
    topic: str  # logical name; its dead letters go to <topic>.dlq
    parse: Callable[[ConsumerRecord], Work]


@dataclass(frozen=True)
class ConsumerSpec:
    name: str
    group: str
    routes: tuple[TopicRoute, ...]
    batch_size: int
    batch_max_bytes: int
    batch_seconds: float
    max_in_flight: int
    batch_timeout_s: float
    max_attempts: int
    dlq_max_consecutive: int
    commit_interval_s: float
    lag_interval_s: float

    def route(self, logical_topic: str) -> TopicRoute:
        for route in self.routes:
            if route.topic == logical_topic:
                return route
        raise KeyError(logical_topic)


def consumer_registry() -> dict[str, ConsumerSpec]:
    """Every consumer `run_bridge` can start, by name; knobs come from settings (docs/processing.md)."""
    return {
        "nlp-bridge": ConsumerSpec(
            name="nlp-bridge",
            group="nlp-bridge",
            routes=(
                TopicRoute(SIGNALS_NORMALISED, signal_message_parse),
                TopicRoute(REDDIT_POSTS_REFRESH, refresh_message_parse),
            ),
            batch_size=max(1, settings.SIGNALFLOW_BRIDGE_BATCH_SIZE),
            batch_max_bytes=max(1, settings.SIGNALFLOW_BRIDGE_BATCH_MAX_BYTES),
            batch_seconds=max(0.0, settings.SIGNALFLOW_BRIDGE_BATCH_SECONDS),
            max_in_flight=max(1, settings.SIGNALFLOW_BRIDGE_MAX_IN_FLIGHT),
            batch_timeout_s=max(1.0, settings.SIGNALFLOW_BRIDGE_BATCH_TIMEOUT_SECONDS),
            max_attempts=max(1, settings.SIGNALFLOW_BRIDGE_MAX_ATTEMPTS),
            dlq_max_consecutive=max(0, settings.SIGNALFLOW_BRIDGE_DLQ_MAX_CONSECUTIVE),
            commit_interval_s=max(0.0, settings.SIGNALFLOW_BRIDGE_COMMIT_INTERVAL_SECONDS),
            lag_interval_s=max(1.0, settings.SIGNALFLOW_BRIDGE_LAG_INTERVAL_SECONDS),
        )
    }


class CircuitBreakerOpen(RuntimeError):
    """Too many bad messages in a row: the bridge stops rather than drain the topic into the DLQ."""


class PartitionOffsets:
    """Offsets of one assigned partition received and not yet done, in order; the commit point is the first."""

    def __init__(self) -> None:
        self.outstanding: deque[int] = deque()
        self.done: set[int] = set()
        self.high: int | None = None
        self.committed: int | None = None
        self.first: int | None = None  # where reading started: the group's committed offset then

    def add(self, offset: int) -> None:
        if self.first is None:
            self.first = offset
        self.outstanding.append(offset)
        self.high = offset

    def resume_point(self) -> int | None:
        """Where to read this partition again from: what we committed, else where we started."""
        return self.committed if self.committed is not None else self.first

    def complete(self, offset: int) -> None:
        self.done.add(offset)
        while self.outstanding and self.outstanding[0] in self.done:
            self.done.discard(self.outstanding.popleft())

    def commit_point(self) -> int | None:
        """The offset to commit: every message before it is done (None before the first message)."""
        if self.outstanding:
            return self.outstanding[0]
        return None if self.high is None else self.high + 1


@dataclass
class _Record:
    tp: TopicPartition
    offset: int
    tracker: PartitionOffsets
    key: bytes | None
    value: bytes | None


@dataclass
class _Entry:
    work: Work
    records: list[_Record]


@dataclass
class Batch:
    lane: Lane
    opened_at: float
    entries: dict[str, _Entry] = field(default_factory=dict)  # by key: the latest message wins
    size_bytes: int = 0
    task_id: str | None = None
    dispatched_at: float = 0.0
    deadline: float = 0.0
    failures: int = 0
    timeouts: int = 0

    def add(self, work: Work, record: _Record) -> None:
        entry = self.entries.get(work.key)
        if entry is None:
            self.entries[work.key] = _Entry(work, [record])
        else:  # same key again: keep the newest content, and all offsets it covers
            entry.work = work
            entry.records.append(record)
        self.size_bytes += len(record.value or b"")

    def records(self) -> Iterable[_Record]:
        for entry in self.entries.values():
            yield from entry.records


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.bridge.partitions_revoked(revoked)

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        logger.info("assigned %s", sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned))
        self.bridge.partitions_assigned(assigned)


class Bridge:
    """One consumer-group member. `run()` loops until stop() (SIGTERM/SIGINT) or the circuit breaker opens."""

    def __init__(self, spec: ConsumerSpec, *, consumer: KafkaConsumer | None = None, producer: Any = None) -> None:
        from celery_app import app

        self.spec = spec
        self.app = app
        self.consumer = consumer or consumer_create(group=spec.group, max_poll_records=max(50, spec.batch_size * 2))
        self.producer = producer or producer_create()
        self.trackers: dict[TopicPartition, PartitionOffsets] = {}
        # Revoked partitions' resume points (what we committed, else where we started), for partitions_assigned.
        self._resume_at: dict[TopicPartition, int | None] = {}
        self.buffers: dict[Lane, Batch] = {}
        self.key_lane: dict[str, Lane] = {}
        self.ready: deque[Batch] = deque()
        self.in_flight: dict[str, Batch] = {}
        self.in_flight_keys: Counter[str] = Counter()
        self.consecutive_bad = 0
        self.stopping = False
        self.paused = False
        self._last_commit = 0.0
        self._last_lag = 0.0
        self._lag_labels: set[tuple[str, str]] = set()

    # -- lifecycle ---------------------------------------------------------------------------------
    def stop(self, *_: Any) -> None:
        self.stopping = True

    def signals_install(self) -> None:
        os_signal.signal(os_signal.SIGTERM, self.stop)
        os_signal.signal(os_signal.SIGINT, self.stop)

    def run(self) -> None:
        topics = [topic_name(route.topic) for route in self.spec.routes]
        self.consumer.subscribe(topics=topics, listener=_Rebalance(self))
        logger.info("bridge %s consuming %s as group %s", self.spec.name, topics, self.spec.group)
        try:
            while not self.stopping:
                self.step()
        except CircuitBreakerOpen:
            metrics.CIRCUIT_BREAKER_TRIPS.inc()
            self.drain()
            raise
        self.drain()

    def close(self) -> None:
        try:
            self.consumer.close(autocommit=False)
        finally:
            self.producer.close(timeout=10)

    def step(self) -> None:
        """One turn of the loop: poll, batch, dispatch, collect results, commit, export lag."""
        self._backpressure()
        busy = bool(self.buffers or self.ready or self.in_flight)
        polled = self.consumer.poll(timeout_ms=50 if busy else 500)
        for tp, records in polled.items():
            route = self.spec.route(logical_topic_name(tp.topic))
            for record in records:
                self._accept(tp, record, route)
        now = time.monotonic()
        self._close_due(now)
        self._dispatch_ready(now)
        self._collect(now)
        self._commit(now)
        if now - self._last_lag >= self.spec.lag_interval_s:
            self._lag_export()
            self._last_lag = now

    def drain(self) -> None:
        """Stop taking work; wait (up to one batch timeout) for what is in flight, then commit what is done."""
        deadline = time.monotonic() + self.spec.batch_timeout_s
        while self.in_flight and time.monotonic() < deadline:
            self._collect(time.monotonic(), redispatch=False)
            time.sleep(0.05)
        self._commit(time.monotonic(), force=True)

    # -- intake ------------------------------------------------------------------------------------
    def _tracker(self, tp: TopicPartition) -> PartitionOffsets:
        tracker = self.trackers.get(tp)
        if tracker is None:
            tracker = self.trackers[tp] = PartitionOffsets()
        return tracker

    def _accept(self, tp: TopicPartition, record: ConsumerRecord, route: TopicRoute) -> None:
        tracker = self._tracker(tp)
        metrics.MESSAGES_CONSUMED.labels(route.topic).inc()
        try:
            work = route.parse(record)
        except SignalValidationError as exc:
            self._bad(route.topic, str(exc))  # raises when the breaker opens, before the offset is tracked
            tracker.add(record.offset)
            services.dead_letter_store(
                producer=self.producer,
                topic=route.topic,
                partition=tp.partition,
                offset=record.offset,
                key=record.key,
                payload=record.value,
                error=str(exc),
                error_type=type(exc).__name__,
            )
            tracker.complete(record.offset)
            return
        tracker.add(record.offset)
        self.consecutive_bad = 0
        other = self.key_lane.get(work.key)
        if other is not None and other != work.lane:
            self._close(other)  # keep this key's order across lanes
        batch = self.buffers.get(work.lane)
        if batch is None:
            batch = self.buffers[work.lane] = Batch(lane=work.lane, opened_at=time.monotonic())
        batch.add(work, _Record(tp, record.offset, tracker, record.key, record.value))
        self.key_lane[work.key] = work.lane
        if len(batch.entries) >= self.spec.batch_size or batch.size_bytes >= self.spec.batch_max_bytes:
            self._close(work.lane)

    def _bad(self, topic: str, error: str) -> None:
        self.consecutive_bad += 1
        if self.consecutive_bad > self.spec.dlq_max_consecutive:
            logger.error(
                "circuit breaker open: %d bad messages in a row on %s (last: %s)", self.consecutive_bad, topic, error
            )
            limit = self.spec.dlq_max_consecutive
            raise CircuitBreakerOpen(
                f"{self.consecutive_bad} bad messages in a row (limit {limit}); last on {topic}: {error}"
            )

    def _close(self, lane: Lane) -> None:
        batch = self.buffers.pop(lane, None)
        if batch is None:
            return
        for key in batch.entries:
            if self.key_lane.get(key) == lane:
                del self.key_lane[key]
        self.ready.append(batch)

    def _close_due(self, now: float) -> None:
        for lane, batch in list(self.buffers.items()):
            if now - batch.opened_at >= self.spec.batch_seconds:
                self._close(lane)

    # -- dispatch and results ----------------------------------------------------------------------
    def _timeout_for(self, batch: Batch) -> float:
        return self.spec.batch_timeout_s * (2 ** min(batch.timeouts, 4))

    def _dispatch_ready(self, now: float) -> None:
        blocked: set[str] = set()
        for batch in list(self.ready):
            if len(self.in_flight) >= self.spec.max_in_flight:
                break
            keys = batch.entries.keys()
            if any(key in blocked or self.in_flight_keys[key] for key in keys):
                blocked.update(keys)  # later batches with these keys wait behind this one
                continue
            try:
                self._dispatch(batch, now)
            except BROKER_ERRORS as exc:  # the batch stays first in line; the next turn tries again
                logger.warning("could not dispatch a batch (Celery broker unreachable?): %s", exc)
                return
            self.ready.remove(batch)

    def _dispatch(self, batch: Batch, now: float) -> None:
        lane = LANES[batch.lane]
        timeout = self._timeout_for(batch)
        task_id = str(uuid.uuid4())
        self.app.send_task(
            lane.task_name,
            args=[[entry.work.item for entry in batch.entries.values()]],
            queue=queue_name(lane.queue),
            task_id=task_id,
            expires=timeout,  # a copy still queued when we give up on it is discarded, not run twice
        )
        batch.task_id, batch.dispatched_at, batch.deadline = task_id, now, now + timeout
        self.in_flight[task_id] = batch
        self.in_flight_keys.update(batch.entries.keys())
        metrics.BATCH_SIZE.labels(batch.lane.value).observe(len(batch.entries))
        metrics.BATCHES_IN_FLIGHT.set(len(self.in_flight))

    def _landed(self, task_id: str) -> Batch:
        batch = self.in_flight.pop(task_id)
        self.in_flight_keys.subtract(batch.entries.keys())
        for key in batch.entries:
            if self.in_flight_keys[key] <= 0:
                del self.in_flight_keys[key]
        metrics.BATCHES_IN_FLIGHT.set(len(self.in_flight))
        return batch

    def _collect(self, now: float, *, redispatch: bool = True) -> None:
        from celery.result import AsyncResult

        for task_id, batch in list(self.in_flight.items()):
            result = AsyncResult(task_id, app=self.app)
            try:
                state = result.state
            except BROKER_ERRORS as exc:  # the result backend is away: ask again next turn
                logger.warning("could not read batch results: %s", exc)
                return
            if state == "SUCCESS":
                self._landed(task_id)
                self._done(batch)
                metrics.BATCH_FLUSH_SECONDS.labels(batch.lane.value).observe(now - batch.dispatched_at)
                result.forget()
            elif not redispatch:
                continue
            elif state == "FAILURE":
                self._landed(task_id)
                self._failed(batch, result.result)
                result.forget()
            elif state == "REVOKED" or now >= batch.deadline:
                self._landed(task_id)
                batch.timeouts += 1
                metrics.BATCHES_REDISPATCHED.labels("revoked" if state == "REVOKED" else "timeout").inc()
                logger.warning(
                    "batch %s (%d %s) not stored after %.0f s (state %s): dispatching again",
                    task_id,
                    len(batch.entries),
                    batch.lane.value,
                    now - batch.dispatched_at,
                    state,
                )
                self.ready.appendleft(batch)

    def _done(self, batch: Batch) -> None:
        for record in batch.records():
            # A partition revoked (and perhaps re-assigned) since has a new tracker: leave it alone.
            if self.trackers.get(record.tp) is record.tracker:
                record.tracker.complete(record.offset)

    def _failed(self, batch: Batch, error: Any) -> None:
        batch.failures += 1
        logger.warning(
            "batch of %d %s failed (%d/%d): %r",
            len(batch.entries),
            batch.lane.value,
            batch.failures,
            self.spec.max_attempts,
            error,
        )
        if batch.failures < self.spec.max_attempts:
            metrics.BATCHES_REDISPATCHED.labels("failure").inc()
            self.ready.appendleft(batch)
            return
        if len(batch.entries) > 1:  # find the message that fails: retry each on its own
            singles = []
            for key, entry in batch.entries.items():
                single = Batch(lane=batch.lane, opened_at=batch.opened_at)
                single.entries[key] = entry
                single.size_bytes = sum(len(r.value or b"") for r in entry.records)
                singles.append(single)
            self.ready.extendleft(reversed(singles))
            return
        for record in batch.records():
            self._bad(record.tp.topic, repr(error))
            services.dead_letter_store(
                producer=self.producer,
                topic=logical_topic_name(record.tp.topic),
                partition=record.tp.partition,
                offset=record.offset,
                key=record.key,
                payload=record.value,
                error=f"processing failed {self.spec.max_attempts} times: {error!r}"[:10_000],
                error_type=type(error).__name__ if isinstance(error, BaseException) else "TaskFailure",
                reason="processing",
            )
        self._done(batch)

    # -- commits, backpressure, rebalances, lag ----------------------------------------------------
    def _commit(self, now: float, *, force: bool = False, only: Iterable[TopicPartition] | None = None) -> None:
        if not force and now - self._last_commit < self.spec.commit_interval_s:
            return
        self._last_commit = now
        offsets = {}
        for tp in only if only is not None else list(self.trackers):
            tracker = self.trackers.get(tp)
            point = tracker.commit_point() if tracker else None
            if point is not None and point != tracker.committed:
                offsets[tp] = OffsetAndMetadata(point, "", -1)
        if not offsets:
            return
        try:
            self.consumer.commit(offsets=offsets)
        except (CommitFailedError, KafkaError) as exc:
            logger.warning("offset commit failed (a rebalance?); will retry: %s", exc)
            return
        metrics.OFFSETS_COMMITTED.inc()
        for tp, meta in offsets.items():
            self.trackers[tp].committed = meta.offset

    def _backpressure(self) -> None:
        full = len(self.ready) >= self.spec.max_in_flight
        assignment = self.consumer.assignment()
        if full and assignment:
            self.consumer.pause(*assignment)  # reapplied each turn: a rebalance resets paused partitions
            if not self.paused:
                logger.info("backpressure: %d batches waiting, pausing consumption", len(self.ready))
            self.paused = True
        elif self.paused:
            self.consumer.resume(*self.consumer.paused())
            self.paused = False

    def partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        revoked = set(revoked)
        logger.info("revoked %s", sorted(f"{tp.topic}[{tp.partition}]" for tp in revoked))
        self._commit(time.monotonic(), force=True, only=[tp for tp in revoked if tp in self.trackers])
        for tp in revoked:
            tracker = self.trackers.pop(tp, None)
            if tracker is not None:
                self._resume_at[tp] = tracker.resume_point()
            label = (logical_topic_name(tp.topic), str(tp.partition))
            if label in self._lag_labels:
                metrics.CONSUMER_LAG.remove(*label)
                self._lag_labels.discard(label)
        # Work not yet dispatched from revoked partitions is the new owner's now.
        for batch in [*self.buffers.values(), *self.ready]:
            for key, entry in list(batch.entries.items()):
                entry.records = [record for record in entry.records if record.tp not in revoked]
                if not entry.records:
                    del batch.entries[key]
                    if self.key_lane.get(key) == batch.lane and batch in self.buffers.values():
                        del self.key_lane[key]
        for lane, batch in list(self.buffers.items()):
            if not batch.entries:
                del self.buffers[lane]
        self.ready = deque(batch for batch in self.ready if batch.entries)

    def partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Start a partition that was ours before this rebalance at the offset we last committed.

        kafka-python 3 keeps the fetch position of a partition that stays assigned across a
        rebalance, but on revoke this bridge forgot that partition's uncommitted work: without the
        seek, messages between the committed offset and the retained position would never be read
        again, and a later commit would skip them. Reading them twice is harmless (idempotent
        upsert). Partitions new to this member start at the group's committed offset anyway. The
        offset comes from our own bookkeeping because the listener runs on kafka-python's IO
        thread, where a blocking call such as committed() is refused.
        """
        for tp in assigned:
            if tp not in self._resume_at:
                continue
            offset = self._resume_at[tp]
            if offset is None:
                self.consumer.seek_to_beginning(tp)
            else:
                self.consumer.seek(tp, offset)
        self._resume_at.clear()

    def _lag_export(self) -> None:
        assignment = list(self.consumer.assignment())
        if not assignment:
            return
        try:
            ends = self.consumer.end_offsets(assignment)
        except KafkaError as exc:
            logger.debug("end offsets unavailable: %s", exc)
            return
        for tp, end in ends.items():
            tracker = self.trackers.get(tp)
            point = tracker.commit_point() if tracker else None
            if point is None:
                try:
                    point = self.consumer.position(tp, timeout_ms=1000)
                except KafkaError:
                    continue
            if point is None or end is None:
                continue
            label = (logical_topic_name(tp.topic), str(tp.partition))
            metrics.CONSUMER_LAG.labels(*label).set(max(0, end - point))
            self._lag_labels.add(label)
