"""Velocity and trending scores, kept in Redis (settings.REDIS_NLP_URL, DB 3) so every worker replica shares them.

Every update is one Lua script per batch: Redis runs it atomically, so two workers updating the same
signal or topic never interleave a read with a write, and a redelivered batch changes nothing (an
observation no newer than the stored one is ignored; a mention is a sorted-set member keyed by the
signal id). Units and definitions are in docs/processing.md ("Scores").

- signal velocity (engagement points per hour, engagement = raw_score + comment_count): the first
  observation divides by the signal's age (at least SIGNALFLOW_VELOCITY_MIN_HOURS); each later one is
  the change since the previous observation over the hours between them.
- topic trending_score = velocity × spread × recency:
  velocity: distinct signals mentioning the topic, published within the window, per hour;
  spread: distinct platforms among them / number of platforms (0.25 … 1);
  recency: 2^(−age / half-life), age = now − the newest mention's published time.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import redis
from django.conf import settings

from signalflow.signal import Platform

PLATFORM_COUNT = len(Platform)

# KEYS: one hash per signal. ARGV: ttl_ms, min_ms, then (engagement, observed_ms, published_ms) per key.
# Returns each signal's velocity as a string (Lua numbers would be truncated to integers on the way out).
_VELOCITY_LUA = """
local ttl = tonumber(ARGV[1])
local min_ms = tonumber(ARGV[2])
local out = {}
for i, key in ipairs(KEYS) do
  local base = 2 + (i - 1) * 3
  local engagement = tonumber(ARGV[base + 1])
  local observed = tonumber(ARGV[base + 2])
  local published = tonumber(ARGV[base + 3])
  local prev = redis.call('HMGET', key, 'e', 't', 'v')
  local prev_t = tonumber(prev[2])
  local velocity
  if prev_t and observed <= prev_t then
    velocity = tonumber(prev[3]) or 0
  else
    if prev_t then
      velocity = (engagement - tonumber(prev[1])) * 3600000 / math.max(observed - prev_t, min_ms)
    else
      velocity = engagement * 3600000 / math.max(observed - published, min_ms)
    end
    redis.call('HSET', key, 'e', engagement, 't', observed, 'v', tostring(velocity))
  end
  redis.call('PEXPIRE', key, ttl)
  out[i] = tostring(velocity)
end
return out
"""

# KEYS: per topic, its mentions zset then its platforms zset. ARGV: now_ms, window_ms, ttl_ms, then per
# topic: n, followed by n (signal_id, platform, published_ms) triples. Returns per topic
# {mentions in window, platforms in window, newest mention ms}.
_TOPICS_LUA = """
local now = tonumber(ARGV[1])
local cut = now - tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local a = 4
local out = {}
for i = 1, #KEYS, 2 do
  local mentions, platforms = KEYS[i], KEYS[i + 1]
  local n = tonumber(ARGV[a]); a = a + 1
  for j = 1, n do
    local member, platform, ts = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2]); a = a + 3
    if ts > cut then
      redis.call('ZADD', mentions, ts, member)
      -- GT keeps a platform's newest mention and still adds a platform seen for the first time.
      redis.call('ZADD', platforms, 'GT', ts, platform)
    end
  end
  redis.call('ZREMRANGEBYSCORE', mentions, '-inf', cut)
  redis.call('ZREMRANGEBYSCORE', platforms, '-inf', cut)
  redis.call('PEXPIRE', mentions, ttl)
  redis.call('PEXPIRE', platforms, ttl)
  local newest = redis.call('ZRANGE', mentions, -1, -1, 'WITHSCORES')
  out[#out + 1] = {redis.call('ZCARD', mentions), redis.call('ZCARD', platforms), newest[2] or '0'}
end
return out
"""


@dataclass(frozen=True)
class VelocityObservation:
    signal_id: str
    engagement: int  # raw_score + comment_count
    observed_at: datetime
    published_at: datetime


@dataclass(frozen=True)
class TopicMention:
    signal_id: str
    platform: str
    published_at: datetime
    topics: Sequence[str]


@dataclass(frozen=True)
class TopicTrend:
    topic: str
    mentions: int  # distinct signals in the window
    platforms: int  # distinct platforms in the window
    newest_ms: int
    velocity: float  # mentions per hour
    spread: float  # platforms / PLATFORM_COUNT
    recency: float  # 2^(−age / half-life), in (0, 1]
    trending_score: float

    @property
    def is_trending(self) -> bool:
        return self.trending_score >= settings.SIGNALFLOW_TRENDING_THRESHOLD


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=30)


def nlp_redis() -> redis.Redis:
    """The shared NLP cache (DB 3); one connection pool per process and URL."""
    return _client(settings.REDIS_NLP_URL)


@functools.cache
def _scripts(url: str) -> tuple[redis.commands.core.Script, redis.commands.core.Script]:
    client = _client(url)
    return client.register_script(_VELOCITY_LUA), client.register_script(_TOPICS_LUA)


def _key(*parts: str) -> str:
    return settings.SIGNALFLOW_NLP_KEY_PREFIX + ":".join(parts)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def signal_velocity_update(*, observations: Sequence[VelocityObservation]) -> dict[str, float]:
    """Record each observation and return every signal's velocity (points per hour), atomically per batch."""
    if not observations:
        return {}
    keys = [_key("vel", obs.signal_id) for obs in observations]
    args: list[int | float] = [
        settings.SIGNALFLOW_NLP_KEY_TTL_SECONDS * 1000,
        max(1, int(settings.SIGNALFLOW_VELOCITY_MIN_HOURS * 3_600_000)),
    ]
    for obs in observations:
        args.extend((obs.engagement, _ms(obs.observed_at), _ms(obs.published_at)))
    velocity_script, _ = _scripts(settings.REDIS_NLP_URL)
    values = velocity_script(keys=keys, args=args)
    # A signal observed twice in one batch gets its last value.
    return {obs.signal_id: _finite(float(value)) for obs, value in zip(observations, values, strict=True)}


def topic_mentions_record(*, mentions: Iterable[TopicMention], now: float | None = None) -> dict[str, TopicTrend]:
    """Record who mentioned which topic (idempotent) and return each touched topic's trend, atomically."""
    now_ms = int((now if now is not None else time.time()) * 1000)
    by_topic: dict[str, list[tuple[str, str, int]]] = {}
    for mention in mentions:
        # A published time in the future (a skewed upstream clock) counts as now.
        published_ms = min(_ms(mention.published_at), now_ms)
        for topic in mention.topics:
            by_topic.setdefault(topic, []).append((mention.signal_id, mention.platform, published_ms))
    if not by_topic:
        return {}
    window_ms = settings.SIGNALFLOW_TRENDING_WINDOW_SECONDS * 1000
    keys: list[str] = []
    args: list[str | int] = [now_ms, window_ms, settings.SIGNALFLOW_NLP_KEY_TTL_SECONDS * 1000]
    for topic, entries in by_topic.items():
        keys.extend((_key("topic", topic, "m"), _key("topic", topic, "p")))
        args.append(len(entries))
        for entry in entries:
            args.extend(entry)
    _, topics_script = _scripts(settings.REDIS_NLP_URL)
    rows = topics_script(keys=keys, args=args)
    return {
        topic: topic_trend(
            topic=topic, mentions=int(row[0]), platforms=int(row[1]), newest_ms=int(row[2]), now_ms=now_ms
        )
        for topic, row in zip(by_topic, rows, strict=True)
    }


def topic_trend(*, topic: str, mentions: int, platforms: int, newest_ms: int, now_ms: int) -> TopicTrend:
    """trending_score = velocity × spread × recency, from a topic's window counts."""
    window_hours = settings.SIGNALFLOW_TRENDING_WINDOW_SECONDS / 3600
    velocity = mentions / window_hours
    spread = min(platforms, PLATFORM_COUNT) / PLATFORM_COUNT
    age_s = max(0.0, (now_ms - newest_ms) / 1000) if newest_ms else math.inf
    recency = 0.0 if math.isinf(age_s) else 2 ** (-age_s / settings.SIGNALFLOW_TRENDING_HALF_LIFE_SECONDS)
    return TopicTrend(
        topic=topic,
        mentions=mentions,
        platforms=platforms,
        newest_ms=newest_ms,
        velocity=velocity,
        spread=spread,
        recency=recency,
        trending_score=velocity * spread * recency,
    )


def signal_trending_score(*, topics: Sequence[str], trends: dict[str, TopicTrend]) -> float:
    """A signal is as trending as the most trending of its topics (0 without topics)."""
    return max((trends[topic].trending_score for topic in topics if topic in trends), default=0.0)


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0
